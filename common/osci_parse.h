/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Parsing of option values shared by the drivers (common/osci_parse.c). */
#ifndef OSCI_PARSE_H
#define OSCI_PARSE_H

#include <stdint.h>

/* A size: decimal digits and at most one suffix k/K (2^10), m/M (2^20) or g/G (2^30), nothing else
 * ("4096", "4k", "256M", "1G"; no sign, space or "B"). 0 with *v_p set, or -EINVAL when malformed,
 * when the digits overflow or when the value exceeds max (*v_p untouched). */
int osci_parse_size(const char *s, uint64_t max, uint64_t *v_p);

#endif
