/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Fuzzes the rdma driver's transport bytes: the packed description of exported memory that a peer
 * sends and rmem_import() unpacks (rdma__xport_unpack), then the transfer splitting that put/get run
 * over what it accepted (rdma__piece, the rkey of each piece's chunk).
 * Asserted: a wrong length is -EINVAL and any other malformed input -EPROTO (nothing else); an accepted
 * description is self-consistent (chunk a power of two in 4K..1G, ceil(size/chunk) chunks, no address
 * overflow), packs again to exactly the same bytes, and every piece of a transfer stays inside one
 * chunk whose rkey exists.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rdma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splits [roff, roff + len) as put/get do, checking every piece. */
static void walk(const struct rdma_xport *x, uint64_t roff, uint64_t len, uint64_t max_wr)
{
    uint64_t done = 0, pieces = 0;

    if (roff > x->size || len > x->size - roff)
        return;                          /* rmem_check() refuses it with -ERANGE */
    if (max_wr && len / max_wr > 1024)
        max_wr = len / 1024 + 1;         /* a few thousand pieces at most per run */
    while (done < len) {
        uint64_t ro = roff + done, piece = rdma__piece(ro, len - done, x->chunk, max_wr);
        if (piece == 0 || piece > len - done || (max_wr && piece > max_wr))
            abort();
        if (ro / x->chunk != (ro + piece - 1) / x->chunk)
            abort();                     /* a piece crosses a chunk end */
        if (ro / x->chunk >= x->n_chunks)
            abort();                     /* it would read rkey[] past the chunks */
        done += piece;
        if (++pieces > 4 * RDMA_XPORT_MAX_CHUNKS + len / (max_wr ? max_wr : x->chunk) + 4)
            abort();                     /* no progress */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rdma_xport x;
    uint8_t again[OSCI_DRV_XPORT_MAX];
    size_t len = 0;
    int ret;

    memset(&x, 0xa5, sizeof(x));
    ret = rdma__xport_unpack(data, size, &x);
    if (size < RDMA_XPORT_HDR || size > OSCI_DRV_XPORT_MAX) {
        if (ret != -EINVAL)
            abort();
        return 0;
    }
    if (ret == -EPROTO)
        return 0;
    if (ret != 0)
        abort();
    if (x.n_chunks == 0 || x.n_chunks > RDMA_XPORT_MAX_CHUNKS || x.chunk < RDMA_MIN_CHUNK ||
        x.chunk > RDMA_MAX_CHUNK || (x.chunk & (x.chunk - 1)) || x.size == 0 || x.addr + x.size < x.addr ||
        rdma__n_chunks(x.size, x.chunk) != x.n_chunks)
        abort();
    if (rdma__xport_pack(&x, again, sizeof(again), &len) != 0 || len != size || memcmp(again, data, size) != 0)
        abort();
    /* the whole region, its last byte, and a range from the input's last bytes, with and without a
     * work-request limit */
    walk(&x, 0, x.size, 0);
    walk(&x, 0, x.size, 1u << 20);
    walk(&x, x.size - 1, 1, 0);
    walk(&x, x.rkey[0] % x.size, x.size - x.rkey[0] % x.size, 4096);
    return 0;
}
