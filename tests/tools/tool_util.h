/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Helpers for the tool tests: find the built binaries, run one with a timeout capturing stdout, parse JSON. */
#ifndef TOOL_UTIL_H
#define TOOL_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TU_UNUSED __attribute__((unused))

/* <build>/tests/tools/test_x -> <build>/bin/<name> */
static TU_UNUSED void tu_bin(const char *name, char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        n = 0;
    exe[n] = 0;
    char *dir = dirname(exe);    /* .../tests/tools */
    snprintf(out, len, "%s/../../bin/%s", dir, name);
}

/* A group setup's check: the built tool `name` in out (tu_bin), 0; or -1 (printed) when it is not there. */
static TU_UNUSED int tu_tool(const char *name, char *out, size_t len)
{
    tu_bin(name, out, len);
    if (access(out, X_OK)) {
        fprintf(stderr, "%s not built\n", out);
        return -1;
    }
    return 0;
}

struct tu_run {
    char *out;          /* stdout, NUL-terminated */
    size_t len;
    int status;         /* waitpid status */
    int timed_out;
};

static TU_UNUSED int tu_exit_code(const struct tu_run *r)
{
    return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128 + (WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0);
}

static TU_UNUSED void tu_run_free(struct tu_run *r)
{
    free(r->out);
    r->out = NULL;
}

/* Starts argv with stdout (and stderr too when tu_merge_stderr is set) on a pipe (read end in *fd_p). */
static int tu_merge_stderr;

static TU_UNUSED pid_t tu_spawn(char *const argv[], int *fd_p)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        if (tu_merge_stderr)
            dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    *fd_p = p[0];
    return pid;
}

/* Reads fd to EOF or the deadline (ms since the epoch of CLOCK_MONOTONIC); returns -1 on timeout. */
static TU_UNUSED int tu_read_all(int fd, char **buf_p, size_t *len_p, long timeout_ms)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    struct timespec t0, t;
    int rc = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (el >= timeout_ms) {
            rc = -1;
            break;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, (int)(timeout_ms - el)) <= 0)
            continue;
        if (len + 1024 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    *buf_p = buf;
    *len_p = len;
    return rc;
}

static TU_UNUSED int tu_run(char *const argv[], long timeout_ms, struct tu_run *r)
{
    int fd;
    memset(r, 0, sizeof(*r));
    pid_t pid = tu_spawn(argv, &fd);
    if (pid < 0)
        return -1;
    if (tu_read_all(fd, &r->out, &r->len, timeout_ms)) {
        r->timed_out = 1;
        kill(pid, SIGKILL);
    }
    close(fd);
    waitpid(pid, &r->status, 0);
    return 0;
}

/* tu_run that must start and end within timeout_ms (the test fails otherwise): the exit code. */
static TU_UNUSED int tu_run_code(char *const argv[], long timeout_ms, struct tu_run *r)
{
    assert_int_equal(tu_run(argv, timeout_ms, r), 0);
    assert_false(r->timed_out);
    return tu_exit_code(r);
}

/* tu_run with stderr in r->out after (or among) stdout: for messages on stderr. */
static TU_UNUSED int tu_run_merged(char *const argv[], long timeout_ms, struct tu_run *r)
{
    tu_merge_stderr = 1;
    int rc = tu_run(argv, timeout_ms, r);
    tu_merge_stderr = 0;
    return rc;
}

/* ---- a small JSON parser (enough to check the tools' output strictly) ---- */
enum tu_jt { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ };
struct tu_json {
    enum tu_jt t;
    double num;
    int b;
    char *str;                    /* TJ_STR */
    struct tu_json **items;       /* TJ_ARR values, TJ_OBJ values */
    char **keys;                  /* TJ_OBJ */
    size_t n;
};

static const char *tj_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static struct tu_json *tj_value(const char **pp, int depth);

static char *tj_string(const char **pp)
{
    const char *p = *pp;
    size_t cap = 16, len = 0;
    char *s;
    if (*p != '"')
        return NULL;
    s = malloc(cap);
    for (p++; *p && *p != '"'; p++) {
        char ch = *p;
        if ((unsigned char)ch < 0x20)
            goto bad;
        if (ch == '\\') {
            p++;
            switch (*p) {
            case '"': case '\\': case '/': ch = *p; break;
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'u':
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i]))
                        goto bad;
                ch = '?';
                p += 4;
                break;
            default: goto bad;
            }
        }
        if (len + 2 > cap)
            s = realloc(s, cap *= 2);
        s[len++] = ch;
    }
    if (*p != '"')
        goto bad;
    s[len] = 0;
    *pp = p + 1;
    return s;
