/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Node ids and SCIInitialize causes (docs/sisci-compat.md "Node ids", SCIInitialize):
 * - SCIInitialize reports each cause it logs with its own sci_error_t (missing, malformed or
 *   directory configuration, no adapter, unknown driver, bad OSCI_NODE_ID, a node id held by a live
 *   process, a fabric file this user may not trust);
 * - a node id that may exist but is not up (never joined, died, restarting) answers
 *   NO_SUCH_SEGMENT to SCIConnectSegment and 0 with OK to SCIProbeNode; its link down, the same
 *   to a connect and NO_LINK_ACCESS to SCIProbeNode; ids that can never exist answer ILLEGAL_NODEID;
 * - SCIGetNodeIdByAdapterName / SCIGetNodeInfoByAdapterName map hosts.conf addresses to node ids;
 * - <dis_types.h> stands alone and <sisci_api.h> brings it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <dis_types.h>
#include "opensci/osci.h"
#include "sisci_api.h"
#include "../common/osci_test.h"
#include "seg_peer.h"

_Static_assert(DIS_BROADCAST_NODEID_GROUP_ALL == 252, "Dolphin's broadcast group id");
_Static_assert(sizeof(dis_nodeId_list_t) == DIS_MAX_NSCIS * sizeof(unsigned int), "a list of node ids");

#define T_MS 10000
#define SEG_ID 77
#define ID_A 41
#define ID_B 42

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static const char *tpath(const char *name)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

/* SCIInitialize with one environment variable set: its error (a failed one leaves nothing open). */
static sci_error_t init_with(const char *var, const char *value)
{
    const char *old = getenv(var);
    char *saved = old ? strdup(old) : NULL;
    sci_error_t e;

    assert_int_equal(setenv(var, value, 1), 0);
    SCIInitialize(0, &e);
    if (saved)
        setenv(var, saved, 1);
    else
        unsetenv(var);
    free(saved);
    if (e == SCI_ERR_OK)
        SCITerminate();
    return e;
}

