/* semver.c - Semantic Versioning 2.0.0 versions and the PGXN-style host
 * ranges a bundle's manifest declares (">= 0.1.0, < 0.2.0").  Numbers are
 * compared as digit strings, so no version overflows an integer. */
#include "bundle.h"

#include <string.h>

#include <mestys/error.h>

#define SEMVER_MAX 64

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_ident_char(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* A numeric identifier: digits, no leading zero; its length, or 0. */
static size_t numeric_len(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_digit(s[i]))
        i++;
    if (i == 0 || (i > 1 && s[0] == '0'))
        return 0;
    return i;
}

/* Dot-separated identifiers up to a stop byte; numeric ones without
 * leading zeros when `numeric_rule`.  Returns the bytes taken, 0 if bad. */
static size_t identifiers_len(const char *s, const char *stops, int numeric_rule)
{
    size_t i = 0;
    for (;;) {
        size_t start = i, all_digits = 1;
        while (s[i] && is_ident_char((unsigned char)s[i])) {
            if (!is_digit(s[i]))
                all_digits = 0;
            i++;
        }
        if (i == start)
            return 0;
        if (numeric_rule && all_digits && i - start > 1 && s[start] == '0')
            return 0;
        if (s[i] != '.')
            break;
        i++;
    }
    if (s[i] && !strchr(stops, s[i]))
        return 0;
    return i;
}

/* Splits v: the three numbers' starts and lengths, the prerelease (NULL if
 * none) and its length.  0 if v is valid semver, -1 if not. */
struct semver_parts {
    const char *num[3];
    size_t num_len[3];
    const char *pre;
    size_t pre_len;
};

static int semver_split(const char *v, struct semver_parts *p)
{
    if (!v || strlen(v) > SEMVER_MAX)
        return -1;
    const char *s = v;
    for (int i = 0; i < 3; i++) {
        size_t n = numeric_len(s, strlen(s));
        if (!n)
            return -1;
        p->num[i] = s;
        p->num_len[i] = n;
        s += n;
        if (i < 2 && *s++ != '.')
            return -1;
    }
    p->pre = NULL;
    p->pre_len = 0;
    if (*s == '-') {
        size_t n = identifiers_len(s + 1, "+", 1);
        if (!n)
            return -1;
        p->pre = s + 1;
        p->pre_len = n;
        s += 1 + n;
    }
    if (*s == '+') {
        size_t n = identifiers_len(s + 1, "", 0);
        if (!n)
            return -1;
        s += 1 + n;
    }
    return *s ? -1 : 0;
}

int mst__semver_valid(const char *v)
{
    struct semver_parts p;
    return semver_split(v, &p) == 0;
}

