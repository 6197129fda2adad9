/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* rdma fabric driver: open/close and the ops table. rdma_int.h describes the driver and its files. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <netdb.h>

#include "osci_time.h"
#include "rdma_int.h"

/* ---- open / close ---- */

static int pick_device(struct rdma_drv *d)
{
    struct ibv_context **list;
    int n = 0, ret = 0;

    list = rdma_get_devices(&n);
    if (!list || n == 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "no RDMA device found (load rdma_rxe and run `rdma link add rxe0 type rxe "
                 "netdev <if>`, or use a real NIC)");
        if (list)
            rdma_free_devices(list);
        return -ENODEV;
    }
    if (d->o.ip[0]) {
        struct rdma_cm_id *tmp;
        struct sockaddr_storage ss = d->local;
        if (rdma_create_id(NULL, &tmp, NULL, RDMA_PS_TCP) != 0) {
            ret = -errno;
            osci_log(OSCI_LOG_ERROR, MOD, "rdma_create_id: %s", strerror(errno));
            goto out;
        }
        if (rdma_bind_addr(tmp, (struct sockaddr *)&ss) != 0 || !tmp->verbs) {
            osci_log(OSCI_LOG_ERROR, MOD, "ip=%s is not an address of an RDMA device", d->o.ip);
            rdma_destroy_id(tmp);
            ret = -ENODEV;
            goto out;
        }
        d->ctx = tmp->verbs;
        rdma_destroy_id(tmp);
        if (d->o.dev[0] && strcmp(d->o.dev, ibv_get_device_name(d->ctx->device))) {
            osci_log(OSCI_LOG_ERROR, MOD, "ip=%s belongs to device %s, not dev=%s", d->o.ip,
                     ibv_get_device_name(d->ctx->device), d->o.dev);
            ret = -EINVAL;
            goto out;
        }
    } else if (d->o.dev[0]) {
        for (int i = 0; i < n && !d->ctx; i++)
            if (!strcmp(ibv_get_device_name(list[i]->device), d->o.dev))
                d->ctx = list[i];
        if (!d->ctx) {
            osci_log(OSCI_LOG_ERROR, MOD, "no RDMA device named %s (%d device%s found)", d->o.dev, n,
                     n == 1 ? "" : "s");
            ret = -ENODEV;
            goto out;
        }
    } else {
        d->ctx = list[0];
    }
    snprintf(d->dev_name, sizeof(d->dev_name), "%s", ibv_get_device_name(d->ctx->device));
out:
    rdma_free_devices(list);
    return ret;
}

/* The local address: ip=, else the address inside the chosen (or first RoCE v2 IPv4) GID. */
static int pick_local_addr(struct rdma_drv *d, int gid_tbl_len)
{
    if (d->o.ip[0])
        return 0;
    for (int i = d->o.gid_index >= 0 ? d->o.gid_index : 0; i < gid_tbl_len; i++) {
        struct ibv_gid_entry e;
        const uint8_t *g;
        static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

        if (ibv_query_gid_ex(d->ctx, d->o.port, (uint32_t)i, &e, 0) != 0) {
            if (d->o.gid_index >= 0)
                break;
            continue;
        }
        g = e.gid.raw;
        if (d->o.gid_index < 0 && e.gid_type != IBV_GID_TYPE_ROCE_V2)
            continue;
        if (!memcmp(g, v4mapped, 12)) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&d->local;
            memset(&d->local, 0, sizeof(d->local));
            sin->sin_family = AF_INET;
            memcpy(&sin->sin_addr, g + 12, 4);
            return 0;
        }
        if (d->o.gid_index >= 0) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&d->local;
            if (g[0] == 0xfe && (g[1] & 0xc0) == 0x80) {
                osci_log(OSCI_LOG_ERROR, MOD, "%s port %u GID %d is link-local: set ip=", d->dev_name, d->o.port, i);
                return -EINVAL;
            }
            memset(&d->local, 0, sizeof(d->local));
            s6->sin6_family = AF_INET6;
            memcpy(&s6->sin6_addr, g, 16);
            return 0;
        }
    }
    if (d->o.gid_index >= 0)
        osci_log(OSCI_LOG_ERROR, MOD, "%s port %u has no GID at index %d", d->dev_name, d->o.port, d->o.gid_index);
    else
        osci_log(OSCI_LOG_ERROR, MOD, "%s port %u has no RoCE v2 IPv4 GID (is its netdev up with an IPv4 "
                 "address?); set ip= or gid_index=", d->dev_name, d->o.port);
    return -EADDRNOTAVAIL;
}

