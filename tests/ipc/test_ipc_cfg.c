/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* NvSciIpc configuration: both formats, every refusal (file, line, reason), Init/Open errors, backends that are
 * not supported yet, version checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ipc_internal.h"
#include "../common/osci_test.h"

static char tmp_path[64], conf_path[64];

/* text in a new file /tmp/osci-<tag>-XXXXXX (its name in path) that the environment variable env names. */
static void write_tmp(char *path, size_t len, const char *tag, const char *env, const char *text)
{
    int fd;
    snprintf(path, len, "/tmp/osci-%s-%s", tag, "XX" "XX" "XX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv(env, path, 1);
}

static void write_file(const char *text)
{
    write_tmp(tmp_path, sizeof(tmp_path), "ipc-cfg", "NVSCIIPC_CFG", text);
}

static void write_conf(const char *text)
{
    write_tmp(conf_path, sizeof(conf_path), "ipccfg-conf", "OSCI_CONF", text);
}

static int teardown(void **state)
{
    (void)state;
    if (tmp_path[0]) unlink(tmp_path);
    tmp_path[0] = '\0';
    while (1) {   /* balance any Init a failed test left */
        NvSciIpcEndpoint h;
        if (NvSciIpcOpenEndpoint("x", &h) == NvSciError_NotInitialized) break;
        NvSciIpcDeinit();
    }
    return 0;
}

static int conf_teardown(void **state)
{
    if (conf_path[0]) unlink(conf_path);
    conf_path[0] = '\0';
    unsetenv("OSCI_CONF");
    return teardown(state);
}

static int parse(const char *text, struct ipc_cfg *cfg, char *err)
{
    return ipc__cfg_parse(text, strlen(text), "t.cfg", cfg, err, 256);
}

/* Loads the file at path: in the given format version, with n endpoints. */
static void load(const char *path, struct ipc_cfg *cfg, int version, size_t n)
{
    assert_int_equal(ipc__cfg_load(path, cfg), 0);
    assert_int_equal(cfg->version, version);
    assert_int_equal(cfg->n, n);
}

static void test_nvidia_shape(void **state)
{
    struct ipc_cfg cfg;
    const struct ipc_cfg_ep *e;
    (void)state;
    load("tests/ipc/nvidia_x86.cfg", &cfg, 1, 14);
    e = ipc__cfg_find(&cfg, "ipc_test_1");
    assert_non_null(e);
    assert_int_equal(e->backend, IPC_BE_PROCESS);
    assert_string_equal(e->peer_name, "ipc_test_0");
    assert_int_equal(e->side, 1);
    assert_int_equal(e->nframes, 64);
    assert_int_equal(e->frame_size, 1536);
    assert_int_equal(e->gid, 30000);
    e = ipc__cfg_find(&cfg, "itc_test_0");
    assert_int_equal(e->backend, IPC_BE_THREAD);
    assert_int_equal(e->gid, 30004);
    assert_int_equal(e->side, 0);
    e = ipc__cfg_find(&cfg, "nvscic2c_pcie_s0_c5_1");
    assert_int_equal(e->backend, IPC_BE_CHIP);
    assert_int_equal(e->xfer_role, 0);
    assert_int_equal(e->device_id, 0);
    assert_int_equal(e->gid, 36000);
    assert_int_equal(e->nframes, IPC_CHIP_DEFAULT_NFRAMES);
    assert_int_equal(e->frame_size, IPC_CHIP_DEFAULT_FRAME_SIZE);
    assert_int_equal(e->peer_node, 0);
    e = ipc__cfg_find(&cfg, "nvscic2c_pcie_s0_c6_1");
    assert_int_equal(e->xfer_role, 1);
    assert_int_equal(e->device_id, 5);
    assert_int_equal(e->peer_node, 2);
    assert_int_equal(e->nframes, 16);
    assert_int_equal(e->frame_size, 4096);
    e = ipc__cfg_find(&cfg, "loopback_vm_0");
    assert_int_equal(e->backend, IPC_BE_VM);
    assert_int_equal(e->backend_info, 12);
    assert_null(ipc__cfg_find(&cfg, "nothing"));
    ipc__cfg_free(&cfg);
}

static void test_seed_format(void **state)
{
    struct ipc_cfg cfg;
    const struct ipc_cfg_ep *e;
    (void)state;
    load("tests/ipc/seed_plain.cfg", &cfg, 0, 5);
    e = ipc__cfg_find(&cfg, "seed_itc_1");
    assert_int_equal(e->gid, IPC_GID_NONE);
    assert_int_equal(e->nframes, 32);
    assert_int_equal(e->frame_size, 128);
    e = ipc__cfg_find(&cfg, "seed_c2c_0");
    assert_int_equal(e->device_id, 3);   /* old format: the device number itself */
    ipc__cfg_free(&cfg);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *text, *reason;
    } cases[] = {
        { "INTER_PROCESS a b 64 100\n", "t.cfg:1: frame_size '100' must be a nonzero multiple of 64" },
        { "#x\nINTER_PROCESS a b 64 0\n", "t.cfg:2: frame_size '0'" },
        { "INTER_PROCESS a b 0 64\n", "t.cfg:1: nframes '0'" },
        { "INTER_PROCESS a b -1 64\n", "t.cfg:1: nframes '-1'" },
        { "INTER_PROCESS a b 99999999999 64\n", "t.cfg:1: nframes" },
        { "INTER_PROCESS a b 64\n", "t.cfg:1: INTER_PROCESS needs" },
        { "INTER_PROCESS a b 64 64 1 2\n", "t.cfg:1: INTER_PROCESS needs" },
        { "INTER_THREAD a a 64 64\n", "t.cfg:1: both ends are named 'a'" },
        { "INTER_THREAD a b 1 64\nINTER_PROCESS c a 1 64\n", "t.cfg:2: endpoint 'a' already defined on line 1" },
        { "INTER_THREAD a b 1 64 x\n", "t.cfg:1: gid 'x'" },
        { "INTER_FOO a b 1 64\n", "t.cfg:1: unknown backend 'INTER_FOO'" },
        { "INTER_THREAD a0123456789012345678901234567890123456789012345678901234567890123 b 1 64\n",
          "t.cfg:1: endpoint name" },
        { "#CFGVER:1\nINTER_CHIP c 12345 36000\n", "t.cfg:2: INTER_CHIP backend info must be four digits" },
        { "INTER_CHIP c\n", "t.cfg:1: INTER_CHIP needs" },
        { "INTER_CHIP c 1 2 bogus=1\n", "t.cfg:1: unexpected field 'bogus=1'" },
        { "INTER_CHIP c 1 frame_size=100\n", "t.cfg:1: frame_size '100'" },
        { "INTER_VM v x\n", "t.cfg:1: backend info 'x'" },
        { "#CFGVER:2\n", "t.cfg:1: unsupported #CFGVER:2" },
        { "INTER_PROCESS a b 65536 8192\n", "t.cfg:1: channel of 65536 frames" },
        { "#CFGVER:1\n#\nINTER_CHIP c 0000 36000 peer=0\n", "t.cfg:3: peer='0' is not a node id in 1..255" },
        { "INTER_CHIP c 1 peer=256\n", "t.cfg:1: peer='256' is not a node id in 1..255" },
        { "INTER_CHIP c 1 peer=x\n", "t.cfg:1: peer='x' is not a node id in 1..255" },
        { "INTER_CHIP c 1 peer=2 peer=3\n", "t.cfg:1: unexpected field 'peer=3'" },
        { "INTER_CHIP c 1 nframes=0\n", "t.cfg:1: nframes '0'" },
        { "INTER_CHIP c 1 nframes=65537\n", "t.cfg:1: nframes '65537'" },
        { "INTER_CHIP c 1 nframes=65536 frame_size=8192\n", "t.cfg:1: channel of 65536 frames" },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ipc_cfg cfg;
        char err[256];
        assert_int_equal(parse(cases[i].text, &cfg, err), -EINVAL);
        if (strncmp(err, cases[i].reason, strlen(cases[i].reason)) != 0)
            fail_msg("case %zu: got '%s', want '%s...'", i, err, cases[i].reason);
        assert_int_equal(cfg.n, 0);
    }
}

