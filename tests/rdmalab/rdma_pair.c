/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-host test of the rdma driver, run by tests/vmlab/steps/40-rdma-driver.sh on two guests with
 * soft-RoCE. Opens adapter 0 from OSCI_CONF (hosts from OSCI_HOSTS) and checks, against the peer:
 * link up with an epoch, messages both ways (content and order), doorbells (event-mask bits through
 * progress(), the others through db_poll), export/pack on the server, import + put/get with data
 * checked on both sides (bounce and registered paths, across registration chunks), refusal of bad
 * transport bytes; then the server is SIGKILLed and the client must see the link go down without
 * aborting, and a restarted server must come back with a new epoch (PEER_DEAD of the old one).
 *
 *   rdma_pair server <self> <peer> <marker>   writes <marker> once the client's puts are verified,
 *                                              then waits to be killed
 *   rdma_pair client <self> <peer> <marker>   writes <marker> after seeing the server go down
 *   rdma_pair restart <self> <peer>           the server again: link up, one message, clean close
 * Exit 0: everything checked passed. Not a cmocka test: it needs a peer on another host.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osci_drv.h"
#include "osci_time.h"

#define LAB_DRV_NAME "rdma_pair"
#include "lab_drv.h"

#define MIB (1u << 20)

/* Registered here too, so the program does not depend on how the registry refers to the driver. */
extern const struct osci_drv_ops osci_rdma_ops;

static void open_adapter(void)
{
    struct osci_adapter_conf conf[OSCI_MAX_ADAPTERS];
    struct osci_drv_info info;
    int r;

    r = osci_drv_register(&osci_rdma_ops);
    if (r < 0)
        die("osci_drv_register(rdma): %s", strerror(-r));
    open_adapter0("rdma", conf, &info);
    say("opened %s as node %u (expected %u), caps %#x, max export %" PRIu64 " bytes", info.name, info.node_id,
        self_id, info.caps, info.max_mem_size);
    if (info.node_id != self_id)
        die("node id %u found from hosts.conf, expected %u", info.node_id, self_id);
    if (info.caps != (OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_INFO | OSCI_DRV_CAP_EXPORT_FOREIGN) ||
        info.card_type != OSCI_DRV_CARD_RDMA ||
        info.n_doorbells != 64 || strncmp(info.name, "rdma:", 5))
        die("unexpected query result");
}

/* The client takes the link down by fault injection, holds it, brings it back: same epochs on both sides. */
static void link_flap(uint64_t epoch)
{
    struct osci_drv_event ev;
    int r;

    if (!strcmp(role, "client")) {
        r = osci_drv_inject(drv, OSCI_FAULT_LINK_DOWN, peer_id, 0);
        if (r < 0)
            die("inject LINK_DOWN: %s", strerror(-r));
    }
    if (take(OSCI_DRV_EV_LINK_DOWN, OSCI_DRV_EV_PEER_DEAD, 30000, &ev) < 0 || ev.type != OSCI_DRV_EV_LINK_DOWN ||
        ev.epoch != epoch)
        die("no LINK_DOWN (epoch %016" PRIx64 ") after the injected link cut", epoch);
    if (osci_drv_msg_send(drv, peer_id, "x", 1) != -ENOTCONN)
        die("msg_send on a cut link is not -ENOTCONN");
    if (!strcmp(role, "client")) {
        uint64_t until = osci_now_ms() + 1500;
        while (osci_now_ms() < until)     /* the server's reconnect attempts are refused meanwhile */
            pump(50);
        if (n_backlog)
            die("event %d while the link is held down", (int)backlog[0].type);
        r = osci_drv_inject(drv, OSCI_FAULT_LINK_UP, peer_id, 0);
        if (r < 0)
            die("inject LINK_UP: %s", strerror(-r));
    }
    if (take(OSCI_DRV_EV_LINK_UP, OSCI_DRV_EV_PEER_DEAD, 30000, &ev) < 0 || ev.type != OSCI_DRV_EV_LINK_UP ||
        ev.epoch != epoch)
        die("link did not come back with the same epoch %016" PRIx64, epoch);
    say("injected link cut: LINK_DOWN, then LINK_UP with the same epoch");
}

static void *alloc_page_aligned(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, size))
        die("out of memory");
    return p;
}

