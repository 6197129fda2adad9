/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Two-machine test of the pcishm driver (docs/pcishm.md), run by tests/vmlab/steps/73-pcishm-driver.sh on
 * the two guests that share an ivshmem-doorbell BAR. Opens adapter 0 from OSCI_CONF and checks, against
 * the peer, through the driver's ops only: the query (card type, caps, node id), a second open on the same
 * machine refused (-EADDRINUSE), link up with an epoch,
 * messages both ways (content and order), doorbells (an event-mask bit through progress(), another
 * through db_poll, a third through a blocking db_wait), and memory: the server allocates 1 MiB in its
 * window, exports and packs it; the client imports it, gets it (checked), puts into its first half and
 * stores into its second half through a load/store map; the server checks every byte in its own view.
 * Then the server is SIGKILLed: the client must see it dead (its heartbeat stops) and its memory refused;
 * a restarted server must come back with a new epoch, and its close must be seen.
 *
 *   pcishm_pair server <self> <peer> <marker>   writes <marker> once the client's writes are verified,
 *                                                then waits to be killed
 *   pcishm_pair client <self> <peer> <marker>   writes <marker> after seeing the server dead
 *   pcishm_pair restart <self> <peer>           the server again: link up, one message, clean close
 * Exit 0: everything checked passed. Not a cmocka test: it needs a peer on another machine.
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

#include "osci_conf.h"
#include "osci_drv.h"
#include "osci_time.h"

#define LAB_DRV_NAME "pcishm_pair"
#include "lab_drv.h"

#define MIB  (1u << 20)
#define HALF (MIB / 2)

static void open_adapter(void)
{
    struct osci_adapter_conf conf[OSCI_MAX_ADAPTERS];
    struct osci_drv_info info;
    uint64_t want = OSCI_DRV_CAP_MAP_REMOTE | OSCI_DRV_CAP_PUT_GET | OSCI_DRV_CAP_MEM_ALLOC | OSCI_DRV_CAP_DB_WAIT;
    struct osci_drv *second = NULL;
    int r;

    open_adapter0("pcishm", conf, &info);
    say("opened %s as node %u (expected %u), caps %#x, window %" PRIu64 " bytes", info.name, info.node_id, self_id,
        info.caps, info.max_mem_size);
    if (info.node_id != self_id || (info.caps & want) != want ||
        (info.caps & (OSCI_DRV_CAP_OWN_LIVENESS | OSCI_DRV_CAP_FULL_VIEW)) || info.card_type != OSCI_DRV_CARD_PCISHM ||
        info.n_doorbells != 64 || strncmp(info.name, "pcishm:", 7) || info.max_mem_size < MIB)
        die("unexpected query result");
    if ((r = osci_drv_open(&conf[0], &second)) != -EADDRINUSE)
        die("a second open of the same device on this machine gave %d, expected -EADDRINUSE", r);
}

/* Bits 3 and 40 as on every driver, then bit 41 by a blocking db_wait: the peer rings 41 only after our
 * message says we are about to sleep. */
static void doorbells(void)
{
    struct osci_drv_event ev;
    uint64_t bits, t0;
    int r;

    doorbells_event_poll();
    if (!strcmp(role, "server")) {
        send_retry("sleeping", 8);
        t0 = osci_now_ms();
        bits = 0;
        r = osci_drv_db_wait(drv, 1ull << 41, 30000, &bits);
        if (r < 0 || bits != (1ull << 41))
            die("db_wait for bit 41: %s, bits %016" PRIx64, strerror(-r), bits);
        say("db_wait woke for bit 41 after %" PRIu64 " ms", osci_now_ms() - t0);
    } else {
        recv_msg(&ev, 30000, "server sleeping");
        struct timespec ts = { 0, 200 * 1000000L };
        nanosleep(&ts, NULL);
        if (osci_drv_db_ring(drv, peer_id, 41) < 0)
            die("db_ring 41");
    }
    say("doorbells: bit 3 by event, bit 40 by db_poll, bit 41 by db_wait");
}

static void server_memory(const char *marker)
{
    struct osci_drv_mem_view v;
    struct osci_drv_mem *m;
    struct osci_drv_event ev;
    uint8_t xp[OSCI_DRV_XPORT_MAX];
    size_t len = sizeof(xp);
    int r;

    if ((r = osci_drv_mem_alloc(drv, MIB, &v)) < 0)
        die("mem_alloc 1 MiB: %s", strerror(-r));
    for (size_t i = 0; i < MIB; i++)
        ((uint8_t *)v.addr)[i] = pat(1, i);
    if ((r = osci_drv_mem_export(drv, &v, &m)) < 0 || (r = osci_drv_mem_pack(drv, m, xp, &len)) < 0)
        die("export/pack: %s", strerror(-r));
    send_retry(xp, len);
    recv_msg(&ev, 60000, "client's writes done");
    if (ev.len != 4 || memcmp(ev.msg, "done", 4))
        die("unexpected message instead of \"done\"");
    check_buf(v.addr, 0, HALF, 2, "server memory, first half (put)");
    check_buf((uint8_t *)v.addr + HALF, HALF, HALF, 3, "server memory, second half (stores through a map)");
    say("1 MiB in the window: the client's put and mapped stores read back correctly here");
    send_retry("verified", 8);
    touch(marker);
    for (;;)                          /* the step kills this process */
        pump(100);
}