/* d->gid: the GID at gid_index=, else the one that carries the local address. */
static void find_gid(struct rdma_drv *d, int gid_tbl_len)
{
    static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    d->gid[0] = 0;
    for (int i = d->o.gid_index >= 0 ? d->o.gid_index : 0; i < gid_tbl_len; i++) {
        struct ibv_gid_entry e;
        bool match;

        if (ibv_query_gid_ex(d->ctx, d->o.port, (uint32_t)i, &e, 0) != 0) {
            if (d->o.gid_index >= 0)
                return;
            continue;
        }
        if (d->o.gid_index >= 0)
            match = true;
        else if (d->local.ss_family == AF_INET)
            match = !memcmp(e.gid.raw, v4mapped, 12) &&
                    !memcmp(e.gid.raw + 12, &((struct sockaddr_in *)&d->local)->sin_addr, 4) &&
                    (d->o.ip[0] || e.gid_type == IBV_GID_TYPE_ROCE_V2);
        else if (d->local.ss_family == AF_INET6)
            match = !memcmp(e.gid.raw, &((struct sockaddr_in6 *)&d->local)->sin6_addr, 16);
        else
            match = false;
        if (match) {
            if (!inet_ntop(AF_INET6, e.gid.raw, d->gid, sizeof(d->gid)))
                d->gid[0] = 0;
            return;
        }
        if (d->o.gid_index >= 0)
            return;
    }
}

/* Observe mode: the device for query(), the publish file's name for peers()/info_read(); no PD, no CM. */
/* A driver instance with its options parsed and the ip= address resolved (observe as conf says). */
static int rdma_drv_alloc(const struct osci_adapter_conf *conf, struct rdma_drv **d_p)
{
    struct rdma_drv *d;
    char err[256];
    int ret;

    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    osci_list_init(&d->zombies);
    osci_list_init(&d->exports);
    d->observe = conf->observe != 0;
    d->epfd = d->tfd = d->wfd = -1;
    ret = rdma__opts_parse(conf, &d->o, err, sizeof(err));
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: %s", conf->adapter_no, err);
        goto err_free;
    }
    if (d->o.ip[0]) {
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST }, *res;
        if (getaddrinfo(d->o.ip, NULL, &hints, &res) != 0) {
            ret = -EINVAL;
            goto err_free;
        }
        memcpy(&d->local, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
    }
    *d_p = d;
    return 0;

err_free:
    free(d);
    return ret;
}

static int rdma_observe_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    struct rdma_drv *d;
    struct ibv_port_attr pattr;
    int ret;

    ret = rdma_drv_alloc(conf, &d);
    if (ret < 0)
        return ret;
    ret = pick_device(d);
    if (ret < 0)
        goto err_free;
    if (ibv_query_port(d->ctx, (uint8_t)d->o.port, &pattr) != 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: cannot query port %u: %s", d->dev_name, d->o.port, strerror(errno));
        ret = -ENODEV;
        goto err_free;
    }
    if (pick_local_addr(d, pattr.gid_tbl_len) == 0)     /* a port without an address shows no GID */
        find_gid(d, pattr.gid_tbl_len);
    ret = rdma__pub_name(d->dev_name, d->o.port, d->o.listen, d->pub_name, sizeof(d->pub_name));
    if (ret < 0)
        goto err_free;
    *drv_p = &d->base;
    return 0;