static void test_accepts(void **state)
{
    struct ipc_cfg cfg;
    char err[256];
    (void)state;
    /* #CFGVER after other comments, tabs and runs of spaces, CRLF, trailing comments, empty lines. */
    assert_int_equal(parse("# header\n\n  # more\n#CFGVER:1\r\nINTER_THREAD\t a \t b  2\t64  # c\r\n\n", &cfg, err), 0);
    assert_int_equal(cfg.version, 1);
    assert_int_equal(cfg.n, 2);
    assert_int_equal(ipc__cfg_find(&cfg, "b")->nframes, 2);
    ipc__cfg_free(&cfg);
    /* #CFGVER after the first entry is just a comment: the older format. */
    assert_int_equal(parse("INTER_CHIP c 7\n#CFGVER:1\n", &cfg, err), 0);
    assert_int_equal(cfg.version, 0);
    assert_int_equal(ipc__cfg_find(&cfg, "c")->device_id, 7);
    ipc__cfg_free(&cfg);
    assert_int_equal(parse("", &cfg, err), 0);
    assert_int_equal(cfg.n, 0);
}

static void test_init_errors(void **state)
{
    NvSciIpcEndpoint h;
    NvSciIpcEndpointInfo info;
    uint32_t ev;
    (void)state;
    /* Before Init */
    assert_int_equal(NvSciIpcOpenEndpoint("a", &h), NvSciError_NotInitialized);
    assert_int_equal(NvSciIpcGetEventSafe(1, &ev), NvSciError_NotInitialized);
    assert_int_equal(NvSciIpcGetEndpointInfo(1, &info), NvSciError_NotInitialized);
    NvSciIpcDeinit();   /* harmless */
    /* Malformed file: BadParameter, message names file, line and reason (on stderr). */
    write_file("#CFGVER:1\nINTER_PROCESS a b 64 65\n");
    assert_int_equal(NvSciIpcInit(), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcOpenEndpoint("a", &h), NvSciError_NotInitialized);
    unlink(tmp_path);
    /* Missing file: InvalidState. */
    setenv("NVSCIIPC_CFG", "/nonexistent/nvsciipc.cfg", 1);
    assert_int_equal(NvSciIpcInit(), NvSciError_InvalidState);
    /* Refcounted Init/Deinit. */
    write_file("#CFGVER:1\nINTER_CHIP c 0000 1\nINTER_VM v 3\n");
    write_conf("adapter 0 simntb\ninterchip 0105 peer=2\n");   /* nothing for device 0000 */
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);
    NvSciIpcDeinit();
    assert_int_equal(NvSciIpcOpenEndpoint("zz", &h), NvSciError_NoSuchEntry);
    /* INTER_CHIP without peer=<node> or mapping: refused with a message; INTER_VM without a queue table entry
     * (an "intervm 3" line): the line is ignored, the endpoint cannot be opened. */
    assert_int_equal(NvSciIpcOpenEndpoint("c", &h), NvSciError_NoSuchDevice);
    assert_int_equal(NvSciIpcOpenEndpoint("v", &h), NvSciError_NoSuchEntry);
    assert_int_equal(NvSciIpcOpenEndpoint(NULL, &h), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcOpenEndpoint("c", NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciIpcOpenEndpointWithEventService("c", &h, NULL), NvSciError_BadParameter);
    NvSciIpcDeinit();
    assert_int_equal(NvSciIpcOpenEndpoint("c", &h), NvSciError_NotInitialized);
}

