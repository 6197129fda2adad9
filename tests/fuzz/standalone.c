/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Runs a libFuzzer-style target without libFuzzer: every seed file, then -runs=N deterministic
 * mutations of them (bit flips, truncations, splices, random bytes). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEDS 256
#define MAX_LEN 8192

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static unsigned n_seeds;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

static void load_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d)) && n_seeds < MAX_SEEDS) {
        char path[4096];
        FILE *f;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!(f = fopen(path, "rb"))) continue;
        seeds[n_seeds] = malloc(MAX_LEN);
        seed_len[n_seeds] = fread(seeds[n_seeds], 1, MAX_LEN, f);
        fclose(f);
        n_seeds++;
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    unsigned long runs = 10000;
    static uint8_t buf[MAX_LEN];
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-runs=", 6)) runs = strtoul(argv[i] + 6, NULL, 10);
        else if (argv[i][0] != '-') load_dir(argv[i]);
    }
    for (unsigned i = 0; i < n_seeds; i++) LLVMFuzzerTestOneInput(seeds[i], seed_len[i]);
    for (unsigned long r = 0; r < runs; r++) {
        size_t len;
        if (n_seeds && (next() % 8)) {
            unsigned s = next() % n_seeds;
            len = seed_len[s];
            memcpy(buf, seeds[s], len);
            unsigned muts = 1 + next() % 8;
            for (unsigned m = 0; m < muts; m++) {
                switch (next() % 5) {
                case 0: if (len) buf[next() % len] ^= (uint8_t)(1u << (next() % 8)); break;
                case 1: if (len) buf[next() % len] = (uint8_t)next(); break;
                case 2: if (len) len = next() % len; break;
                case 3: {
                    size_t add = next() % 64;
                    if (len + add > MAX_LEN)
                        add = MAX_LEN - len;
                    for (size_t k = 0; k < add; k++)
                        buf[len + k] = (uint8_t)next();
                    len += add;
                    break;
                }
                case 4:
                    if (n_seeds > 1 && len) {
                        unsigned o = next() % n_seeds;
                        size_t at = next() % len;
                        size_t n = seed_len[o] < MAX_LEN - at ? seed_len[o] : MAX_LEN - at;
                        memcpy(buf + at, seeds[o], n);
                        len = at + n;
                    }
                    break;
                }
            }
        } else {
            len = next() % 512;
            for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)next();
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("fuzz: %u seeds, %lu mutated runs, no crash\n", n_seeds, runs);
    for (unsigned i = 0; i < n_seeds; i++) free(seeds[i]);
    return 0;
}
