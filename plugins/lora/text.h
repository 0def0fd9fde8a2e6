/* text.h - a small growable text buffer for the JSON the lora plugin
 * writes on its hot path, with appends that avoid printf where it counts. */
#ifndef LORA_TEXT_H
#define LORA_TEXT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* When memory runs out the text stops growing and `failed` is set: the
 * writer goes on and checks once at the end, instead of after each append. */
struct text {
    char *p;
    size_t len, cap;
    int failed;
};

/* Room for n more bytes and the NUL; 0, or -1 (and `failed`) if not. */
static inline int reserve(struct text *t, size_t n)
{
    if (t->failed)
        return -1;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->cap + n + 256) * 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return -1;
        }
        t->p = p;
        t->cap = cap;
    }
    return 0;
}

static inline void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    for (int tries = 0; tries < 2 && !t->failed; tries++) {
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (t->p && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        reserve(t, (size_t)n);
    }
}

/* Appends without printf: on the per-uplink path printf was a fifth of
 * the loop's time. */
static inline void put_raw(struct text *t, const char *s, size_t n)
{
    if (reserve(t, n) != 0)
        return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

#define PUT(t, lit) put_raw(t, lit, sizeof lit - 1)

static inline void put_str(struct text *t, const char *s)
{
    put_raw(t, s, strlen(s));
}

static inline void put_uint(struct text *t, uint64_t v)
{
    char buf[24];
    size_t n = sizeof buf;
    do
        buf[--n] = (char)('0' + v % 10);
    while (v /= 10);
    put_raw(t, buf + n, sizeof buf - n);
}

static inline void put_hex(struct text *t, uint64_t v, int digits)
{
    static const char hex[] = "0123456789ABCDEF";
    char buf[16];
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        buf[i] = hex[v & 15];
    put_raw(t, buf, (size_t)digits);
}

static inline void put_json_string(struct text *t, const char *s)
{
    PUT(t, "\"");
    const char *run = s;
    for (;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put_raw(t, run, (size_t)(s - run));
        if (!c)
            break;
        if (c == '"' || c == '\\')
            put(t, "\\%c", c);
        else
            put(t, "\\u%04x", c);
        run = s + 1;
    }
    PUT(t, "\"");
}

/* Records as JSON arrays, a new array begun once one passes `limit` bytes:
 * a batch of any size becomes bus messages of a bounded size (the bus
 * refuses one over bus.max_message). */
struct json_array {
    struct text text;
    size_t records;
};

struct json_arrays {
    struct json_array *v;
    size_t n, records, limit;
    int failed;
};

/* The text the next record goes in, its "[" or "," written; NULL (and
 * `failed`) when memory ran out. */
static inline struct text *json_arrays_next(struct json_arrays *a)
{
    if (a->failed)
        return NULL;
    if (!a->n || a->v[a->n - 1].text.len >= a->limit) {
        if (a->n)
            PUT(&a->v[a->n - 1].text, "]");
        struct json_array *v = realloc(a->v, (a->n + 1) * sizeof *v);
        if (!v) {
            a->failed = 1;
            return NULL;
        }
        a->v = v;
        a->v[a->n++] = (struct json_array){{0}, 0};
        PUT(&a->v[a->n - 1].text, "[");
    } else {
        PUT(&a->v[a->n - 1].text, ",");
    }
    a->v[a->n - 1].records++;
    a->records++;
    return &a->v[a->n - 1].text;
}

/* Closes the last array; `failed` if any text ran out of memory. */
static inline void json_arrays_end(struct json_arrays *a)
{
    if (a->n)
        PUT(&a->v[a->n - 1].text, "]");
    for (size_t i = 0; i < a->n; i++)
        a->failed |= a->v[i].text.failed;
}

static inline void json_arrays_free(struct json_arrays *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i].text.p);
    free(a->v);
    memset(a, 0, sizeof *a);
}

#endif