/* NVIDIA's DRIVE OS 6.0.8.1 x86 file, unchanged: every line parses. */
static void test_nvidia_6081(void **state)
{
    struct ipc_cfg cfg;
    const struct ipc_cfg_ep *e;
    size_t i, chip = 0;
    (void)state;
    load("tests/ipc/nvidia_x86_6081.cfg", &cfg, 1, 19 * 2 + 32);
    for (i = 0; i < cfg.n; i++) {
        if (cfg.eps[i].backend != IPC_BE_CHIP) continue;
        chip++;
        assert_int_equal(cfg.eps[i].peer_node, 0);
        assert_int_equal(cfg.eps[i].chip_set, 0);
        assert_int_equal(cfg.eps[i].nframes, IPC_CHIP_DEFAULT_NFRAMES);
        assert_int_equal(cfg.eps[i].frame_size, IPC_CHIP_DEFAULT_FRAME_SIZE);
        assert_true(cfg.eps[i].gid >= 36000 && cfg.eps[i].gid <= 36031);
    }
    assert_int_equal(chip, 32);
    e = ipc__cfg_find(&cfg, "nvscistream_7");
    assert_int_equal(e->backend, IPC_BE_PROCESS);
    assert_string_equal(e->peer_name, "nvscistream_6");
    assert_int_equal(e->nframes, 16);
    assert_int_equal(e->frame_size, 24576);
    assert_int_equal(e->gid, 30008);
    e = ipc__cfg_find(&cfg, "nvscibuf_ipc_E_B");
    assert_int_equal(e->gid, 30017);
    e = ipc__cfg_find(&cfg, "nvscic2c_pcie_s0_c5_1");
    assert_int_equal(e->backend_info, 0);
    assert_string_equal(e->info_text, "0000");
    assert_int_equal(e->gid, 36000);
    assert_int_equal(e->line, 63);
    e = ipc__cfg_find(&cfg, "egl_nvscic2c_5_prod");
    assert_int_equal(e->backend_info, 105);
    assert_int_equal(e->xfer_role, 1);
    assert_int_equal(e->device_id, 5);
    assert_int_equal(e->adapter, 5);
    e = ipc__cfg_find(&cfg, "egl_nvscic2c_9_cons");
    assert_string_equal(e->info_text, "1009");
    assert_int_equal(e->xfer_role, 10);
    assert_int_equal(e->device_id, 9);
    assert_int_equal(e->gid, 36031);
    ipc__cfg_free(&cfg);
}

