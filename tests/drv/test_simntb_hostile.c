/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* simntb with a hostile fabric file: garbage written into the shared region under live nodes
 * (header offsets, message ring indices, port registers) must not crash, hang or stall anyone;
 * the inconsistent port is declared faulty (its peers see it lost) with a log line naming the field;
 * a claim lock that stays taken times out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "drv_test.h"
#include "simntb.h"

#define RINGS_OFF (WD_HDR_SIZE + WD_PORTS * WD_PORT_SIZE)

/* The whole fabric file of the current test fabric, mapped read-write. */
static uint8_t *map_fabric(size_t *len_p)
{
    char name[96];
    struct stat st;
    uint8_t *m;
    int fd;

    snprintf(name, sizeof(name), "/osci.%s", t_fabric);
    fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    close(fd);
    *len_p = (size_t)st.st_size;
    return m;
}

static struct wd_ring *ring_at(uint8_t *m, unsigned int dst, unsigned int src)
{
    return (struct wd_ring *)(m + RINGS_OFF + ((size_t)dst * WD_PORTS + src) * sizeof(struct wd_ring));
}

/*
 * A child node `node` that echoes every message of node `peer` back and answers commands:
 * 's': sends "ping" to peer and posts the result ('0' sent, 'N' -ENOTCONN, 'H' -EHOSTUNREACH, 'x' other);
 * 'w': waits up to 3 s for a LINK_DOWN or PEER_DEAD of peer and posts 'L' (seen) or 'T' (not seen);
 * 'q': closes and exits 0.
 */
static pid_t spawn_echo(struct t_sync *s, uint32_t node, uint32_t peer)
{
    pid_t pid;
    pid = t_fork_sync(s);
    if (pid == 0) {
        struct osci_drv *c;
        struct t_evlog cl = { .n = 0 };
        uint64_t end = osci_now_ms() + 20000;
        CHECK(t_open(node, &c) == 0);
        CHECK(t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_UP, peer, 5000, 1, NULL) == 0);
        t_sync_post(s->to_parent[1], 'r');
        while (osci_now_ms() < end) {
            struct pollfd pfd = { .fd = s->to_child[0], .events = POLLIN };
            struct osci_drv_event ev;
            char cmd;
            while (t_wait_ev(c, &cl, OSCI_DRV_EV_MSG, peer, 0, 0, &ev) == 0)
                osci_drv_msg_send(c, peer, ev.msg, ev.len);
            t_idle(c, &cl, 2);
            if (poll(&pfd, 1, 0) != 1)
                continue;
            CHECK(read(s->to_child[0], &cmd, 1) == 1);
            if (cmd == 'q')
                break;
            if (cmd == 's') {
                int r = osci_drv_msg_send(c, peer, "ping", 4);
                t_sync_post(s->to_parent[1], r == 0 ? '0' : r == -ENOTCONN ? 'N' : r == -EHOSTUNREACH ? 'H' : 'x');
            } else if (cmd == 'w') {
                int seen = t_wait_ev(c, &cl, OSCI_DRV_EV_LINK_DOWN, peer, 3000, 1, NULL) == 0 ||
                           t_wait_ev(c, &cl, OSCI_DRV_EV_PEER_DEAD, peer, 0, 0, NULL) == 0;
                t_sync_post(s->to_parent[1], seen ? 'L' : 'T');
            }
        }
        osci_drv_close(c);
        _exit(0);
    }
    assert_int_equal(t_sync_wait(s->to_parent[0], 5000), 'r');
    return pid;
}

/* Garbage offsets and sizes in the header of a live fabric: the nodes on it keep exchanging messages
 * (they never re-read the layout), a new joiner is refused with -EPROTO and a line naming the field. */
static void test_header_garbage_after_attach(void **state)
{
    struct osci_drv *a, *c;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event ev;
    struct t_sync s;
    struct wd_hdr *h;
    const char *out;
    size_t len;
    pid_t pid;

    t_start(&a);
    pid = spawn_echo(&s, 2, 1);
    assert_int_equal(t_wait_ev(a, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, NULL), 0);
    h = (struct wd_hdr *)map_fabric(&len);
    h->ports_off = 0x7fffdeadbeef000ull;
    h->rings_off = ~0ull;
    h->info_off = 1ull << 62;
    h->ring_slots = 1u << 31;
    h->slot_size = 7;
    /* Both nodes still work: a round trip through the rings. */
    assert_int_equal(osci_drv_msg_send(a, 2, "hdr", 3), 0);
    assert_int_equal(t_wait_ev(a, &log, OSCI_DRV_EV_MSG, 2, 5000, 1, &ev), 0);
    assert_int_equal(ev.len, 3);
    assert_memory_equal(ev.msg, "hdr", 3);
    /* A joiner is refused, and the line says which field. */
    tlog_begin(1);
    int r = t_open(3, &c);
    out = tlog_end();
    assert_int_equal(r, -EPROTO);
    assert_non_null(strstr(out, "ring_slots"));
    t_quit(&s, pid);   /* exited normally: no crash */
    assert_int_equal(t_wait_ev(a, &log, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, NULL), 0);
    munmap(h, len);
    t_end(a);
}