static void server_memory(const char *marker)
{
    uint8_t *mem = alloc_page_aligned(MIB), xp[OSCI_DRV_XPORT_MAX + 1];
    struct osci_drv_mem *m, *big;
    struct osci_drv_event ev;
    size_t len = OSCI_DRV_XPORT_MAX;
    int r;

    for (size_t i = 0; i < MIB; i++)
        mem[i] = pat(1, i);
    /* 64 chunks of 256K: too many */
    r = osci_drv_mem_export(drv, &(struct osci_drv_mem_view){ .addr = mem, .size = 16 * MIB, .fd = -1 }, &big);
    if (r != -E2BIG)
        die("export beyond 10 chunks gave %d, expected -E2BIG", r);
    r = osci_drv_mem_export(drv, &(struct osci_drv_mem_view){ .addr = mem, .size = MIB, .fd = -1 }, &m);
    if (r < 0)
        die("mem_export of 1 MiB: %s", strerror(-r));
    r = osci_drv_mem_pack(drv, m, xp + 1, &len);
    if (r < 0)
        die("mem_pack: %s", strerror(-r));
    xp[0] = 'X';
    send_retry(xp, len + 1);
    say("exported 1 MiB, sent %zu transport bytes", len);
    recv_msg(&ev, 120000, "puts done");
    if (ev.len != 4 || memcmp(ev.msg, "PUT!", 4))
        die("expected the client's PUT! message");
    /* the client wrote seed 2 at [4096, 4096 + 600K) and seed 3 at [700K, 1M) */
    check_buf(mem, 0, 4096, 1, "server memory before the first put");
    check_buf(mem + 4096, 4096, 600 * 1024, 2, "server memory, bounce put");
    check_buf(mem + 4096 + 600 * 1024, 4096 + 600 * 1024, 700 * 1024 - 4096 - 600 * 1024, 1,
              "server memory between the puts");
    check_buf(mem + 700 * 1024, 700 * 1024, MIB - 700 * 1024, 3, "server memory, registered put");
    send_retry("OK!!", 4);
    say("client puts verified in server memory");
    /* the step kills this process once the marker exists: only after the client has the confirmation
     * (a SEND posted just before a SIGKILL may never leave) */
    recv_msg(&ev, 60000, "the client's acknowledgement");
    if (ev.len != 4 || memcmp(ev.msg, "ACK!", 4))
        die("expected the client's ACK! message");
    touch(marker);
    /* keep serving until the step kills this process */
    for (;;)
        pump(100);
}

static void client_memory(void)
{
    uint8_t *buf = alloc_page_aligned(MIB), *reg = alloc_page_aligned(MIB), bad[OSCI_DRV_XPORT_MAX];
    struct osci_drv_rmem *rm;
    struct osci_drv_mem *lm;
    struct osci_drv_event ev;
    uint64_t t0;
    int r;

    recv_msg(&ev, 120000, "transport bytes");
    if (ev.len < 2 || ev.msg[0] != 'X')
        die("expected transport bytes");
    memcpy(bad, ev.msg + 1, ev.len - 1);
    bad[5] ^= 1;   /* chunk count */
    if ((r = osci_drv_rmem_import(drv, peer_id, bad, ev.len - 1, &rm)) >= 0)
        die("corrupted transport bytes imported");
    if ((r = osci_drv_rmem_import(drv, peer_id, ev.msg + 1, ev.len - 2, &rm)) >= 0)
        die("truncated transport bytes imported");
    r = osci_drv_rmem_import(drv, peer_id, ev.msg + 1, ev.len - 1, &rm);
    if (r < 0)
        die("rmem_import: %s", strerror(-r));
    if (osci_drv_get(drv, rm, MIB - 10, buf, 11) != -EINVAL)
        die("get beyond the export not refused");
    t0 = osci_now_ms();
    r = osci_drv_get(drv, rm, 0, buf, MIB);
    if (r < 0)
        die("get of 1 MiB: %s", strerror(-r));
    check_buf(buf, 0, MIB, 1, "get of the server's 1 MiB");
    say("get 1 MiB (bounce path) in %" PRIu64 " ms, data checked", osci_now_ms() - t0);
    /* put through the bounce buffer, crossing the 256K registration chunks */
    for (size_t i = 0; i < 600 * 1024; i++)
        buf[i] = pat(2, 4096 + i);
    r = osci_drv_put(drv, rm, 4096, buf, 600 * 1024);
    if (r < 0)
        die("put (bounce) of 600K: %s", strerror(-r));
    /* put and get from registered (exported) memory: zero copy */
    r = osci_drv_mem_export(drv, &(struct osci_drv_mem_view){ .addr = reg, .size = MIB, .fd = -1 }, &lm);
    if (r < 0)
        die("client mem_export: %s", strerror(-r));
    for (size_t i = 0; i < MIB - 700 * 1024; i++)
        reg[100 + i] = pat(3, 700 * 1024 + i);
    r = osci_drv_put(drv, rm, 700 * 1024, reg + 100, MIB - 700 * 1024);
    if (r < 0)
        die("put (registered) of 324K: %s", strerror(-r));
    memset(reg, 0, MIB);
    r = osci_drv_get(drv, rm, 0, reg, MIB);
    if (r < 0)
        die("get (registered) of 1 MiB: %s", strerror(-r));
    check_buf(reg, 0, 4096, 1, "get back [0, 4K)");
    check_buf(reg + 4096, 4096, 600 * 1024, 2, "get back of the bounce put");
    check_buf(reg + 700 * 1024, 700 * 1024, MIB - 700 * 1024, 3, "get back of the registered put");
    osci_drv_mem_unexport(drv, lm);
    say("puts (bounce and registered) read back correctly");
    send_retry("PUT!", 4);
    recv_msg(&ev, 60000, "server verification");
    if (ev.len != 4 || memcmp(ev.msg, "OK!!", 4))
        die("server did not confirm the puts");
    send_retry("ACK!", 4);
    say("server confirmed the puts");
    /* the server is killed now; put/get must fail cleanly, never abort */
    osci_drv_rmem_release(drv, rm);
    free(buf);
    free(reg);
}

