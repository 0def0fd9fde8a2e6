/*
 * register_csv.c - the register of eligible voters as CSV (RFC 4180, UTF-8,
 * optional BOM, LF or CRLF), read: a header row naming the columns (`voter`
 * required; `name` and `address` optional, for the letters), then one
 * voter per row.  Pure: tests/fuzz/voting_register.c drives it directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/csv.h>

#include "voting.h"

#define MAX_VOTERS 5000000
#define MAX_FIELD 1000

/* A row's fields (at most 8 kept); -1 out of memory, 1 bad, 0 fine. */
static int row(const char *t, size_t len, size_t *pos, char *f[8], size_t *nf)
{
    int end = 0, bad = 0;
    *nf = 0;
    while (!end && !bad) {
        char *s = mst_csv_field(t, len, pos, MAX_FIELD, &end, &bad);
        if (!s)
            return -1;
        if (*nf < 8)
            f[(*nf)++] = s;
        else
            free(s);
    }
    return bad;
}

static void fields_free(char *f[8], size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        free(f[i]);
}

/* Where the header names voter, name and address (-1: absent). */
static int header(const char *t, size_t len, size_t *pos, int col[3], char *why, size_t whylen)
{
    static const char *const names[3] = {"voter", "name", "address"};
    char *f[8];
    size_t nf;
    if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        *pos = 3; /* a spreadsheet's BOM */
    int rc = row(t, len, pos, f, &nf);
    if (rc < 0)
        return MST_ENOMEM;
    for (int c = 0; c < 3; c++) {
        col[c] = -1;
        for (size_t i = 0; rc == 0 && i < nf; i++)
            if (strcmp(f[i], names[c]) == 0)
                col[c] = (int)i;
    }
    fields_free(f, nf);
    if (rc != 0 || col[0] < 0) {
        snprintf(why, whylen, "line 1: the header must name the columns, with \"voter\" among them "
                 "(voter,name,address)");
        return MST_EINVAL;
    }
    return 0;
}

int vote_register_parse(const char *text, size_t len, struct vote_voter **out, size_t *n, char *why,
                        size_t whylen)
{
    size_t pos = 0, cap = 0, line = 1, counted = 0;
    int col[3], rc = header(text, len, &pos, col, why, whylen);
    *out = NULL;
    *n = 0;
    while (rc == 0 && pos < len) {
        char *f[8];
        size_t nf;
        for (; counted < pos; counted++) /* the line the row starts on, for messages */
            line += text[counted] == '\n';
        int bad = row(text, len, &pos, f, &nf);
        if (bad < 0) {
            rc = MST_ENOMEM;
            break;
        }
        if (bad || (size_t)col[0] >= nf || !f[col[0]][0] || *n == MAX_VOTERS) {
            snprintf(why, whylen, "line %zu: %s", line, bad ? "an unclosed quote, a NUL byte or a field over "
                     "1000 bytes" : *n == MAX_VOTERS ? "more than 5,000,000 voters" : "no voter id");
            fields_free(f, nf);
            rc = MST_EINVAL;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            struct vote_voter *bigger = realloc(*out, cap * sizeof **out);
            if (!bigger) {
                fields_free(f, nf);
                rc = MST_ENOMEM;
                break;
            }
            *out = bigger;
        }
        struct vote_voter *vo = &(*out)[(*n)++];
        vo->voter = strdup(f[col[0]]);
        vo->name = strdup(col[1] >= 0 && (size_t)col[1] < nf ? f[col[1]] : "");
        vo->address = strdup(col[2] >= 0 && (size_t)col[2] < nf ? f[col[2]] : "");
        fields_free(f, nf);
        if (!vo->voter || !vo->name || !vo->address)
            rc = MST_ENOMEM;
    }
    if (rc == MST_ENOMEM)
        snprintf(why, whylen, "out of memory");
    if (rc != 0) {
        vote_register_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void vote_register_free(struct vote_voter *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].voter);
        free(v[i].name);
        free(v[i].address);
    }
    free(v);
}
