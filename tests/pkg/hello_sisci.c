/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* A SISCI program built against an installed OpenSCI (tests/pkg/check-installed.sh): it opens the
 * embedded default fabric (simntb; OSCI_FABRIC names it) and prints this process's node id, and the
 * adapter's driver and fabric from OpenSCI's own header <opensci/osci.h>. */
#include <stdio.h>
#include <sisci_api.h>
#include <opensci/osci.h>

int main(void)
{
    sci_error_t err;
    sci_desc_t sd;
    unsigned int node = 0;

    SCIInitialize(0, &err);
    if (err != SCI_ERR_OK) {
        fprintf(stderr, "hello_sisci: SCIInitialize: 0x%x\n", (unsigned)err);
        return 1;
    }
    SCIOpen(&sd, 0, &err);
    if (err != SCI_ERR_OK) {
        fprintf(stderr, "hello_sisci: SCIOpen: 0x%x\n", (unsigned)err);
        SCITerminate();
        return 1;
    }
    SCIGetLocalNodeId(0, &node, 0, &err);
    if (err != SCI_ERR_OK || node == 0) {
        fprintf(stderr, "hello_sisci: SCIGetLocalNodeId: 0x%x (node %u)\n", (unsigned)err, node);
        SCIClose(sd, 0, &err);
        SCITerminate();
        return 1;
    }
    struct osci_adapter_info ai[4];
    unsigned int n = 0;
    int rc = osci_info_adapters(ai, 4, &n);
    if (rc < 0 || n == 0) {
        fprintf(stderr, "hello_sisci: osci_info_adapters: %s (%u adapters)\n", osci_strerror(rc), n);
        SCIClose(sd, 0, &err);
        SCITerminate();
        return 1;
    }
    printf("hello_sisci: node %u on adapter 0 (%s %s)\n", node, ai[0].driver, ai[0].name);
    SCIClose(sd, 0, &err);
    SCITerminate();
    return err == SCI_ERR_OK ? 0 : 1;
}