int main(int argc, char **argv)
{
    struct osci_drv_event ev;
    uint64_t epoch;
    int saw_dead = 0;

    lab_drv_args(argc, argv);
    open_adapter();
    epoch = wait_link_up(60000, -EADDRNOTAVAIL);
    say("link up with node %u, epoch %016" PRIx64, peer_id, epoch);

    if (!strcmp(role, "restart"))
        return restarted_server();
    if (osci_drv_msg_send(drv, 99, "x", 1) != -EHOSTUNREACH)
        die("msg_send to an unknown node not refused with EHOSTUNREACH");
    exchange_messages("");
    doorbells_event_poll();
    say("doorbells: bit 3 by event, bit 40 by db_poll");
    link_flap(epoch);
    exchange_messages("");
    if (!strcmp(role, "server")) {
        server_memory(argv[4]);
        return 1;
    }
    client_memory();
    {
        uint64_t t0 = osci_now_ms();
        int r;
        if (take(OSCI_DRV_EV_LINK_DOWN, OSCI_DRV_EV_PEER_DEAD, 90000, &ev) < 0)
            die("the killed server was not noticed within 90 s");
        saw_dead = ev.type == OSCI_DRV_EV_PEER_DEAD;
        say("server loss seen as %s (epoch %016" PRIx64 ") after %" PRIu64 " ms", ev_name(ev.type), ev.epoch,
            osci_now_ms() - t0);
        r = osci_drv_msg_send(drv, peer_id, "x", 1);
        if (r != -ENOTCONN)
            die("msg_send to the dead server gave %d, expected -ENOTCONN", r);
        if (osci_drv_probe(drv, peer_id) != -ENOLINK)
            die("probe of the dead server is not -ENOLINK");
        touch(argv[4]);
    }
    /* the server restarts: a new epoch, the old one reported dead */
    {
        struct osci_drv_event up;
        if (take(OSCI_DRV_EV_LINK_UP, OSCI_DRV_EV_LINK_UP, 90000, &up) < 0)
            die("the restarted server did not come back within 90 s");
        if (up.epoch == epoch)
            die("restarted server has the old epoch");
        if (!saw_dead && (take(OSCI_DRV_EV_PEER_DEAD, OSCI_DRV_EV_PEER_DEAD, 1, &ev) < 0 || ev.epoch != epoch))
            die("no PEER_DEAD for the old epoch %016" PRIx64, epoch);
        restarted_client();
        if (take(OSCI_DRV_EV_LINK_DOWN, OSCI_DRV_EV_LINK_DOWN, 60000, &ev) < 0)
            die("the restarted server's close was not noticed");
        say("restarted server: new epoch %016" PRIx64 ", old one dead, message exchanged, close seen", up.epoch);
    }
    osci_drv_close(drv);
    say("PASS");
    return 0;
}
