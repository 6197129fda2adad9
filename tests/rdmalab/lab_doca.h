/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The doca_mmap lab programs' shared part (doca_pair.c, dmabuf_pair.c), included after lab_report.h:
 * the device with the export capability, the descriptor passed as hex in sync file "desc", and the
 * body of main around the program's run_server and run_client.
 */
#ifndef LAB_DOCA_H
#define LAB_DOCA_H

#include "doca_mmap.h"
#include "opensci/doca_osci.h"

#define DESC_MAX 1024u
#define T_MS 60000u                    /* sync waits */

static bool rdma = true;               /* export_rdma, else export_pci */
static struct doca_dev *dev;

static uint8_t pat(size_t i, int who);   /* the program's data pattern of each side */

static void lab_on_die(void)
{
}

/* Opens the first device that can export (rdma or pci). */
static void open_dev(void)
{
    struct doca_devinfo **list;
    uint32_t n = 0;
    doca_error_t e = doca_devinfo_create_list(&list, &n);

    if (e != DOCA_SUCCESS)
        die("doca_devinfo_create_list: %s", doca_error_get_name(e));
    for (uint32_t i = 0; i < n && !dev; i++) {
        uint8_t cap = 0;
        char pci[DOCA_DEVINFO_PCI_ADDR_SIZE];
        if (rdma)
            doca_osci_cap_is_export_rdma_supported(list[i], &cap);
        else
            doca_mmap_cap_is_export_pci_supported(list[i], &cap);
        if (!cap)
            continue;
        doca_devinfo_get_pci_addr_str(list[i], pci);
        if (doca_dev_open(list[i], &dev) == DOCA_SUCCESS)
            say("device %s: export_%s capable", pci, rdma ? "rdma" : "pci");
    }
    doca_devinfo_destroy_list(list);
    if (!dev)
        die("no device with the export_%s capability", rdma ? "rdma" : "pci");
}

/* The server: publishes the descriptor as hex in sync file "desc". */
static void desc_publish(const void *desc, size_t dlen)
{
    char hex[2 * DESC_MAX + 2];

    if (dlen > DESC_MAX)
        die("descriptor of %zu bytes", dlen);
    for (size_t i = 0; i < dlen; i++)
        sprintf(hex + 2 * i, "%02x", ((const uint8_t *)desc)[i]);
    sig("desc", "%s\n", hex);
}

/* The client: waits for the server's descriptor; returns its length. */
static size_t desc_receive(uint8_t desc[DESC_MAX])
{
    char hex[2 * DESC_MAX + 2];
    size_t dlen = 0;

    wait_sig("desc", T_MS, hex, sizeof(hex));
    for (; hex[2 * dlen] && hex[2 * dlen + 1] && dlen < DESC_MAX; dlen++) {
        unsigned int v;
        if (sscanf(hex + 2 * dlen, "%2x", &v) != 1)
            die("bad descriptor hex");
        desc[dlen] = (uint8_t)v;
    }
    return dlen;
}

/* The client: reads the server's whole range (pattern 0) and writes pattern 1 into its second half. */
static void read_then_write_half(struct doca_mmap *r, uint8_t *buf, size_t size, const char *from, const char *into)
{
    doca_error_t e = doca_osci_mmap_copy_from(r, 0, buf, size);
    long bad = 0;

    for (size_t i = 0; i < size; i++)
        bad += buf[i] != pat(i, 0);
    check(e == DOCA_SUCCESS && bad == 0, "copy_from: the server's %zu bytes%s (%s, %ld wrong)", size, from,
          doca_error_get_name(e), bad);
    for (size_t i = size / 2; i < size; i++)
        buf[i] = pat(i, 1);
    e = doca_osci_mmap_copy_to(r, size / 2, buf + size / 2, size / 2);
    check(e == DOCA_SUCCESS, "copy_to: %zu bytes%s (%s)", size / 2, into, doca_error_get_name(e));
}

static int run_server(void);
static int run_client(void);

/* --role, --sync and opts; open the device; the role's run; close; the counts. */
static int lab_doca_main(int argc, char **argv, const struct lab_opt *opts, const char *usage)
{
    bool server = lab_args(argc, argv, opts, usage);

    if (!sync_prefix)
        lab_usage();
    open_dev();
    if (server)
        run_server();
    else
        run_client();
    doca_dev_close(dev);
    summary();
    return n_fail ? 1 : 0;
}

#endif