/* Two digit strings without leading zeros: the longer is bigger. */
static int cmp_numeric(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return an < bn ? -1 : 1;
    int c = memcmp(a, b, an);
    return c < 0 ? -1 : c > 0;
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c < 0 ? -1 : 1;
    return an == bn ? 0 : an < bn ? -1 : 1;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* semver §11.4: identifier by identifier; numeric below alphanumeric; a
 * shorter list below a longer one that it starts. */
static int cmp_prerelease(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    while (i < an && j < bn) {
        size_t ie = i, je = j;
        while (ie < an && a[ie] != '.')
            ie++;
        while (je < bn && b[je] != '.')
            je++;
        int ad = all_digits(a + i, ie - i), bd = all_digits(b + j, je - j);
        int c = ad && bd ? cmp_numeric(a + i, ie - i, b + j, je - j)
                : ad != bd ? (ad ? -1 : 1)
                           : cmp_bytes(a + i, ie - i, b + j, je - j);
        if (c)
            return c;
        i = ie < an ? ie + 1 : ie;
        j = je < bn ? je + 1 : je;
    }
    return (i < an) - (j < bn);
}

int mst__semver_cmp(const char *a, const char *b)
{
    struct semver_parts pa, pb;
    int va = semver_split(a, &pa) == 0, vb = semver_split(b, &pb) == 0;
    if (!va || !vb) {
        if (va != vb)
            return va ? 1 : -1;
        int c = strcmp(a ? a : "", b ? b : "");
        return c < 0 ? -1 : c > 0;
    }
    for (int i = 0; i < 3; i++) {
        int c = cmp_numeric(pa.num[i], pa.num_len[i], pb.num[i], pb.num_len[i]);
        if (c)
            return c;
    }
    if (!pa.pre || !pb.pre)
        return (pa.pre == NULL) - (pb.pre == NULL);
    return cmp_prerelease(pa.pre, pa.pre_len, pb.pre, pb.pre_len);
}

/* --- ranges ---------------------------------------------------------------- */

static const struct {
    const char *text;
    enum mst__range_op op;
} range_ops[] = {
    /* two-byte operators first, so "<=" is not read as "<" then "=" */
    {"==", MST__RANGE_EQ}, {"!=", MST__RANGE_NE}, {"<=", MST__RANGE_LE},
    {">=", MST__RANGE_GE}, {"<", MST__RANGE_LT},  {">", MST__RANGE_GT},
};

const char *mst__range_op_text(enum mst__range_op op)
{
    for (size_t i = 0; i < sizeof range_ops / sizeof range_ops[0]; i++)
        if (range_ops[i].op == op)
            return range_ops[i].text;
    return "";
}

static const char *skip_spaces(const char *s)
{
    while (*s == ' ')
        s++;
    return s;
}

/* One clause from s up to a comma or the end; s is moved past it. */
static int clause_parse(const char **sp, struct mst__range_clause *c, struct mst__buf *why)
{
    const char *s = skip_spaces(*sp);
    c->op = MST__RANGE_GE; /* a bare version means "at least" */
    for (size_t i = 0; i < sizeof range_ops / sizeof range_ops[0]; i++) {
        size_t n = strlen(range_ops[i].text);
        if (strncmp(s, range_ops[i].text, n) == 0) {
            c->op = range_ops[i].op;
            s = skip_spaces(s + n);
            break;
        }
    }
    const char *end = s;
    while (*end && *end != ',' && *end != ' ')
        end++;
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof c->version) {
        mst__buf_printf(why, "a clause %s", n ? "has a version longer than 64 bytes"
                                                : "has no version (write e.g. \">= 0.1.0\")");
        return MST_EINVAL;
    }
    memcpy(c->version, s, n);
    c->version[n] = '\0';
    s = skip_spaces(end);
    if (*s && *s != ',') {
        mst__buf_printf(why, "\"%s\" is followed by \"%.16s\" where a comma or the end belongs",
                        c->version, s);
        return MST_EINVAL;
    }
    if (!mst__semver_valid(c->version)) {
        mst__buf_printf(why, "\"%s\" is not a semantic version (MAJOR.MINOR.PATCH)", c->version);
        return MST_EINVAL;
    }
    *sp = s;
    return 0;
}

int mst__range_parse(const char *range, struct mst__range_clause *out, size_t max, struct mst__buf *why)
{
    if (!range || !*skip_spaces(range)) {
        mst__buf_puts(why, "the range is empty (\"0\" means any version)");
        return MST_EINVAL;
    }
    if (strlen(range) > 512) {
        mst__buf_puts(why, "the range is longer than 512 bytes");
        return MST_EINVAL;
    }
    const char *any = skip_spaces(range);
    if (any[0] == '0' && !*skip_spaces(any + 1)) {
        if (max < 1)
            return MST_EINVAL;
        out[0].op = MST__RANGE_ANY;
        out[0].version[0] = '\0';
        return 1;
    }
    const char *s = range;
    size_t n = 0;
    for (;;) {
        if (n == max) {
            mst__buf_printf(why, "the range has more than %zu clauses", max);
            return MST_EINVAL;
        }
        struct mst__buf sub = {0};
        int rc = clause_parse(&s, &out[n], &sub);
        if (rc < 0) {
            mst__buf_printf(why, "range \"%s\": clause %zu: %s", range, n + 1, sub.data);
            mst__buf_free(&sub);
            return rc;
        }
        n++;
        if (!*s)
            return (int)n;
        s++; /* the comma */
    }
}

static int clause_holds(const struct mst__range_clause *c, const char *version)
{
    if (c->op == MST__RANGE_ANY)
        return 1;
    int cmp = mst__semver_cmp(version, c->version);
    switch (c->op) {
    case MST__RANGE_EQ: return cmp == 0;
    case MST__RANGE_NE: return cmp != 0;
    case MST__RANGE_LT: return cmp < 0;
    case MST__RANGE_LE: return cmp <= 0;
    case MST__RANGE_GT: return cmp > 0;
    case MST__RANGE_GE: return cmp >= 0;
    default: return 0;
    }
}

int mst__range_contains(const char *range, const char *version, struct mst__buf *why)
{
    struct mst__range_clause c[MST__RANGE_MAX_CLAUSES];
    int n = mst__range_parse(range, c, MST__RANGE_MAX_CLAUSES, why);
    if (n < 0)
        return n;
    if (!mst__semver_valid(version)) {
        mst__buf_printf(why, "\"%s\" is not a semantic version", version ? version : "");
        return MST_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        if (!clause_holds(&c[i], version)) {
            mst__buf_printf(why, "%s is outside \"%s\" (not %s %s)", version, range,
                            mst__range_op_text(c[i].op), c[i].version);
            return 0;
        }
    }
    return 1;
}
