#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the dma-buf life cycle with kernel dma-buf storage (libopensci-buf, tests/buf/test_doca_dmabuf.c) on a
# guest whose kernel has /dev/udmabuf: an attachment that reaches only a kernel dma-buf gets a udmabuf made
# over the buffer's memfd (its fd is a real dma-buf), CPU access is bracketed with DMA_BUF_IOCTL_SYNC; the rest
# of the life cycle as on the host. Each guest runs it on a fabric of its own.
# vmlab-timeout: 60
. "$VMLAB_LIB"
bin=$BUILD/tests/buf/test_doca_dmabuf
[ -x "$bin" ] || lab_fail "$bin not built (make O=<build> tests)"
[ -e /dev/udmabuf ] || lab_fail "no /dev/udmabuf in this guest (the 6.12 kernel has CONFIG_UDMABUF=y)"
OSCI_FABRIC="lab-dmabuf-$ROLE" "$bin" || lab_fail "test_doca_dmabuf failed"
lab_log "dma-buf life cycle with udmabuf storage passed"