err_free:
    free(d);
    return ret;
}

static int setup_fds(struct rdma_drv *d)
{
    struct itimerspec its = { { 0, RDMA_TICK_MS * 1000000L }, { 0, RDMA_TICK_MS * 1000000L } };
    int fds[4];
    int ret;

    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    d->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->epfd < 0 || d->tfd < 0 || d->wfd < 0)
        return -errno;
    if (timerfd_settime(d->tfd, 0, &its, NULL) < 0)
        return -errno;
    fds[0] = d->ch->fd;
    fds[1] = d->cc->fd;
    fds[2] = d->tfd;
    fds[3] = d->wfd;
    for (int i = 0; i < 4; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
        if (i < 2 && (ret = rd_set_nonblock(fds[i])) < 0)
            return ret;
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            return -errno;
    }
    return 0;
}

static void close_fds(struct rdma_drv *d)
{
    if (d->epfd >= 0)
        close(d->epfd);
    if (d->tfd >= 0)
        close(d->tfd);
    if (d->wfd >= 0)
        close(d->wfd);
}

static int rdma_open(const struct osci_adapter_conf *conf, struct osci_drv **drv_p)
{
    struct rdma_drv *d;
    struct osci_host *hosts = NULL;
    struct ibv_port_attr pattr;
    struct ibv_device_attr dattr;
    struct sockaddr_storage la;
    char err[256], a[64];
    const struct rdma_host *self;
    int ret;

    osci_log_init();
    if (!conf || !drv_p)
        return -EINVAL;
    if (conf->observe)
        return rdma_observe_open(conf, drv_p);
    ret = rdma_drv_alloc(conf, &d);
    if (ret < 0)
        return ret;
    hosts = calloc(RDMA_MAX_HOSTS, sizeof(*hosts));
    if (!hosts) {
        ret = -ENOMEM;
        goto err_free;
    }
    ret = osci_hosts_load(hosts, RDMA_MAX_HOSTS, &d->n_hosts);
    if (ret < 0)
        goto err_free;
    ret = rdma__hosts_resolve(hosts, d->n_hosts, d->hosts, err, sizeof(err));
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s", err);
        goto err_free;
    }
    for (unsigned int i = 0; i < d->n_hosts; i++)
        d->peer[d->hosts[i].node_id].host = &d->hosts[i];

    ret = pick_device(d);
    if (ret < 0)
        goto err_free;
    if (ibv_query_port(d->ctx, (uint8_t)d->o.port, &pattr) != 0 || ibv_query_device(d->ctx, &dattr) != 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "%s: cannot query port %u: %s", d->dev_name, d->o.port, strerror(errno));
        ret = -ENODEV;
        goto err_free;
    }
    if (pattr.state != IBV_PORT_ACTIVE)
        osci_log(OSCI_LOG_WARN, MOD, "%s port %u is %s", d->dev_name, d->o.port, ibv_port_state_str(pattr.state));
    d->max_wr_len = pattr.max_msg_sz < RDMA_MAX_WR ? pattr.max_msg_sz : RDMA_MAX_WR;
    d->rd_atom = (uint8_t)(dattr.max_qp_rd_atom < dattr.max_qp_init_rd_atom ? dattr.max_qp_rd_atom
                                                                             : dattr.max_qp_init_rd_atom);
    if (d->rd_atom > 4)
        d->rd_atom = 4;
    ret = pick_local_addr(d, pattr.gid_tbl_len);
    if (ret < 0)
        goto err_free;
    find_gid(d, pattr.gid_tbl_len);
    addr_str((struct sockaddr *)&d->local, a, sizeof(a));

    d->base.node_id = conf->node_id ? conf->node_id
                                    : rdma__hosts_node_of(d->hosts, d->n_hosts, (struct sockaddr *)&d->local);
    if (!d->base.node_id) {
        osci_log(OSCI_LOG_ERROR, MOD, "adapter %u: no node id: set node_id= (or OSCI_NODE_ID) or list %s in "
                 "hosts.conf", conf->adapter_no, a);
        ret = -EINVAL;
        goto err_free;
    }
    self = rdma__hosts_find(d->hosts, d->n_hosts, d->base.node_id);
    if (!self || !rdma__addr_equal((const struct sockaddr *)&self->sa, (struct sockaddr *)&d->local))
        osci_log(OSCI_LOG_WARN, MOD, "node %u (%s on %s) is not listed with that address in hosts.conf: peers will "
                 "refuse it", d->base.node_id, a, d->dev_name);
    d->one_cpu = sysconf(_SC_NPROCESSORS_ONLN) == 1;
    if (getrandom(&d->epoch, sizeof(d->epoch), 0) != sizeof(d->epoch) || !d->epoch)
        d->epoch = ((uint64_t)osci_now_ms() << 20) ^ (uint64_t)getpid() ^ 1;

    ret = -pthread_mutex_init(&d->lock, NULL);
    if (ret < 0)
        goto err_free;
    ret = -pthread_mutex_init(&d->bounce_lock, NULL);
    if (ret < 0)
        goto err_lock;
    d->pd = ibv_alloc_pd(d->ctx);
    if (!d->pd) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "%s: ibv_alloc_pd: %s", d->dev_name, strerror(-ret));
        goto err_bounce_lock;
    }
    d->cc = ibv_create_comp_channel(d->ctx);
    if (!d->cc) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "%s: ibv_create_comp_channel: %s", d->dev_name, strerror(-ret));
        goto err_pd;
    }
    d->ch = rdma_create_event_channel();
    if (!d->ch) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "rdma_create_event_channel: %s", strerror(-ret));
        goto err_cc;
    }
    if (rdma_create_id(d->ch, &d->listen_id, NULL, RDMA_PS_TCP) != 0) {
        ret = -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "rdma_create_id: %s", strerror(errno));
        goto err_ch;
    }
    la = d->local;
    set_port(&la, d->o.listen);
    if (rdma_bind_addr(d->listen_id, (struct sockaddr *)&la) != 0 || rdma_listen(d->listen_id, 16) != 0) {
        ret = -errno;
        osci_log(OSCI_LOG_ERROR, MOD, "cannot listen on %s port %u: %s", a, d->o.listen, strerror(errno));
        goto err_listen;
    }
    d->bounce = aligned_alloc(4096, (d->o.bounce + 4095) & ~(uint64_t)4095);
    if (!d->bounce) {
        ret = -ENOMEM;
        goto err_listen;
    }
    d->bounce_mr = ibv_reg_mr(d->pd, d->bounce, d->o.bounce, IBV_ACCESS_LOCAL_WRITE);
    if (!d->bounce_mr) {
        ret = errno ? -errno : -ENOMEM;
        osci_log(OSCI_LOG_ERROR, MOD, "cannot register the %" PRIu64 "-byte bounce buffer: %s", d->o.bounce,
                 strerror(-ret));
        goto err_bounce;
    }
    ret = setup_fds(d);
    if (ret < 0) {
        osci_log(OSCI_LOG_ERROR, MOD, "event fd setup: %s", strerror(-ret));
        goto err_fds;
    }
    osci_log(OSCI_LOG_INFO, MOD, "adapter %u: node %u on %s port %u, %s:%u, epoch %016" PRIx64, conf->adapter_no,
             d->base.node_id, d->dev_name, d->o.port, a, d->o.listen, d->epoch);
    /* Introspection only: without the file the node runs, and observers see no node here. */
    if (rdma__pub_name(d->dev_name, d->o.port, d->o.listen, d->pub_name, sizeof(d->pub_name)) < 0 ||
        rdma__pub_create(d->pub_name, (int32_t)getpid(), d->base.node_id, d->epoch, &d->pub, err,
                         sizeof(err)) < 0) {
        osci_log(OSCI_LOG_WARN, MOD, "adapter %u: no publish file for osci-seginfo: %s", conf->adapter_no,
                 err[0] ? err : "name too long");
        d->pub = NULL;
    }
    pthread_mutex_lock(&d->lock);
    for (unsigned int i = 0; i < d->n_hosts; i++)   /* lower ids connect to us first */
        if (d->hosts[i].node_id < d->base.node_id)
            rd_peer_schedule_retry(d, d->hosts[i].node_id, d->o.retry_ms);
    rd_housekeeping(d);             /* first connection attempts */
    rd_pub_peers(d);
    pthread_mutex_unlock(&d->lock);
    free(hosts);
    *drv_p = &d->base;
    return 0;

