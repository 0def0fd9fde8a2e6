/* util.h - small helpers the core shares: allocation that cannot fail
 * silently, a growable buffer, and file-system paths. */
#ifndef MST__UTIL_H
#define MST__UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *mst__xmalloc(size_t n);
void *mst__xcalloc(size_t n, size_t size);
void *mst__xrealloc(void *p, size_t n);
char *mst__xstrdup(const char *s);
char *mst__xstrndup(const char *s, size_t n);
char *mst__xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer; data is always NUL-terminated. */
struct mst__buf {
    char *data;
    size_t len;
    size_t cap;
};

void mst__buf_reserve(struct mst__buf *b, size_t extra);
void mst__buf_append(struct mst__buf *b, const void *data, size_t len);
void mst__buf_puts(struct mst__buf *b, const char *s);
void mst__buf_printf(struct mst__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mst__buf_vprintf(struct mst__buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included. */
void mst__buf_json_string(struct mst__buf *b, const char *s);
/* The same for len bytes that may hold NUL (written as \u0000). */
void mst__buf_json_stringn(struct mst__buf *b, const char *s, size_t len);
void mst__buf_free(struct mst__buf *b);
/* Appends s percent-encoded: every byte but [A-Za-z0-9-._~] and those in
 * `keep` (e.g. "/" for a path) as %XX. */
void mst__buf_percent_encode(struct mst__buf *b, const char *s, const char *keep);
/* The value of a hexadecimal digit (either case), -1 if c is none. */
int mst__hex_value(int c);

/* The MST_E* code for an errno value (EACCES is MST_EPERM: the system's
 * refusal, not the bus ACL's MST_EACCES). */
int mst__errno_code(int err);
/* mkdir -p; 0, or a negative MST_E* code with errno saying why (also when
 * the path exists but is not a folder). */
int mst__mkdirs(const char *path, unsigned mode);
/* Reads a whole file; NULL with errno set on failure. */
char *mst__read_file(const char *path, size_t *len);
char *mst__path_join(const char *dir, const char *name);
/* The directory part of a path ("." if none); free with free(). */
char *mst__dirname(const char *path);
int mst__ends_with(const char *s, const char *suffix);

/* A name safe for URLs and directories: [A-Za-z0-9_-], 1..64 chars. */
int mst__valid_name(const char *s);

uint64_t mst__now_ns(void);

#endif
