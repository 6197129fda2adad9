/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Marks the functions OpenSCI's libraries export (they are built with -fvisibility=hidden). */
#ifndef OPENSCI_OSCI_VISIBILITY_H
#define OPENSCI_OSCI_VISIBILITY_H

#ifndef OSCI_EXPORT
#define OSCI_EXPORT __attribute__((visibility("default")))
#endif

#endif
