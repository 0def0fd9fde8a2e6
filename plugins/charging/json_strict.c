/* json_strict.c - an RFC 8259 syntax check in one pass, without building anything (json_strict.h). */
#include "json_strict.h"

#include <stdio.h>
#include <string.h>

#include <mestys/utf8.h>

struct reader {
    const char *s;
    size_t len, pos;
    const char *error; /* the first problem, NULL while none */
};

static int fail(struct reader *r, const char *what)
{
    if (!r->error)
        r->error = what;
    return -1;
}

static void skip_space(struct reader *r)
{
    for (; r->pos < r->len; r->pos++) {
        char c = r->s[r->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
    }
}

static int peek(const struct reader *r) { return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1; }

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* \uXXXX at r->pos (after the backslash and "u"): its code unit, or -1 */
static long read_u16(struct reader *r)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_value(peek(r));
        if (d < 0)
            return fail(r, "\\u needs four hex digits");
        v = v * 16 + d;
        r->pos++;
    }
    return v;
}

/* An escape after the backslash.  Surrogates must pair, as cJSON decodes them. */
static int read_escape(struct reader *r)
{
    int c = peek(r);
    r->pos++;
    if (c >= 0 && strchr("\"\\/bfnrt", c) && c != '\0')
        return 0;
    if (c != 'u')
        return fail(r, "unknown escape in a string");
    long u = read_u16(r);
    if (u < 0)
        return -1;
    if (u == 0)
        return fail(r, "\\u0000 in a string");
    if (u >= 0xDC00 && u <= 0xDFFF)
        return fail(r, "a lone low surrogate in a string");
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (peek(r) != '\\' || r->pos + 1 >= r->len || r->s[r->pos + 1] != 'u')
            return fail(r, "a lone high surrogate in a string");
        r->pos += 2;
        long lo = read_u16(r);
        if (lo < 0)
            return -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail(r, "a high surrogate without its low surrogate");
    }
    return 0;
}

static int read_string(struct reader *r)
{
    r->pos++; /* the opening quote */
    size_t run = r->pos;
    for (;;) {
        int c = peek(r);
        if (c < 0)
            return fail(r, "a string without its closing quote");
        if (c == '"' || c == '\\') {
            if (!mst_utf8_valid(r->s + run, r->pos - run))
                return fail(r, "a string that is not UTF-8");
            r->pos++;
            if (c == '"')
                return 0;
            if (read_escape(r) < 0)
                return -1;
            run = r->pos;
            continue;
        }
        if (c < 0x20)
            return fail(r, "a control character in a string");
        r->pos++;
    }
}

static size_t read_digits(struct reader *r)
{
    size_t start = r->pos;
    while (peek(r) >= '0' && peek(r) <= '9')
        r->pos++;
    return r->pos - start;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int read_number(struct reader *r)
{
    if (peek(r) == '-')
        r->pos++;
    if (peek(r) == '0')
        r->pos++;
    else if (read_digits(r) == 0)
        return fail(r, "a number without digits");
    if (peek(r) >= '0' && peek(r) <= '9')
        return fail(r, "a number with a leading zero");
    if (peek(r) == '.') {
        r->pos++;
        if (read_digits(r) == 0)
            return fail(r, "a number without digits after its point");
    }
    if (peek(r) == 'e' || peek(r) == 'E') {
        r->pos++;
        if (peek(r) == '+' || peek(r) == '-')
            r->pos++;
        if (read_digits(r) == 0)
            return fail(r, "a number without digits in its exponent");
    }
    return 0;
}

static int read_word(struct reader *r, const char *word)
{
    size_t n = strlen(word);
    if (r->len - r->pos < n || memcmp(r->s + r->pos, word, n) != 0)
        return fail(r, "not a JSON value");
    r->pos += n;
    return 0;
}

static int read_value(struct reader *r, int depth);

/* [ value, ... ] or { "key": value, ... }, the opening bracket at r->pos */
static int read_container(struct reader *r, int depth)
{
    int object = peek(r) == '{', close = object ? '}' : ']';
    if (depth >= CHG_JSON_MAX_DEPTH)
        return fail(r, "nested too deep");
    r->pos++;
    skip_space(r);
    if (peek(r) == close) {
        r->pos++;
        return 0;
    }
    for (;;) {
        if (object) {
            if (peek(r) != '"')
                return fail(r, "an object key that is not a string");
            if (read_string(r) < 0)
                return -1;
            skip_space(r);
            if (peek(r) != ':')
                return fail(r, "no ':' after an object key");
            r->pos++;
        }
        if (read_value(r, depth + 1) < 0)
            return -1;
        skip_space(r);
        int c = peek(r);
        r->pos++;
        if (c == close)
            return 0;
        if (c != ',')
            return fail(r, object ? "no ',' or '}' after a member" : "no ',' or ']' after an element");
        skip_space(r);
    }
}

static int read_value(struct reader *r, int depth)
{
    skip_space(r);
    switch (peek(r)) {
    case '{':
    case '[': return read_container(r, depth);
    case '"': return read_string(r);
    case 't': return read_word(r, "true");
    case 'f': return read_word(r, "false");
    case 'n': return read_word(r, "null");
    case -1: return fail(r, "empty text");
    default:
        if (peek(r) == '-' || (peek(r) >= '0' && peek(r) <= '9'))
            return read_number(r);
        return fail(r, "not a JSON value");
    }
}

int chg_json_strict(const char *s, size_t len, char *why, size_t whylen)
{
    struct reader r = {.s = s, .len = len};
    if (read_value(&r, 0) == 0) {
        skip_space(&r);
        if (r.pos == len)
            return 0;
        fail(&r, "text after the JSON value");
    }
    if (whylen)
        snprintf(why, whylen, "not JSON: %s at byte %zu", r.error, r.pos > len ? len : r.pos);
    return -1;
}