bad:
    free(s);
    return NULL;
}

static TU_UNUSED void tu_json_free(struct tu_json *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        tu_json_free(j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    free(j);
}

static struct tu_json *tj_container(const char **pp, int obj, int depth)
{
    struct tu_json *j = calloc(1, sizeof(*j));
    const char *p = tj_ws(*pp + 1);
    j->t = obj ? TJ_OBJ : TJ_ARR;
    if (*p == (obj ? '}' : ']')) {
        *pp = p + 1;
        return j;
    }
    for (;;) {
        char *key = NULL;
        p = tj_ws(p);
        if (obj) {
            if (!(key = tj_string(&p)))
                goto bad;
            p = tj_ws(p);
            if (*p++ != ':') {
                free(key);
                goto bad;
            }
        }
        struct tu_json *v = tj_value(&p, depth + 1);
        if (!v) {
            free(key);
            goto bad;
        }
        j->items = realloc(j->items, (j->n + 1) * sizeof(*j->items));
        if (obj)
            j->keys = realloc(j->keys, (j->n + 1) * sizeof(*j->keys));
        j->items[j->n] = v;
        if (obj)
            j->keys[j->n] = key;
        j->n++;
        p = tj_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == (obj ? '}' : ']')) {
            *pp = p + 1;
            return j;
        }
        goto bad;
    }
bad:
    tu_json_free(j);
    return NULL;
}

static struct tu_json *tj_value(const char **pp, int depth)
{
    const char *p = tj_ws(*pp);
    struct tu_json *j;
    if (depth > 32)
        return NULL;
    if (*p == '{' || *p == '[') {
        *pp = p;
        return tj_container(pp, *p == '{', depth);
    }
    j = calloc(1, sizeof(*j));
    if (*p == '"') {
        j->t = TJ_STR;
        if (!(j->str = tj_string(&p))) {
            free(j);
            return NULL;
        }
    } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
        j->t = TJ_BOOL;
        j->b = *p == 't';
        p += j->b ? 4 : 5;
    } else if (!strncmp(p, "null", 4)) {
        j->t = TJ_NULL;
        p += 4;
    } else if (*p == '-' || isdigit((unsigned char)*p)) {
        char *end;
        j->t = TJ_NUM;
        j->num = strtod(p, &end);
        if (end == p) {
            free(j);
            return NULL;
        }
        p = end;
    } else {
        free(j);
        return NULL;
    }
    *pp = p;
    return j;
}

/* The whole text must be one JSON value. */
static TU_UNUSED struct tu_json *tu_json_parse(const char *text)
{
    const char *p = text;
    struct tu_json *j = tj_value(&p, 0);
    if (j && *tj_ws(p)) {
        tu_json_free(j);
        return NULL;
    }
    return j;
}

/* The JSON value a tool printed: the test fails (showing the text) when it is not one. */
static TU_UNUSED struct tu_json *tu_json_of(const char *out)
{
    struct tu_json *j = tu_json_parse(out);
    if (!j)
        fprintf(stderr, "not JSON:\n%s\n", out);
    assert_non_null(j);
    return j;
}

static TU_UNUSED struct tu_json *tu_get(const struct tu_json *j, const char *key)
{
    if (!j || j->t != TJ_OBJ)
        return NULL;
    for (size_t i = 0; i < j->n; i++)
        if (!strcmp(j->keys[i], key))
            return j->items[i];
    return NULL;
}

static TU_UNUSED const char *tu_str(const struct tu_json *j, const char *key)
{
    const struct tu_json *v = tu_get(j, key);
    return v && v->t == TJ_STR ? v->str : NULL;
}

/* NAN-free: returns -1 when the key is missing or not a number. */
static TU_UNUSED double tu_num(const struct tu_json *j, const char *key)
{
    const struct tu_json *v = tu_get(j, key);
    return v && v->t == TJ_NUM ? v->num : -1;
}

#endif
