/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Fuzzes the rdma driver's control-message header: every SEND a peer makes (a message or a doorbell)
 * lands in a receive buffer and rdma__msg_hdr_unpack() checks it against the received length.
 * Asserted: malformed input is -EPROTO (nothing else); an accepted message has exactly its payload
 * (at most OSCI_DRV_MSG_MAX bytes), an accepted doorbell no payload and a bit below OSCI_DRV_DB_COUNT,
 * and the header packs again to the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rdma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rdma_msg_hdr h;
    uint8_t again[RDMA_MSG_HDR];
    int ret = rdma__msg_hdr_unpack(data, size, &h);

    if (ret == -EPROTO)
        return 0;
    if (ret != 0 || size < RDMA_MSG_HDR || size > RDMA_MSG_BUF)
        abort();
    if (h.type == RDMA_MSG_DATA) {
        if (h.len != size - RDMA_MSG_HDR || h.len > OSCI_DRV_MSG_MAX || h.bit != 0)
            abort();
    } else if (h.type == RDMA_MSG_DOORBELL) {
        if (size != RDMA_MSG_HDR || h.len != 0 || h.bit >= OSCI_DRV_DB_COUNT)
            abort();
    } else {
        abort();
    }
    rdma__msg_hdr_pack(&h, again);
    if (memcmp(again, data, RDMA_MSG_HDR) != 0)
        abort();
    return 0;
}
