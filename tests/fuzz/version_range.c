/* fuzz_version_range - semantic versions and the PGXN-style host ranges of
 * a bundle's manifest (core/semver.c).  Input: a range, a newline, then
 * versions one a line.  Checked: a bad range or version says why;
 * precedence is an order (reflexive, antisymmetric, transitive on what is
 * given); a version is in "== v", ">= v", "<= v" and never in "< v",
 * "> v" or "!= v"; a range holds a version exactly when every clause
 * does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int c)
{
    return (c > 0) - (c < 0);
}

static void against_itself(const char *v)
{
    static const char *const ops[] = {"==", ">=", "<=", "<", ">", "!="};
    for (size_t i = 0; i < 6; i++) {
        char *range = mst__xasprintf("%s %s", ops[i], v);
        struct mst__buf why = {0};
        int in = mst__range_contains(range, v, &why);
        if (in != (i < 3) || (in == 0 && !why.len))
            abort();
        mst__buf_free(&why);
        free(range);
    }
}

static void in_range(const char *range, const char *v)
{
    struct mst__buf why = {0};
    int in = mst__range_contains(range, v, &why);
    if (in < 0 || (in == 0 && !why.len))
        abort();
    struct mst__range_clause c[MST__RANGE_MAX_CLAUSES];
    int n = mst__range_parse(range, c, MST__RANGE_MAX_CLAUSES, &why);
    int all = 1;
    for (int i = 0; i < n; i++) {
        if (c[i].op == MST__RANGE_ANY)
            continue;
        char *one = mst__xasprintf("%s %s", mst__range_op_text(c[i].op), c[i].version);
        all &= mst__range_contains(one, v, &why) == 1;
        free(one);
    }
    if (n < 1 || all != in)
        abort();
    mst__buf_free(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048)
        return 0;
    char *text = mst__xstrndup((const char *)data, size);
    char *lines[9] = {0};
    size_t n = 0;
    for (char *s = text, *save = NULL, *tok; n < 9 && (tok = strtok_r(s, "\n", &save)); s = NULL)
        lines[n++] = tok;
    if (n == 0 || strlen(text) != size) {
        free(text);
        return 0;
    }
    struct mst__range_clause c[MST__RANGE_MAX_CLAUSES];
    struct mst__buf why = {0};
    int range_ok = mst__range_parse(lines[0], c, MST__RANGE_MAX_CLAUSES, &why) > 0;
    if (!range_ok && !why.len)
        abort();
    for (size_t i = 1; i < n; i++) {
        const char *a = lines[i];
        if (mst__semver_cmp(a, a) != 0)
            abort();
        if (mst__semver_valid(a)) {
            against_itself(a);
            if (range_ok)
                in_range(lines[0], a);
        }
        for (size_t j = 1; j < n; j++) {
            int ab = sign(mst__semver_cmp(a, lines[j]));
            if (ab != -sign(mst__semver_cmp(lines[j], a)))
                abort();
            for (size_t k = 1; k < n; k++)
                if (ab < 0 && mst__semver_cmp(lines[j], lines[k]) < 0 && mst__semver_cmp(a, lines[k]) >= 0)
                    abort();
        }
    }
    mst__buf_free(&why);
    free(text);
    return 0;
}
