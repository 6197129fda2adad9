/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* DOCA's symbol markers (source-compatible with DOCA 2.5's doca_compat.h; OpenSCI's libopensci-buf).
 * docs/doca.md. */
#ifndef DOCA_COMPAT_H_
#define DOCA_COMPAT_H_

#ifdef __linux__
#define DOCA_EXPORTED __attribute__((visibility("default")))
#define DOCA_STABLE DOCA_EXPORTED
#define DOCA_EXPERIMENTAL __attribute__((section(".text.experimental"))) DOCA_EXPORTED
#else
#define DOCA_EXPORTED
#define DOCA_STABLE
#define DOCA_EXPERIMENTAL
#endif

#endif /* DOCA_COMPAT_H_ */