/* Routes the INTER_CHIP endpoint `name` of `text`: the result of ipc__chip_route, *out filled. */
static int route(const char *text, const char *name, struct ipc_cfg_ep *out)
{
    struct ipc_cfg cfg;
    char err[256];
    const struct ipc_cfg_ep *e;
    int ret;
    if (parse(text, &cfg, err) != 0) fail_msg("%s", err);
    e = ipc__cfg_find(&cfg, name);
    assert_non_null(e);
    *out = *e;
    ipc__cfg_free(&cfg);
    ret = ipc__chip_route(out);
    return ret;
}

/* opensci.conf's interchip lines: what the nvsciipc.cfg line does not give comes from the mapping of its
 * device number (as written); the line's peer=/nframes=/frame_size= win. */
static void test_chip_route(void **state)
{
    struct ipc_cfg_ep e;
    (void)state;
    write_conf("adapter 0 simntb\nadapter 1 simntb\n"
               "interchip 0000 adapter=1 peer=3 nframes=8 frame_size=128\n"
               "interchip 0105 peer=4\n"
               "interchip 1005 adapter=1 peer=5 frame_size=8192\n"
               "interchip 3 peer=6 nframes=16\n");
    /* NVIDIA's bare line: all from the mapping. */
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 0000 36000\n", "c", &e), 0);
    assert_int_equal(e.adapter, 1);
    assert_int_equal(e.peer_node, 3);
    assert_int_equal(e.nframes, 8);
    assert_int_equal(e.frame_size, 128);
    assert_int_equal(e.gid, 36000);
    /* The line's fields take precedence, field by field; the adapter is the mapping's. */
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 0000 peer=9 nframes=32\n", "c", &e), 0);
    assert_int_equal(e.adapter, 1);
    assert_int_equal(e.peer_node, 9);
    assert_int_equal(e.nframes, 32);
    assert_int_equal(e.frame_size, 128);
    /* Producer and consumer of device 5 are two device numbers: two nodes. Defaults fill the geometry. */
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP p 0105 36022\nINTER_CHIP q 1005 36023\n", "p", &e), 0);
    assert_int_equal(e.adapter, 0);
    assert_int_equal(e.peer_node, 4);
    assert_int_equal(e.nframes, IPC_CHIP_DEFAULT_NFRAMES);
    assert_int_equal(e.frame_size, IPC_CHIP_DEFAULT_FRAME_SIZE);
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP p 0105 36022\nINTER_CHIP q 1005 36023\n", "q", &e), 0);
    assert_int_equal(e.adapter, 1);
    assert_int_equal(e.peer_node, 5);
    assert_int_equal(e.frame_size, 8192);
    /* The older format: the device number itself. */
    assert_int_equal(route("INTER_CHIP c 3\n", "c", &e), 0);
    assert_int_equal(e.peer_node, 6);
    assert_int_equal(e.nframes, 16);
    /* No mapping: the line's peer= alone works as before mappings (adapter = device id). */
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 0107 peer=2\n", "c", &e), 0);
    assert_int_equal(e.adapter, 7);
    assert_int_equal(e.peer_node, 2);
    /* No mapping and no peer=: no such device. */
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 0106 36024\n", "c", &e), -ENODEV);
    assert_int_equal(route("INTER_CHIP c 123456\n", "c", &e), -ENODEV);
    /* The combined geometry is checked: 65536 frames of 128 bytes fit, of 8192 bytes do not. */
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 0000 nframes=65536\n", "c", &e), 0);
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 1005 nframes=65536\n", "c", &e), -EPROTO);
    /* ... also with the default: 64 frames of 8 MiB are too many */
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 0107 peer=2 frame_size=8388608\n", "c", &e), -EPROTO);
    unlink(conf_path);
    /* A malformed or missing named opensci.conf is an error, not "no mapping". */
    write_conf("interchip 0000 peer=300\n");
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 0000 peer=2\n", "c", &e), -EPROTO);
    unlink(conf_path);
    assert_int_equal(route("#CFGVER:1\nINTER_CHIP c 0000 peer=2\n", "c", &e), -EPROTO);
}

