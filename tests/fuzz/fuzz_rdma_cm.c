/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Fuzzes the rdma driver's CM private data: what a peer puts in its connect request and its accept
 * (rdma__cm_priv_unpack; the CM may pad it, and the driver keeps at most 256 bytes of it), then the
 * admission that a request's claimed node id goes through (rdma__peer_check against hosts.conf,
 * rdma__cm_admit against what this node holds), as cm_on_request() runs them.
 * Asserted: malformed private data is -EPROTO (nothing else); accepted data names a node id 1..255 with
 * a non-zero epoch and packs again to the same first RDMA_CM_PRIV_LEN bytes; admission accepts only a
 * listed node other than this one from its listed address, and the crossed-attempt rule refuses only
 * the higher node id's request.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "rdma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SELF 2
#define CM_PRIV_KEPT 256                 /* cm_drain() copies at most this much */

static struct rdma_host hosts[3];
static struct sockaddr_storage srcs[4];

/* An address in ss: IPv6 when the text has a colon, else IPv4. */
static void host_addr(struct sockaddr_storage *ss, const char *a)
{
    int v6 = strchr(a, ':') != NULL;
    void *addr = v6 ? (void *)&((struct sockaddr_in6 *)ss)->sin6_addr : (void *)&((struct sockaddr_in *)ss)->sin_addr;
    memset(ss, 0, sizeof(*ss));
    ss->ss_family = v6 ? AF_INET6 : AF_INET;
    if (inet_pton(ss->ss_family, a, addr) != 1)
        abort();
}

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    /* hosts.conf: 1 10.7.0.1, 2 10.7.0.2 (this node), 200 fd00::c8 */
    hosts[0].node_id = 1;
    host_addr(&hosts[0].sa, "10.7.0.1");
    hosts[1].node_id = SELF;
    host_addr(&hosts[1].sa, "10.7.0.2");
    hosts[2].node_id = 200;
    host_addr(&hosts[2].sa, "fd00::c8");
    /* request sources: node 1's address (also v4-mapped), node 200's, an unlisted one */
    host_addr(&srcs[0], "10.7.0.1");
    host_addr(&srcs[1], "::ffff:10.7.0.1");
    host_addr(&srcs[2], "fd00::c8");
    host_addr(&srcs[3], "10.7.0.9");
}

static uint32_t listed_at(const struct sockaddr_storage *src)
{
    if (src == &srcs[0] || src == &srcs[1])
        return 1;
    if (src == &srcs[2])
        return 200;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rdma_cm_priv p = { 0, 0 };
    uint8_t again[RDMA_CM_PRIV_LEN];
    size_t kept = size < CM_PRIV_KEPT ? size : CM_PRIV_KEPT;
    int ret;

    setup();
    ret = rdma__cm_priv_unpack(data, kept, &p);
    if (ret == -EPROTO)
        return 0;
    if (ret != 0 || kept < RDMA_CM_PRIV_LEN || p.node_id == 0 || p.node_id > 255 || p.epoch == 0)
        abort();
    rdma__cm_priv_pack(&p, again);
    if (memcmp(again, data, RDMA_CM_PRIV_LEN) != 0)
        abort();
    for (unsigned int i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        int ok = rdma__peer_check(hosts, 3, SELF, (const struct sockaddr *)&srcs[i], p.node_id);
        int want = p.node_id != SELF && listed_at(&srcs[i]) == p.node_id ? 0 : -EACCES;
        if (ok != want)
            abort();
    }
    for (enum rdma_have h = RDMA_HAVE_NONE; h <= RDMA_HAVE_UP; h++) {
        enum rdma_admit a = rdma__cm_admit(SELF, p.node_id, h);
        if (a != RDMA_ADMIT_ACCEPT && a != RDMA_ADMIT_REPLACE && a != RDMA_ADMIT_REFUSE)
            abort();
        if ((a == RDMA_ADMIT_REFUSE) != (h == RDMA_HAVE_OWN_ATTEMPT && SELF < p.node_id))
            abort();
        if ((a == RDMA_ADMIT_ACCEPT) != (h == RDMA_HAVE_NONE))
            abort();
    }
    return 0;
}
