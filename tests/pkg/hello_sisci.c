/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* A SISCI program built against an installed OpenSCI (tests/pkg/check-installed.sh): it opens the
 * embedded default fabric (simntb; OSCI_FABRIC names it) and prints this process's node id. */
#include <stdio.h>
#include <sisci_api.h>

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
    printf("hello_sisci: node %u on adapter 0\n", node);
    SCIClose(sd, 0, &err);
    SCITerminate();
    return err == SCI_ERR_OK ? 0 : 1;
}