/* NvSciIpcInit takes NVIDIA's file; opening an unmapped INTER_CHIP endpoint is NoSuchDevice, and the log
 * line names the endpoint and its device number. */
static void test_nvidia_init_open(void **state)
{
    static const char *const chip[] = { "nvscic2c_pcie_s0_c5_1", "nvscic2c_pcie_s0_c6_11", "egl_nvscic2c_5_prod",
                                        "egl_nvscic2c_9_cons" };
    char log_path[64], text[4096];
    NvSciIpcEndpoint h;
    int fd, saved;
    ssize_t n;
    size_t i;
    (void)state;
    write_conf("node_id = 1\nadapter 0 simntb\n");
    setenv("NVSCIIPC_CFG", "tests/ipc/nvidia_x86_6081.cfg", 1);
    assert_int_equal(NvSciIpcInit(), NvSciError_Success);
    snprintf(log_path, sizeof(log_path), "/tmp/ipccfg-log-%s", "XX" "XX" "XX");
    fd = mkstemp(log_path);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    for (i = 0; i < sizeof(chip) / sizeof(chip[0]); i++)
        assert_int_equal(NvSciIpcOpenEndpoint(chip[i], &h), NvSciError_NoSuchDevice);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    unlink(log_path);
    assert_true(n > 0);
    text[n] = '\0';
    assert_non_null(strstr(text, "nvscic2c_pcie_s0_c5_1: INTER_CHIP device 0000 (config line 63) is not mapped"));
    assert_non_null(strstr(text, "egl_nvscic2c_9_cons: INTER_CHIP device 1009 (config line 94) is not mapped"));
    assert_non_null(strstr(text, conf_path));
    /* The file's other endpoints are unaffected. */
    assert_int_equal(NvSciIpcOpenEndpoint("nonexistent", &h), NvSciError_NoSuchEntry);
    NvSciIpcDeinit();
}

static void test_versions(void **state)
{
    bool ok = false;
    (void)state;
    assert_int_equal(NvSciIpcMajorVersion, 1);
    assert_int_equal(NvSciIpcMinorVersion, 4);
    assert_int_equal(NvSciIpcCheckVersionCompatibility(1, 4, &ok), NvSciError_Success);
    assert_true(ok);
    assert_int_equal(NvSciIpcCheckVersionCompatibility(1, 0, &ok), NvSciError_Success);
    assert_true(ok);
    assert_int_equal(NvSciIpcCheckVersionCompatibility(1, 5, &ok), NvSciError_Success);
    assert_false(ok);
    assert_int_equal(NvSciIpcCheckVersionCompatibility(2, 0, &ok), NvSciError_Success);
    assert_false(ok);
    assert_int_equal(NvSciIpcCheckVersionCompatibility(1, 0, NULL), NvSciError_BadParameter);
    assert_int_equal(NvSciEventCheckVersionCompatibility(1, 4, &ok), NvSciError_Success);
    assert_true(ok);
    assert_int_equal(NvSciEventCheckVersionCompatibility(0, 4, &ok), NvSciError_Success);
    assert_false(ok);
    assert_int_equal(NvSciEventCheckVersionCompatibility(1, 4, NULL), NvSciError_BadParameter);
    /* Exact values an application may have compiled in. */
    assert_int_equal(NvSciError_ConnectionReset, 0x1200);
    assert_int_equal(NvSciError_InsufficientMemory, 0x30);
    assert_int_equal(NvSciError_Busy, 0x202);
    assert_int_equal(NvSciError_NvSciEventEnd, 0x5FFFFFF);
    assert_int_equal(NV_SCI_IPC_EVENT_CONN_EST_ALL, 0x17);
}

OSCI_TEST_MAIN(NULL, NULL, NULL,
               cmocka_unit_test(test_nvidia_shape),
               cmocka_unit_test(test_seed_format),
               cmocka_unit_test(test_refusals),
               cmocka_unit_test(test_accepts),
               cmocka_unit_test_teardown(test_init_errors, conf_teardown),
               cmocka_unit_test(test_nvidia_6081),
               cmocka_unit_test_teardown(test_chip_route, conf_teardown),
               cmocka_unit_test_teardown(test_nvidia_init_open, conf_teardown),
               cmocka_unit_test(test_versions))
