/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* An NvSciIpc program built against an installed OpenSCI (tests/pkg/check-installed.sh): it writes a
 * configuration with one INTER_THREAD channel, names it in NVSCIIPC_CFG, opens both endpoints and checks
 * the geometry the configuration gave them. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <nvsciipc.h>

static int fail(const char *what, NvSciError e)
{
    fprintf(stderr, "hello_nvsciipc: %s: 0x%x\n", what, (unsigned)e);
    return 1;
}

int main(void)
{
    char path[] = "/tmp/hello_nvsciipc.XXXXXX";
    NvSciIpcEndpoint a = 0, b = 0;
    NvSciIpcEndpointInfo info;
    NvSciError e;
    int rc = 1;
    FILE *f;
    int fd = mkstemp(path);

    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        perror("hello_nvsciipc: mkstemp");
        return 1;
    }
    fprintf(f, "#CFGVER:1\nINTER_THREAD hello_itc_0 hello_itc_1 16 256 0\n");
    fclose(f);
    setenv("NVSCIIPC_CFG", path, 1);

    e = NvSciIpcInit();
    if (e != NvSciError_Success) {
        unlink(path);
        return fail("NvSciIpcInit", e);
    }
    if ((e = NvSciIpcOpenEndpoint("hello_itc_0", &a)) != NvSciError_Success) {
        fail("NvSciIpcOpenEndpoint hello_itc_0", e);
        goto out;
    }
    if ((e = NvSciIpcOpenEndpoint("hello_itc_1", &b)) != NvSciError_Success) {
        fail("NvSciIpcOpenEndpoint hello_itc_1", e);
        goto out;
    }
    if ((e = NvSciIpcGetEndpointInfo(a, &info)) != NvSciError_Success) {
        fail("NvSciIpcGetEndpointInfo", e);
        goto out;
    }
    if (info.nframes != 16 || info.frame_size != 256) {
        fprintf(stderr, "hello_nvsciipc: geometry %u x %u, configured 16 x 256\n", info.nframes, info.frame_size);
        goto out;
    }
    printf("hello_nvsciipc: INTER_THREAD channel open, %u frames of %u bytes\n", info.nframes, info.frame_size);
    rc = 0;
out:
    if (b)
        NvSciIpcCloseEndpoint(b);
    if (a)
        NvSciIpcCloseEndpoint(a);
    NvSciIpcDeinit();
    unlink(path);
    return rc;
}