static void test_init_causes(void **state)
{
    (void)state;
    write_file("bad.conf", "adapter zero simntb\n");
    write_file("empty.conf", "# nothing here\n");
    write_file("nodrv.conf", "adapter 0 nosuchdriver\n");
    write_file("ok.conf", "adapter 0 simntb\n");

    /* a missing configuration file is not "No such segment" */
    assert_int_equal(init_with("OSCI_CONF", tpath("missing.conf")), SCI_ERR_SYSTEM);
    assert_string_equal(SCIGetErrorString(SCI_ERR_SYSTEM), "System error");
    assert_int_equal(init_with("OSCI_CONF", tpath("bad.conf")), SCI_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(init_with("OSCI_CONF", tmpdir), SCI_ERR_ILLEGAL_PARAMETER);     /* a directory */
    assert_int_equal(init_with("OSCI_CONF", tpath("empty.conf")), SCI_ERR_OK);      /* the default adapter */
    assert_int_equal(init_with("OSCI_CONF", tpath("nodrv.conf")), SCI_ERR_NO_SUCH_ADAPTERNO);
    assert_int_equal(init_with("OSCI_NODE_ID", "abc"), SCI_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(init_with("OSCI_NODE_ID", "256"), SCI_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(init_with("OSCI_CONF", tpath("ok.conf")), SCI_ERR_OK);
}

/* A fabric file this user must not trust (mode 0644): ACCESS. */
static void test_init_fabric_access(void **state)
{
    char fabric[96], shm[128];
    sci_error_t e;
    int fd;

    (void)state;
    snprintf(fabric, sizeof(fabric), "%s-acc", getenv("OSCI_FABRIC"));
    snprintf(shm, sizeof(shm), "/osci.%s", fabric);
    fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, 0644), 0);
    close(fd);
    e = init_with("OSCI_FABRIC", fabric);
    shm_unlink(shm);
    assert_int_equal(e, SCI_ERR_ACCESS);
}

/* A peer: joins with node id `arg`, offers segment SEG_ID, says its node id, exits when told. */
static int peer_main(int rd, int wr, void *arg)
{
    char id[16];
    unsigned int node = 0;
    uint32_t cmd;
    sci_desc_t sd;
    sci_local_segment_t seg;
    sci_error_t e;

    snprintf(id, sizeof(id), "%u", (unsigned int)(uintptr_t)arg);
    setenv("OSCI_NODE_ID", id, 1);
    COK(SCIInitialize(0, &e_));
    COK(SCIOpen(&sd, 0, &e_));
    COK(SCICreateSegment(sd, &seg, SEG_ID, 4096, NULL, NULL, 0, &e_));
    COK(SCIPrepareSegment(seg, 0, 0, &e_));
    COK(SCISetSegmentAvailable(seg, 0, 0, &e_));
    COK(SCIGetLocalNodeId(0, &node, 0, &e_));
    CHECK(tproc_send_u32(wr, node) == 0);
    CHECK(tproc_recv_u32(rd, &cmd, 60000) == 0);
    SCISetSegmentUnavailable(seg, 0, 0, &e);
    for (int i = 0; i < 1000; i++) {
        SCIRemoveSegment(seg, 0, &e);
        if (e != SCI_ERR_BUSY)
            break;
        usleep(1000);
    }
    SCIClose(sd, 0, &e);
    SCITerminate();
    return 0;
}

/* The same peer in a fresh image (the parent is initialised: a forked child must not use the library). */
static int peer_exec(int rd, int wr, void *arg)
{
    char id[16], r[16], w[16];

    snprintf(id, sizeof(id), "%u", (unsigned int)(uintptr_t)arg);
    snprintf(r, sizeof(r), "%d", dup(rd));
    snprintf(w, sizeof(w), "%d", dup(wr));
    execl("/proc/self/exe", "test_seg_node", "--peer", id, r, w, (char *)NULL);
    return 127;
}

static void test_init_node_id_taken(void **state)
{
    struct tproc p;
    uint32_t node;
    char id[16];

    (void)state;
    snprintf(id, sizeof(id), "%u", ID_A);
    assert_int_equal(tproc_start(&p, peer_main, (void *)(uintptr_t)ID_A), 0);
    assert_int_equal(tproc_recv_u32(p.rd, &node, T_MS), 0);
    assert_int_equal(node, ID_A);
    /* not "Interrupt number already used" */
    assert_int_equal(init_with("OSCI_NODE_ID", id), SCI_ERR_BUSY);
    assert_int_equal(tproc_send_u32(p.wr, 0), 0);
    assert_int_equal(tproc_wait(&p, T_MS), 0);
    /* free again once its holder has left */
    assert_int_equal(init_with("OSCI_NODE_ID", id), SCI_ERR_OK);
}

static sci_error_t try_connect(sci_desc_t sd, unsigned int node, sci_remote_segment_t *rs)
{
    sci_error_t e;
    SCIConnectSegment(sd, rs, node, SEG_ID, 0, NULL, NULL, 2000, 0, &e);
    return e;
}

/* The peer told to leave and gone, then the library closed. */
static void peer_end(struct tproc *p, sci_desc_t sd)
{
    assert_int_equal(tproc_send_u32(p->wr, 0), 0);
    assert_int_equal(tproc_wait(p, T_MS), 0);
    parent_fini(sd);
}

/* A SISCI client's retry loop: connects to ID_B's segment, NO_SUCH_SEGMENT while it is not up, at most tries times. */
static void connect_b(sci_desc_t sd, sci_remote_segment_t *rs, int tries)
{
    sci_error_t e;

    for (int i = 0; i < tries && (e = try_connect(sd, ID_B, rs)) == SCI_ERR_NO_SUCH_SEGMENT; i++)
        usleep(2000);
    assert_int_equal(e, SCI_ERR_OK);
}

static void test_ids_that_cannot_exist(void **state)
{
    sci_remote_segment_t rs;
    sci_desc_t sd;
    sci_error_t e;

    (void)state;
    sd = parent_init();
    assert_int_equal(try_connect(sd, 0, &rs), SCI_ERR_ILLEGAL_NODEID);
    assert_int_equal(try_connect(sd, 256, &rs), SCI_ERR_ILLEGAL_NODEID);
    assert_int_equal(SCIProbeNode(sd, 0, 0, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_ILLEGAL_NODEID);
    assert_int_equal(SCIProbeNode(sd, 0, 256, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_ILLEGAL_NODEID);
    /* never joined, but any of 1..255 may join a simntb fabric */
    assert_int_equal(try_connect(sd, 254, &rs), SCI_ERR_NO_SUCH_SEGMENT);
    assert_int_equal(SCIProbeNode(sd, 0, 254, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_OK);
    parent_fini(sd);
}

/* Up, then killed, then restarted with the same id: NO_SUCH_SEGMENT all the while it is not up. */
static void test_dead_and_restarting_node(void **state)
{
    struct tproc p;
    sci_remote_segment_t rs;
    sci_desc_t sd;
    sci_error_t e;
    uint32_t node;
    int i;

    (void)state;
    sd = parent_init();
    assert_int_equal(tproc_start(&p, peer_exec, (void *)(uintptr_t)ID_B), 0);
    assert_int_equal(tproc_recv_u32(p.rd, &node, T_MS), 0);
    connect_b(sd, &rs, 500);
    assert_int_equal(SCIProbeNode(sd, 0, ID_B, 0, &e), 1);
    OK(SCIDisconnectSegment(rs, 0, &e_));

    tproc_kill(&p);                               /* dies: a node restarting looks the same */
    for (i = 0; i < 30; i++) {
        assert_int_equal(try_connect(sd, ID_B, &rs), SCI_ERR_NO_SUCH_SEGMENT);
        usleep(5000);
    }
    assert_int_equal(SCIProbeNode(sd, 0, ID_B, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_OK);

    /* back with the same id: the retry loop of a SISCI client gets it */
    assert_int_equal(tproc_start(&p, peer_exec, (void *)(uintptr_t)ID_B), 0);
    connect_b(sd, &rs, 2000);
    assert_int_equal(tproc_recv_u32(p.rd, &node, T_MS), 0);
    OK(SCIDisconnectSegment(rs, 0, &e_));
    peer_end(&p, sd);
}

/* The link to a live peer down (within the grace period): connects answer NO_SUCH_SEGMENT, so a
 * client loop rides it out; SCIProbeNode says NO_LINK_ACCESS. */
static void test_link_down(void **state)
{
    struct tproc p;
    sci_remote_segment_t rs;
    sci_desc_t sd;
    sci_error_t e;
    uint32_t node;
    int i;

    (void)state;
    assert_int_equal(tproc_start(&p, peer_main, (void *)(uintptr_t)ID_B), 0);
    assert_int_equal(tproc_recv_u32(p.rd, &node, T_MS), 0);
    setenv("OSCI_GRACE_MS", "60000", 1);
    sd = parent_init();
    unsetenv("OSCI_GRACE_MS");
    connect_b(sd, &rs, 500);
    OK(SCIDisconnectSegment(rs, 0, &e_));

    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_LINK_DOWN, ID_B, 0), 0);
    for (i = 0; i < 500 && SCIProbeNode(sd, 0, ID_B, 0, &e) == 1; i++)
        usleep(2000);
    assert_int_equal(SCIProbeNode(sd, 0, ID_B, 0, &e), 0);
    assert_int_equal(e, SCI_ERR_NO_LINK_ACCESS);
    assert_int_equal(try_connect(sd, ID_B, &rs), SCI_ERR_NO_SUCH_SEGMENT);

    assert_int_equal(osci_fault_inject(0, OSCI_FAULT_LINK_UP, ID_B, 0), 0);
    connect_b(sd, &rs, 2000);
    OK(SCIDisconnectSegment(rs, 0, &e_));
    peer_end(&p, sd);
}

static void test_lookup_by_name(void **state)
{
    dis_nodeId_list_t ids;
    dis_virt_adapter_t vtype = 99;
    dis_adapter_type_t type = 99;
    unsigned int adapters[DIS_MAX_NSCIS];
    sci_error_t e;

    (void)state;
    write_file("hosts.conf", "# node address\n5 alpha\n6 Beta.example\n7 alpha\n");
    write_file("badhosts.conf", "5\n");
    setenv("OSCI_HOSTS", tpath("hosts.conf"), 1);

    ERR(SCI_ERR_NOT_INITIALIZED, SCIGetNodeIdByAdapterName("alpha", &ids, &vtype, 0, &e_));
    OK(SCIInitialize(0, &e_));

    memset(ids, 0xff, sizeof(ids));
    OK(SCIGetNodeIdByAdapterName("alpha", &ids, &vtype, 0, &e_));
    assert_int_equal(ids[0], 5);
    assert_int_equal(ids[1], 7);
    for (int i = 2; i < DIS_MAX_NSCIS; i++)
        assert_int_equal(ids[i], 0);
    assert_int_equal(vtype, DIS_ADAPTER_TYPE_NONE);

    SCIGetNodeIdByAdapterName("BETA.example", &ids, &vtype, 0, &e);      /* names ignore case */
    assert_int_equal(e, SCI_ERR_OK);
    assert_int_equal(ids[0], 6);
    assert_int_equal(ids[1], 0);

    memset(adapters, 0xff, sizeof(adapters));
    OK(SCIGetNodeInfoByAdapterName("alpha", adapters, &ids, &type, 0, &e_));
    assert_int_equal(ids[0], 5);
    assert_int_equal(adapters[0], 0);
    assert_int_equal(ids[1], 7);
    assert_int_equal(adapters[1], 0);
    assert_int_equal(ids[2], 0);
    assert_int_equal(type, DIS_ADAPTER_TYPE_NONE);

    ERR(SCI_ERR_NO_SUCH_NODEID, SCIGetNodeIdByAdapterName("gamma", &ids, &vtype, 0, &e_));
    assert_int_equal(ids[0], 0);
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIGetNodeIdByAdapterName(NULL, &ids, &vtype, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIGetNodeIdByAdapterName("alpha", NULL, &vtype, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIGetNodeInfoByAdapterName("alpha", NULL, &ids, &type, 0, &e_));
    ERR(SCI_ERR_ILLEGAL_FLAG, SCIGetNodeIdByAdapterName("alpha", &ids, &vtype, 1, &e_));

    setenv("OSCI_HOSTS", tpath("badhosts.conf"), 1);
    ERR(SCI_ERR_ILLEGAL_PARAMETER, SCIGetNodeIdByAdapterName("alpha", &ids, &vtype, 0, &e_));
    setenv("OSCI_HOSTS", tpath("nohosts.conf"), 1);
    ERR(SCI_ERR_SYSTEM, SCIGetNodeIdByAdapterName("alpha", &ids, &vtype, 0, &e_));
    unsetenv("OSCI_HOSTS");
    SCITerminate();
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/osci-node-%d", (int)getpid());
    return mkdir(tmpdir, 0700);
}

static int teardown(void **state)
{
    static const char *const files[] = { "bad.conf", "empty.conf", "nodrv.conf", "ok.conf", "hosts.conf",
                                         "badhosts.conf" };
    (void)state;
    tproc_reap_all();
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(tpath(files[i]));
    return rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--peer"))
        return peer_main(atoi(argv[3]), atoi(argv[4]), (void *)(uintptr_t)strtoul(argv[2], NULL, 10));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_causes),
        cmocka_unit_test(test_init_fabric_access),
        cmocka_unit_test_teardown(test_init_node_id_taken, tproc_teardown),
        cmocka_unit_test(test_ids_that_cannot_exist),
        cmocka_unit_test_teardown(test_dead_and_restarting_node, tproc_teardown),
        cmocka_unit_test_teardown(test_link_down, tproc_teardown),
        cmocka_unit_test(test_lookup_by_name),
    };

    tproc_default_fabric("seg-node");
    return cmocka_run_group_tests(tests, setup, teardown);
}
