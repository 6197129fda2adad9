#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Step: the conformance suites (tests/conformance/test_{drv,seg,ipc}, docs/testing.md) between the guests
# over the pcishm adapter (docs/pcishm.md): the same binaries `make check` runs on simntb, here with
# OSCI_CONF naming `adapter 0 pcishm` on the ivshmem-doorbell BAR and one side per guest (the server is
# side a, the client side b; they meet over TCP on port 18543 before every case). Cases the driver's
# capabilities rule out skip on both sides; tests/conformance/pcishm.exclude lists the rest, with
# reasons (none when it does not exist). Step 17-ivshmem-wake loads kernel/osci_ivshmem first.
# vmlab-timeout: 600
. "$VMLAB_LIB"
lab_pcishm_node
lab_conformance pcishm 18543
