/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The conformance harness (tests/conformance/, docs/testing.md): each case is two sides, A and B, written
 * once and run on whatever driver adapter 0 of OSCI_CONF names.
 *   host (OSCI_CONFORM_ROLE unset): both sides are forked children of the test (node ids 1 and 2), joined
 *        by a socketpair; without OSCI_CONF a simntb opensci.conf is generated.
 *   lab  (OSCI_CONFORM_ROLE=a|b, OSCI_CONFORM_PEER=<address of the other host>, OSCI_CONFORM_PORT): the
 *        same binary runs on two hosts, each forking its own side only; the sides talk over TCP (A listens).
 * A side returns 0 (pass), CONFORM_SKIP (the driver cannot do what the case needs: both sides agree through
 * conform_need) or fails with CHECK. The cases run in the same order on both hosts; each starts by checking
 * that the other side runs the same case.
 * Exclusions: a case states the capabilities it needs; what no capability states goes into an exclude
 * file (OSCI_CONFORM_EXCLUDE: one case name a line, then its reason), kept per driver in tests/conformance/.
 */
#ifndef OSCI_CONFORM_H
#define OSCI_CONFORM_H

#include <stdint.h>

#include "osci_test.h"

#define CONFORM_SKIP 77

struct conform_side {
    int b;                  /* 0: side A, 1: side B */
    int fd;                 /* to the other side */
    uint32_t node;          /* host mode: the node id this side was given (OSCI_NODE_ID); lab mode: 0 */
    const char *name;       /* the case */
};

typedef int (*conform_fn)(struct conform_side *s, void *arg);

/* A case: its name ("<suite>_<what>", the name exclude files use), the functions of sides A and B and their
 * argument. local: a case that uses no driver (INTER_PROCESS): both sides on this host, in the lab too (each
 * host runs it). */
struct conform_case {
    const char *name;
    conform_fn a, b;
    void *arg;
    int local;
};

/* A suite's main (CONFORM_MAIN(suite, CONFORM_CASE(...), ...)): the configuration (a generated one when OSCI_CONF is unset), the role, A's listening
 * socket and the exclude list; then each case as the cmocka test "test_<what>", which skips when the case
 * is excluded or either side skips; then what was generated is removed. The exit status of the cmocka run,
 * or 1 when the set-up fails (printed). */
int conform_main(const char *suite, const struct conform_case *cases, unsigned int n);
#define CONFORM_CASE(name, a, b, arg) { (name), (a), (b), (arg), 0 }
#define CONFORM_CASE_LOCAL(name, a, b, arg) { (name), (a), (b), (arg), 1 }
#define CONFORM_MAIN(suite, ...) \
    int main(void) \
    { \
        static const struct conform_case cases[] = { __VA_ARGS__ }; \
        return conform_main((suite), cases, sizeof(cases) / sizeof(cases[0])); \
    }
/* The driver adapter 0 of OSCI_CONF names ("simntb", "rdma", ...). */
const char *conform_driver(void);

/* Side helpers (children; CHECK on failure). The timeout is OSCI_CONFORM_TIMEOUT_MS, 20 s by default. */
int conform_timeout_ms(void);
void conform_send(struct conform_side *s, uint32_t v);
uint32_t conform_recv(struct conform_side *s);
void conform_send_buf(struct conform_side *s, const void *buf, uint32_t len);
uint32_t conform_recv_buf(struct conform_side *s, void *buf, uint32_t max);
/* Both sides meet at step `tag` (the same on both). */
void conform_sync(struct conform_side *s, uint32_t tag);
/* Both sides state their capabilities; 1 when both have every bit of need (else the case skips:
 * return CONFORM_SKIP), printing what is missing. */
int conform_need(struct conform_side *s, uint32_t caps, uint32_t need, const char *what);

#endif