/* A ring head far ahead of its tail: the receiver returns from progress() at once, declares the
 * sender's port faulty (one line naming port, field and value) and reports it dead; the sender sees
 * the link to the receiver go down instead of spinning. */
static void test_ring_head_ahead(void **state)
{
    struct osci_drv *a;
    struct t_evlog log = { .n = 0 };
    struct osci_drv_event up, ev;
    struct t_sync s;
    struct wd_ring *r;
    const char *out;
    uint8_t *m;
    size_t len;
    pid_t pid;

    t_start(&a);                                     /* port 0 */
    pid = spawn_echo(&s, 2, 1);                      /* port 1 */
    assert_int_equal(t_wait_ev(a, &log, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, &up), 0);
    assert_int_equal(osci_drv_msg_send(a, 2, "x", 1), 0);
    assert_int_equal(t_wait_ev(a, &log, OSCI_DRV_EV_MSG, 2, 5000, 1, NULL), 0);
    m = map_fabric(&len);
    r = ring_at(m, 0, 1);                            /* node 2 -> node 1 */
    __atomic_store_n(&r->head, r->tail + 0x80000000u, __ATOMIC_SEQ_CST);
    uint64_t t0 = osci_now_ms();
    tlog_begin(1);
    int got = t_wait_ev(a, &log, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, &ev);
    out = tlog_end();
    print_message("receiver: PEER_DEAD %llu ms after the corruption\n", (unsigned long long)(osci_now_ms() - t0));
    assert_int_equal(got, 0);
    assert_int_equal(ev.epoch, up.epoch);
    assert_non_null(strstr(out, "faulty"));
    assert_non_null(strstr(out, "head"));
    assert_int_equal(osci_drv_msg_send(a, 2, "y", 1), -EHOSTUNREACH);
    assert_int_equal(osci_drv_probe(a, 2), -EHOSTUNREACH);
    /* The sender is told: its link to node 1 is down. */
    t_sync_post(s.to_child[1], 'w');
    assert_int_equal(t_sync_wait(s.to_parent[0], 10000), 'L');
    t_sync_post(s.to_child[1], 's');
    assert_int_equal(t_sync_wait(s.to_parent[0], 10000), 'N');
    /* Nothing from it is followed any more, and progress stays quick. */
    for (int i = 0; i < 100; i++)
        assert_true(osci_drv_progress(a, &ev, 1) >= 0);
    t_quit(&s, pid);
    munmap(m, len);
    t_end(a);
}

/* Garbage ring indices on the port a new node will take (both directions, every peer): the joiner
 * joins at once and exchanges messages both ways. */
static void test_joiner_bad_indices(void **state)
{
    struct osci_drv *a, *b;
    struct t_evlog la = { .n = 0 }, lb = { .n = 0 };
    struct osci_drv_event ev;
    uint8_t *m;
    size_t len;

    t_start(&a);                                     /* port 0; the joiner gets port 1 */
    m = map_fabric(&len);
    for (unsigned int q = 0; q < WD_PORTS; q++) {
        struct wd_ring *in = ring_at(m, 1, q), *o = ring_at(m, q, 1);
        in->tail = 0x40000000u + q;
        in->head = in->tail - 1;                     /* 2^32 - 1 "messages" */
        o->head = 0x9abcdef0u;
        o->tail = 0x12345678u + q;
        memset(in->slot, 0xa5, sizeof(in->slot));
    }
    uint64_t t0 = osci_now_ms();
    assert_int_equal(t_open(2, &b), 0);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, NULL), 0);
    assert_int_equal(t_wait_ev(a, &la, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, NULL), 0);
    print_message("joined and linked %llu ms after open\n", (unsigned long long)(osci_now_ms() - t0));
    for (int i = 0; i < 20; i++) {
        char msg[8];
        snprintf(msg, sizeof(msg), "m%d", i);
        assert_int_equal(osci_drv_msg_send(a, 2, msg, strlen(msg)), 0);
        assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_MSG, 1, 5000, 1, &ev), 0);
        assert_int_equal(ev.len, strlen(msg));
        assert_memory_equal(ev.msg, msg, ev.len);
        assert_int_equal(osci_drv_msg_send(b, 1, msg, strlen(msg)), 0);
        assert_int_equal(t_wait_ev(a, &la, OSCI_DRV_EV_MSG, 2, 5000, 1, &ev), 0);
        assert_memory_equal(ev.msg, msg, ev.len);
    }
    for (unsigned int i = 0; i < la.n; i++)
        assert_int_not_equal(la.ev[i].type, OSCI_DRV_EV_PEER_DEAD);
    for (unsigned int i = 0; i < lb.n; i++)
        assert_int_not_equal(lb.ev[i].type, OSCI_DRV_EV_PEER_DEAD);
    munmap(m, len);
    osci_drv_close(b);
    t_end(a);
}

