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

#endif
