/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * SCIQuery (vendor, API, adapter subcommands), SCIProbeNode and SCIGetLocalNodeId, with good
 * and bad input; a forked peer for the probe and the link state.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "opensci/osci.h"
#include "sisci_api.h"
#include "seg_peer.h"

static int child_idle(int rfd, int wfd, void *arg)
{
    unsigned int node;
    uint32_t cmd;
    sci_desc_t sd = child_init(&node);

    CHECK(tproc_send_u32(wfd, node) == 0);
    CHECK(tproc_recv_u32(rfd, &cmd, 15000) == 0 && cmd == 0);
    child_fini(sd);
    return 0;
}

static unsigned int adapter_q(unsigned int adapter, unsigned int sub, sci_error_t *e)
{
    unsigned int v = 0xdeadbeef;
    sci_query_adapter_t q = { .localAdapterNo = adapter, .portNo = 0, .subcommand = sub, .data = &v };

    SCIQuery(SCI_Q_ADAPTER, &q, 0, e);
    return v;
}

static void test_strings_uninitialized(void **state)
{
    char buf[128];
    sci_query_string_t s = { .str = buf, .length = sizeof(buf) };
    sci_error_t e;
    unsigned int id;

    (void)state;
    OK(SCIQuery(SCI_Q_VENDORID, &s, 0, &e_));
    assert_string_equal(buf, "OpenSCI");
    OK(SCIQuery(SCI_Q_API, &s, 0, &e_));
    assert_memory_equal(buf, "OpenSCI SISCI 2.x compatible ", 29);
    s.length = 7;                              /* no room for the NUL */
    memset(buf, 'x', sizeof(buf));
    ERR(SCI_ERR_OUT_OF_RANGE, SCIQuery(SCI_Q_VENDORID, &s, 0, &e_));
    assert_int_equal(buf[0], 'x');
    s.str = NULL;
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIQuery(SCI_Q_VENDORID, &s, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIQuery(SCI_Q_VENDORID, NULL, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIQuery(SCI_Q_VENDORID, &s, 1, &e_));
    /* adapter queries need SCIInitialize */
    adapter_q(0, SCI_Q_ADAPTER_NODEID, &e);
    assert_int_equal(e, SCI_ERR_NOT_INITIALIZED);
    ERR(SCI_ERR_NOT_INITIALIZED, SCIGetLocalNodeId(0, &id, 0, &e_));
}

static void test_adapter_queries(void **state)
{
    unsigned int node, v, dummy = 0;
    sci_query_adapter_t q = { .localAdapterNo = 0, .subcommand = SCI_Q_ADAPTER_NODEID, .data = NULL };
    sci_query_system_t sq = { .subcommand = 1, .data = &dummy };
    sci_error_t e;
    sci_desc_t sd;

    (void)state;
    sd = parent_init();
    OK(SCIGetLocalNodeId(0, &node, 0, &e_));
    assert_true(node > 0);
    assert_int_equal(adapter_q(0, SCI_Q_ADAPTER_NODEID, &e), node);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(adapter_q(0, SCI_Q_ADAPTER_SERIAL_NUMBER, &e), 0);
    assert_int_equal(adapter_q(0, SCI_Q_ADAPTER_CARD_TYPE, &e), 0x5101);   /* simntb */
    {
        uint32_t caps = 0;
        assert_int_equal(osci_adapter_caps(0, &caps), 0);
        assert_int_equal(caps, OSCI_ADAPTER_FULL_VIEW);                   /* simntb: one /dev/shm fabric */
        assert_int_equal(osci_adapter_caps(3, &caps), -ENODEV);
        assert_int_equal(osci_adapter_caps(0, NULL), -EINVAL);
    }
    assert_int_equal(adapter_q(0, SCI_Q_ADAPTER_CONFIGURED, &e), 1);
    assert_int_equal(adapter_q(3, SCI_Q_ADAPTER_CONFIGURED, &e), 0);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(adapter_q(0, SCI_Q_ADAPTER_NUMBER_OF_LINKS, &e), 1);
    assert_int_equal(adapter_q(0, SCI_Q_ADAPTER_DMA_MTU, &e), 1u << 20);
    assert_int_equal(adapter_q(0, SCI_Q_ADAPTER_LINK_ENABLED, &e), 1);
    assert_int_equal(e, SCI_ERR_OK);
    v = adapter_q(0, SCI_Q_ADAPTER_LINK_OPERATIONAL, &e);
    assert_int_equal(e, SCI_ERR_OK);
    assert_true(v == 0 || v == 1);
    adapter_q(0, SCI_Q_ADAPTER_BDF, &e);
    assert_int_equal(e, SCI_ERR_ILLEGAL_QUERY);
    adapter_q(0, 999, &e);
    assert_int_equal(e, SCI_ERR_ILLEGAL_QUERY);
    adapter_q(3, SCI_Q_ADAPTER_NODEID, &e);
    assert_int_equal(e, SCI_ERR_NO_SUCH_ADAPTERNO);
    adapter_q(100, SCI_Q_ADAPTER_NODEID, &e);
    assert_int_equal(e, SCI_ERR_ILLEGAL_ADAPTERNO);
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIQuery(SCI_Q_ADAPTER, &q, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_QUERY, SCIQuery(SCI_Q_SYSTEM, &sq, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_QUERY, SCIQuery(12345, &sq, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIGetLocalNodeId(0, NULL, 0, &e_));
    ERR(SCI_ERR_NO_SUCH_ADAPTERNO, SCIGetLocalNodeId(4, &v, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIGetLocalNodeId(0, &v, 2, &e_));
    parent_fini(sd);
}

static void test_probe_and_link(void **state)
{
    struct tproc p;
    unsigned int node, cnode, up = 0;
    sci_error_t e;
    sci_desc_t sd;

    (void)state;
    assert_int_equal(tproc_start(&p, child_idle, NULL), 0);
    sd = parent_init();
    SCIGetLocalNodeId(0, &node, 0, &e);
    cnode = precv(&p);
    assert_int_equal(SCIProbeNode(sd, 0, cnode, 0, &e), 1);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(SCIProbeNode(sd, 0, node, 0, &e), 1);
    assert_int_equal(e, SCI_ERR_OK);
    /* a node id that may join later: not up, and no error (docs/sisci-compat.md "Node ids") */
    assert_int_equal(SCIProbeNode(sd, 0, 250, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(SCIProbeNode(sd, 0, 256, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_ILLEGAL_NODEID);
    assert_int_equal(SCIProbeNode(sd, 0, 0, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_ILLEGAL_NODEID);
    assert_int_equal(SCIProbeNode(sd, 2, cnode, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_NO_SUCH_ADAPTERNO);
    assert_int_equal(SCIProbeNode(NULL, 0, cnode, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(SCIProbeNode(sd, 0, cnode, 4, &e), 0);
    assert_int_equal(e, SCI_ERR_ILLEGAL_FLAG);
    /* the link to the peer comes up (after the handshake) */
    for (int i = 0; i < 500 && !up; i++) {
        up = adapter_q(0, SCI_Q_ADAPTER_LINK_OPERATIONAL, &e);
        assert_int_equal(e, SCI_ERR_OK);
        if (!up)
            usleep(10000);
    }
    assert_int_equal(up, 1);
    /* the peer goes: probing says so */
    assert_int_equal(tproc_send_u32(p.wr, 0), 0);
    assert_int_equal(tproc_end(&p, 10000), 0);
    for (int i = 0; i < 500; i++) {
        if (SCIProbeNode(sd, 0, cnode, 0, &e) == 0)
            break;
        usleep(10000);
    }
    assert_int_equal(SCIProbeNode(sd, 0, cnode, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_OK);            /* gone, but its id may come back */
    parent_fini(sd);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_strings_uninitialized),
               cmocka_unit_test(test_adapter_queries),
               cmocka_unit_test(test_probe_and_link))