/* Out-of-range register fields of a live port (a node id above 255, a window larger than its object):
 * the port is declared faulty, nothing out of range reaches the caller or a mapping. */
static void test_register_garbage(void **state)
{
    struct osci_drv *a, *b;
    struct osci_drv_mem_view v;
    struct osci_drv_mem *mem;
    struct osci_drv_rmem *rm, *rm2;
    struct t_evlog la = { .n = 0 }, lb = { .n = 0 };
    struct osci_peer_info pi[4];
    unsigned int np;
    uint8_t buf[WD_XPORT_LEN], *m;
    size_t len, blen = sizeof(buf);
    const char *out;

    t_start(&a);
    assert_int_equal(t_open(2, &b), 0);
    assert_int_equal(t_wait_ev(a, &la, OSCI_DRV_EV_LINK_UP, 2, 5000, 1, NULL), 0);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, NULL), 0);
    m = map_fabric(&len);
    struct wd_port *pb = (struct wd_port *)(m + WD_HDR_SIZE + 1 * WD_PORT_SIZE);
    /* A window size larger than the object: an import past the real window is refused. */
    assert_int_equal(osci_drv_mem_alloc(b, 4096, &v), 0);
    assert_int_equal(osci_drv_mem_export(b, &v, &mem), 0);
    assert_int_equal(osci_drv_mem_pack(b, mem, buf, &blen), 0);
    assert_int_equal(osci_drv_rmem_import(a, 2, buf, blen, &rm), 0);
    uint64_t real = pb->window_size;
    pb->window_size = real * 64;
    buf[24 + 3] = (uint8_t)((real * 2) >> 24);      /* offset field: 2x the real window */
    buf[24 + 2] = (uint8_t)((real * 2) >> 16);
    assert_int_equal(osci_drv_rmem_import(a, 2, buf, blen, &rm2), -EINVAL);
    pb->window_size = real;
    osci_drv_rmem_release(a, rm);
    osci_drv_mem_unexport(b, mem);
    osci_drv_mem_free(b, &v);
    /* A node id out of range: faulty, seen dead, never reported as a peer. */
    tlog_begin(1);
    pb->node_id = 4242;
    int got = t_wait_ev(a, &la, OSCI_DRV_EV_PEER_DEAD, 2, 5000, 1, NULL);
    out = tlog_end();
    assert_int_equal(got, 0);
    assert_non_null(strstr(out, "node_id"));
    assert_int_equal(osci_drv_peers(a, pi, 4, &np), 0);
    assert_int_equal(np, 0);
    pb->node_id = 2;
    munmap(m, len);
    osci_drv_close(b);
    t_end(a);
}

/* A holder of the claim lock (an flock of the fabric file, not a word of the region) that never lets
 * go: a joiner gives up with -ETIMEDOUT and a log line after 5 s; the live nodes go on (no data path
 * takes the lock); once it is released, a join works. */
static void test_lock_held(void **state)
{
    struct osci_drv *a, *b, *c;
    struct t_evlog lb = { .n = 0 };
    struct osci_drv_event ev;
    char name[96];
    const char *out;
    int fd;

    t_start(&a);
    assert_int_equal(t_open(2, &b), 0);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_LINK_UP, 1, 5000, 1, NULL), 0);
    snprintf(name, sizeof(name), "/osci.%s", t_fabric);
    fd = shm_open(name, O_RDONLY, 0);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);   /* held by a holder that never lets go */
    tlog_begin(1);
    int r = t_open(3, &c);
    out = tlog_end();
    assert_int_equal(r, -ETIMEDOUT);
    assert_non_null(strstr(out, "fabric lock"));
    assert_int_equal(osci_drv_msg_send(a, 2, "lk", 2), 0);
    assert_int_equal(t_wait_ev(b, &lb, OSCI_DRV_EV_MSG, 1, 5000, 1, &ev), 0);
    close(fd);
    assert_int_equal(t_open(3, &c), 0);
    osci_drv_close(c);
    osci_drv_close(b);
    t_end(a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_header_garbage_after_attach, t_teardown),
        cmocka_unit_test_teardown(test_ring_head_ahead, t_teardown),
        cmocka_unit_test_teardown(test_joiner_bad_indices, t_teardown),
        cmocka_unit_test_teardown(test_register_garbage, t_teardown),
        cmocka_unit_test_teardown(test_lock_held, t_teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);   /* one case by name */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
