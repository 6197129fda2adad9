/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Fuzzes the segment-protocol decoder: arbitrary bytes either fail cleanly or decode to a message
 * that re-encodes to exactly the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seg_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seg_msg m;
    uint8_t out[OSCI_DRV_MSG_MAX];
    int n;

    if (seg_proto_decode(data, size, &m) != 0)
        return 0;
    n = seg_proto_encode(&m, out, sizeof(out));
    if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
        abort();
    if (!seg_msg_type_str(m.type))
        abort();
    return 0;
}
