#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mestys/error.h>

static void out_of_memory(size_t n)
{
    /* The daemon cannot keep promises about data once malloc fails; stop
     * loudly rather than limp on with half-built structures. */
    fprintf(stderr, "mestys: out of memory allocating %zu bytes\n", n);
    abort();
}

void *mst__xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *mst__xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *mst__xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *mst__xstrdup(const char *s)
{
    return mst__xstrndup(s, strlen(s));
}

char *mst__xstrndup(const char *s, size_t n)
{
    char *p = mst__xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *mst__xasprintf(const char *fmt, ...)
{
    struct mst__buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    mst__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return b.data;
}

void mst__buf_reserve(struct mst__buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = mst__xrealloc(b->data, cap);
    b->cap = cap;
}

void mst__buf_append(struct mst__buf *b, const void *data, size_t len)
{
    mst__buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void mst__buf_puts(struct mst__buf *b, const char *s)
{
    mst__buf_append(b, s, strlen(s));
}

void mst__buf_vprintf(struct mst__buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    mst__buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void mst__buf_printf(struct mst__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mst__buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void mst__buf_json_string(struct mst__buf *b, const char *s)
{
    mst__buf_json_stringn(b, s, strlen(s));
}

void mst__buf_json_stringn(struct mst__buf *b, const char *s, size_t len)
{
    mst__buf_append(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
    for (; p < end; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        mst__buf_append(b, run, (size_t)(p - run)); /* the plain stretch before it, at once */
        switch (c) {
        case '"': mst__buf_puts(b, "\\\""); break;
        case '\\': mst__buf_puts(b, "\\\\"); break;
        case '\n': mst__buf_puts(b, "\\n"); break;
        case '\r': mst__buf_puts(b, "\\r"); break;
        case '\t': mst__buf_puts(b, "\\t"); break;
        default: mst__buf_printf(b, "\\u%04x", c);
        }
        run = p + 1;
    }
    mst__buf_append(b, run, (size_t)(p - run));
    mst__buf_append(b, "\"", 1);
}

void mst__buf_free(struct mst__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int mst__errno_code(int err)
{
    switch (err) {
    case EADDRINUSE: return MST_EADDRINUSE;
    case EACCES:
    case EPERM:
    case EROFS: return MST_EPERM;
    case ENOENT:
    case ENOTDIR: return MST_ENOENT;
    case EEXIST: return MST_EEXIST;
    case ENOMEM: return MST_ENOMEM;
    default: return MST_EIO;
    }
}

int mst__mkdirs(const char *path, unsigned mode)
{
    char *p = mst__xstrdup(path);
    int err = 0;
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, mode) != 0 && errno != EEXIST) {
                err = errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    struct stat st;
    /* mkdir's EEXIST does not say the thing that exists is a folder */
    if (!err && stat(path, &st) != 0)
        err = errno;
    else if (!err && !S_ISDIR(st.st_mode))
        err = ENOTDIR;
    errno = err;
    return err ? mst__errno_code(err) : 0;
}

char *mst__read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct mst__buf b = {0};
    char chunk[8192];
    size_t n;
    errno = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        mst__buf_append(&b, chunk, n);
    int err = ferror(f) ? (errno ? errno : EIO) : 0; /* fread keeps read(2)'s reason, e.g. EISDIR */
    fclose(f);
    if (err) {
        mst__buf_free(&b);
        errno = err;
        return NULL;
    }
    if (!b.data)
        mst__buf_reserve(&b, 0), b.data[0] = '\0';
    if (len)
        *len = b.len;
    return b.data;
}

char *mst__path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !dir[0])
        return mst__xstrdup(name);
    size_t dl = strlen(dir);
    return mst__xasprintf("%s%s%s", dir, dir[dl - 1] == '/' ? "" : "/", name);
}

char *mst__dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return mst__xstrdup(".");
    if (slash == path)
        return mst__xstrdup("/");
    return mst__xstrndup(path, (size_t)(slash - path));
}

int mst__ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

void mst__buf_percent_encode(struct mst__buf *b, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p) || (keep && strchr(keep, *p)))
            mst__buf_append(b, p, 1);
        else
            mst__buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

int mst__hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int mst__valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return n >= 1 && n <= 64;
}

uint64_t mst__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
