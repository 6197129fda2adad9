/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Transcript, checks and file sync shared by the two-host lab programs (tests/rdmalab). A program
 * defines LAB_NAME (its transcript prefix, e.g. "seg-rdma") and lab_on_die() (what it closes before a
 * fatal exit) and sets role, peer_role, sync_prefix and t_start in main. Sync points are files
 * PREFIX.<name>.<role> in the lab's shared directory; PREFIX.abort.<role> tells the peer we gave up.
 * lab_args() reads the --role/--sync command line with the program's own options from a table.
 */
#ifndef LAB_REPORT_H
#define LAB_REPORT_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osci_time.h"

#define LAB_UNUSED __attribute__((unused))

static const char *role = "?", *peer_role = "?", *sync_prefix;
static unsigned int n_pass, n_fail;
static uint64_t t_start;

static void lab_on_die(void);

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    printf("[%6.2f] " LAB_NAME " %s: ", (double)(osci_now_ms() - t_start) / 1000.0, role);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool check(bool ok, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    say("%s: %s", ok ? "PASS" : "FAIL", buf);
    if (ok)
        n_pass++;
    else
        n_fail++;
    return ok;
}

static void summary(void)
{
    say("%u passed, %u failed", n_pass, n_fail);
    printf(LAB_NAME " %s: %u passed, %u failed\n", role, n_pass, n_fail);
    fflush(stdout);
}

/* Publishes PREFIX.name.<role> with one formatted line, atomically (write, then rename). */
static void sig(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sig(const char *name, const char *fmt, ...)
{
    char path[512], tmp[530];
    va_list ap;
    FILE *f;

    snprintf(path, sizeof(path), "%s.%s.%s", sync_prefix, name, role);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f) {
        say("cannot create sync file %s: %s", tmp, strerror(errno));
        exit(2);
    }
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        say("cannot write sync file %s: %s", path, strerror(errno));
        exit(2);
    }
}

/* Fatal: tell the peer, close what the program holds, print the counts, exit 1. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    check(false, "%s (cannot go on)", buf);
    if (sync_prefix)
        sig("abort", "%s\n", buf);
    lab_on_die();
    summary();
    exit(1);
}

/* Whether the peer gave up (PREFIX.abort.<peer>). */
static LAB_UNUSED bool peer_aborted(void)
{
    char path[512];
    if (!sync_prefix)
        return false;
    snprintf(path, sizeof(path), "%s.abort.%s", sync_prefix, peer_role);
    return access(path, F_OK) == 0;
}

/* Waits for the peer's PREFIX.name.<peer>; its first line goes to out. Dies on timeout or abort. */
static LAB_UNUSED void wait_sig(const char *name, unsigned int timeout_ms, char *out, size_t outlen)
{
    char path[512];
    uint64_t deadline = osci_now_ms() + timeout_ms;
    FILE *f;

    snprintf(path, sizeof(path), "%s.%s.%s", sync_prefix, name, peer_role);
    while (!(f = fopen(path, "r"))) {
        if (peer_aborted())
            die("the %s gave up before '%s'", peer_role, name);
        if (osci_now_ms() >= deadline)
            die("no '%s' from the %s within %u ms", name, peer_role, timeout_ms);
        usleep(20000);
    }
    if (out && outlen) {
        if (!fgets(out, (int)outlen, f))
            out[0] = 0;
        out[strcspn(out, "\n")] = 0;
    }
    fclose(f);
}

/* ---------------------------------------------------------------- command line */

/* One option, --name VALUE: sets *str, or *num (a whole number in [1, max]), or calls fn(VALUE). */
struct lab_opt {
    const char *name;
    const char **str;
    unsigned int *num;
    unsigned long max;
    void (*fn)(const char *value);
};

static const char *lab_usage_text = "";

static void lab_usage(void) __attribute__((noreturn, unused));
static void lab_usage(void)
{
    fprintf(stderr, "%s\n", lab_usage_text);
    exit(2);
}

/* A whole number in [1, max], else the usage and exit 2. */
static LAB_UNUSED unsigned long lab_num(const char *s, unsigned long max)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno || !*s || *end || v == 0 || v > max)
        lab_usage();
    return v;
}

/* Starts the transcript clock and reads --role server|client, --sync PREFIX and the options of opts (ended
 * by an entry without a name); an unknown word or a missing value prints usage and exits 2. Sets
 * peer_role; true for the server. */
static LAB_UNUSED bool lab_args(int argc, char **argv, const struct lab_opt *opts, const char *usage)
{
    t_start = osci_now_ms();
    lab_usage_text = usage;
    for (int i = 1; i < argc; i += 2) {
        const char *v = argv[i + 1];
        const struct lab_opt *o = opts;
        if (i + 1 >= argc)
            lab_usage();
        if (!strcmp(argv[i], "--role")) {
            role = v;
            continue;
        }
        if (!strcmp(argv[i], "--sync")) {
            sync_prefix = v;
            continue;
        }
        while (o->name && strcmp(o->name, argv[i]))
            o++;
        if (!o->name)
            lab_usage();
        if (o->str)
            *o->str = v;
        else if (o->num)
            *o->num = (unsigned int)lab_num(v, o->max);
        else
            o->fn(v);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(role, "server")) {
        peer_role = "client";
        return true;
    }
    if (strcmp(role, "client"))
        lab_usage();
    peer_role = "server";
    return false;
}

#endif