err_fds:
    close_fds(d);
    ibv_dereg_mr(d->bounce_mr);
err_bounce:
    free(d->bounce);
err_listen:
    rdma_destroy_id(d->listen_id);
err_ch:
    rdma_destroy_event_channel(d->ch);
err_cc:
    ibv_destroy_comp_channel(d->cc);
err_pd:
    ibv_dealloc_pd(d->pd);
err_bounce_lock:
    pthread_mutex_destroy(&d->bounce_lock);
err_lock:
    pthread_mutex_destroy(&d->lock);
err_free:
    free(hosts);
    free(d);
    return ret;
}

static void rdma_close(struct osci_drv *drv)
{
    struct rdma_drv *d = to_rdma(drv);
    struct rdma_conn *c, *ctmp;
    struct osci_drv_mem *m, *mtmp;

    if (d->observe) {
        free(d);
        return;
    }
    if (d->pub) {
        munmap(d->pub, RDMA_PUB_SIZE);
        shm_unlink(d->pub_name);
    }
    pthread_mutex_lock(&d->lock);
    for (unsigned int i = 0; i < d->n_hosts; i++) {
        struct rdma_peer *p = &d->peer[d->hosts[i].node_id];
        if (p->conn)
            rd_conn_fail(d, p->conn, WHY_LOCAL);
    }
    rd_zombies_reap(d);             /* peers get a DREQ now (destroying an established id would send one anyway) */
    osci_list_for_each_safe(c, ctmp, &d->zombies, zombie_link) {
        if (c->refs)
            osci_log(OSCI_LOG_ERROR, MOD, "close: node %u connection still used by %u call(s)", c->node, c->refs);
        osci_list_del(&c->zombie_link);
        rd_conn_free(c);
    }
    osci_list_for_each_safe(m, mtmp, &d->exports, link) {
        osci_log(OSCI_LOG_WARN, MOD, "close: export of %zu bytes was not unexported", m->size);
        osci_list_del(&m->link);
        rd_mem_free(m);
    }
    pthread_mutex_unlock(&d->lock);
    close_fds(d);
    ibv_dereg_mr(d->bounce_mr);
    free(d->bounce);
    rdma_destroy_id(d->listen_id);
    rdma_destroy_event_channel(d->ch);
    ibv_destroy_comp_channel(d->cc);
    ibv_dealloc_pd(d->pd);
    pthread_mutex_destroy(&d->bounce_lock);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

const struct osci_drv_ops osci_rdma_ops = {
    .size = sizeof(struct osci_drv_ops),
    .name = "rdma",
    .open = rdma_open,
    .close = rdma_close,
    .query = rd_query,
    .event_fd = rd_event_fd,
    .arm = rd_arm,
    .progress = rd_progress,
    .peers = rd_peers,
    .msg_send = rd_msg_send,
    .db_ring = rd_db_ring,
    .db_set_event_mask = rd_db_set_event_mask,
    .mem_export = rd_mem_export,
    .mem_unexport = rd_mem_unexport,
    .mem_pack = rd_mem_pack,
    .rmem_import = rd_rmem_import,
    .rmem_release = rd_rmem_release,
    .put = rd_put,
    .get = rd_get,
    .db_poll = rd_db_poll,
    .probe = rd_probe,
    .info_publish = rd_info_publish,
    .info_read = rd_info_read,
    .inject = rd_inject,
    .flush = rd_flush,
};
