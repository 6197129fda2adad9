/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Option value parsing shared by the drivers (simntb window and hb_timeout, rdma sizes and counts). */
#include <errno.h>

#include "osci_parse.h"

int osci_parse_size(const char *s, uint64_t max, uint64_t *v_p)
{
    uint64_t v = 0, mul = 1;
    const char *p = s;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p) {
        switch (*p) {
        case 'k': case 'K': mul = 1ull << 10; break;
        case 'm': case 'M': mul = 1ull << 20; break;
        case 'g': case 'G': mul = 1ull << 30; break;
        default: return -EINVAL;
        }
        if (p[1])
            return -EINVAL;
    }
    if (v > max / mul)
        return -EINVAL;
    *v_p = v * mul;
    return 0;
}
