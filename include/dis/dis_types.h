/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* OpenSCI: <dis/dis_types.h>, the path some SISCI programs include; the declarations are in <dis_types.h>. */
#include "../dis_types.h"