static struct osci_drv_rmem *client_memory(void)
{
    struct osci_drv_event ev;
    struct osci_drv_rmem *rm;
    uint8_t *buf = malloc(MIB), bad[OSCI_DRV_XPORT_MAX];
    volatile uint8_t *map;
    void *addr;
    int r;

    if (!buf)
        die("malloc");
    recv_msg(&ev, 60000, "the server's packed memory");
    memcpy(bad, ev.msg, ev.len);
    bad[0] ^= 1;
    if (osci_drv_rmem_import(drv, peer_id, bad, ev.len, &rm) >= 0)
        die("import of corrupted transport bytes accepted");
    if ((r = osci_drv_rmem_import(drv, peer_id, ev.msg, ev.len, &rm)) < 0)
        die("rmem_import: %s", strerror(-r));
    if ((r = osci_drv_get(drv, rm, 0, buf, MIB)) < 0)
        die("get 1 MiB: %s", strerror(-r));
    check_buf(buf, 0, MIB, 1, "get of the server's 1 MiB");
    if (osci_drv_get(drv, rm, MIB - 10, buf, 11) >= 0)
        die("get beyond the end accepted");
    for (size_t i = 0; i < HALF; i++)
        buf[i] = pat(2, i);
    if ((r = osci_drv_put(drv, rm, 0, buf, HALF)) < 0)
        die("put 512 KiB: %s", strerror(-r));
    if ((r = osci_drv_rmem_map(drv, rm, HALF, HALF, 0, &addr)) < 0)
        die("rmem_map: %s", strerror(-r));
    map = addr;
    for (size_t i = 0; i < HALF; i++)
        map[i] = pat(3, HALF + i);
    check_buf(map, HALF, HALF, 3, "read back through the map");
    if ((r = osci_drv_rmem_unmap(drv, rm, addr, HALF)) < 0)
        die("rmem_unmap: %s", strerror(-r));
    send_retry("done", 4);
    recv_msg(&ev, 60000, "verified");
    if (ev.len != 8 || memcmp(ev.msg, "verified", 8))
        die("the server did not verify the data");
    say("get 1 MiB, put 512 KiB, 512 KiB of stores through a map: checked on the server");
    free(buf);
    return rm;
}

int main(int argc, char **argv)
{
    struct osci_drv_event ev, up;
    struct osci_drv_rmem *rm;
    uint64_t epoch, t0;
    uint8_t b[16];

    lab_drv_args(argc, argv);
    open_adapter();
    epoch = wait_link_up(90000, -EHOSTUNREACH);
    say("link up to node %u, epoch %016" PRIx64, peer_id, epoch);
    if (!strcmp(role, "restart"))
        return restarted_server();
    exchange_messages(" through the BAR's rings");
    doorbells();
    if (!strcmp(role, "server"))
        server_memory(argv[4]);
    rm = client_memory();
    /* the server is SIGKILLed now: its heartbeat stops */
    t0 = osci_now_ms();
    if (take(OSCI_DRV_EV_PEER_DEAD, OSCI_DRV_EV_LINK_DOWN, 60000, &ev) < 0 || ev.epoch != epoch)
        die("the killed server was not seen dead within 60 s");
    say("server's epoch %016" PRIx64 " seen dead (%s) %" PRIu64 " ms after the kill began", epoch, ev_name(ev.type),
        osci_now_ms() - t0);
    if (osci_drv_get(drv, rm, 0, b, sizeof(b)) >= 0 || osci_drv_msg_send(drv, peer_id, "x", 1) >= 0)
        die("the dead server's memory or node still accepted");
    osci_drv_rmem_release(drv, rm);
    touch(argv[4]);
    /* the server restarts on its machine: the same port (ivshmem peer id), a new epoch */
    if (take(OSCI_DRV_EV_LINK_UP, OSCI_DRV_EV_LINK_UP, 90000, &up) < 0 || up.node != peer_id)
        die("the restarted server did not come back within 90 s");
    if (up.epoch == epoch)
        die("restarted server has the old epoch");
    restarted_client();
    if (take(OSCI_DRV_EV_PEER_DEAD, OSCI_DRV_EV_LINK_DOWN, 30000, &ev) < 0 || ev.epoch != up.epoch)
        die("the restarted server's close was not noticed");
    say("restarted server: new epoch %016" PRIx64 ", message exchanged, close seen", up.epoch);
    osci_drv_close(drv);
    say("passed");
    return 0;
}
