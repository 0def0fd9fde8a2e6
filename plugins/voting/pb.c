/* pb.c - the pabulib .pb reader: rows of ';'-separated, CSV-quoted fields
 * in three sections, each error named by line:column. */
#include "pb.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "pb_internal.h"

/* One row as read: its fields (malloc'd) and where each starts. */
struct pb_row {
    char **f;
    size_t *col;
    size_t n, cap;
    size_t line;
};

struct pb_reader {
    const char *t;
    size_t len, pos;
    size_t line, line_start;   /* the current line (1-based) and its first byte */
    char *err;
    size_t errlen;
};

static int fail(struct pb_reader *r, size_t line, size_t col, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, r->errlen, "%zu:%zu: ", line, col);
    if (n >= 0 && (size_t)n < r->errlen) {
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return MST_EINVAL;
}

static void row_clear(struct pb_row *row)
{
    for (size_t i = 0; i < row->n; i++)
        free(row->f[i]);
    row->n = 0;
}

static void row_free(struct pb_row *row)
{
    row_clear(row);
    free(row->f);
    free(row->col);
}

static int row_push(struct pb_row *row, char *field, size_t col)
{
    if (row->n == row->cap) {
        size_t cap = row->cap ? row->cap * 2 : 8;
        char **f = realloc(row->f, cap * sizeof *f);
        if (!f)
            return MST_ENOMEM;
        row->f = f;
        size_t *c = realloc(row->col, cap * sizeof *c);
        if (!c)
            return MST_ENOMEM;
        row->col = c;
        row->cap = cap;
    }
    row->f[row->n] = field;
    row->col[row->n++] = col;
    return 0;
}

static size_t column(const struct pb_reader *r)
{
    return r->pos - r->line_start + 1;
}

static void newline(struct pb_reader *r)
{
    r->line++;
    r->line_start = r->pos;
}

/* A quoted field: from after the opening quote to the closing one, ""
 * meaning one quote; newlines inside are part of the field. */
static int quoted_field(struct pb_reader *r, struct pb_buf *b, size_t line, size_t col)
{
    for (;;) {
        if (r->pos >= r->len)
            return fail(r, line, col, "a quoted field is not closed");
        char c = r->t[r->pos++];
        if (c == '\0')
            return fail(r, r->line, column(r) - 1, "a NUL byte");
        if (c == '"') {
            if (r->pos < r->len && r->t[r->pos] == '"')
                r->pos++;
            else
                return 0;
        }
        if (pb_buf_putc(b, c))
            return MST_ENOMEM;
        if (c == '\n')
            newline(r);
    }
}

/* Is the reader at the end of a line (LF or CRLF)?  Consumes it. */
static int end_of_line(struct pb_reader *r)
{
    if (r->pos < r->len && r->t[r->pos] == '\n') {
        r->pos++;
        return 1;
    }
    if (r->pos + 1 < r->len && r->t[r->pos] == '\r' && r->t[r->pos + 1] == '\n') {
        r->pos += 2;
        return 1;
    }
    return 0;
}

/* One field and the separator after it; *last set at the end of the row. */
static int read_field(struct pb_reader *r, struct pb_row *row, int *last)
{
    struct pb_buf b = {0};
    size_t line = r->line, col = column(r);
    int rc = 0;
    if (r->pos < r->len && r->t[r->pos] == '"') {
        r->pos++;
        rc = quoted_field(r, &b, line, col);
        if (rc)
            goto out;
        /* text after the closing quote joins the field, as Python's csv
         * module (pabutools) reads it: pabulib has names like
         * "Odkupmy" i my - ... */
    }
    for (;;) {
        /* the plain run up to a separator, a line end or a NUL, at once */
        size_t from = r->pos;
        while (r->pos < r->len && !strchr(";\n\r", r->t[r->pos]))
            r->pos++;
        if (pb_buf_put(&b, r->t + from, r->pos - from)) {
            rc = MST_ENOMEM;
            goto out;
        }
        if (r->pos >= r->len) {
            *last = 1;
            break;
        }
        if (end_of_line(r)) {
            *last = 1;
            newline(r);
            break;
        }
        char c = r->t[r->pos++];
        if (c == ';')
            break;
        if (c == '\0') {
            rc = fail(r, r->line, r->pos - r->line_start, "a NUL byte");
            goto out;
        }
        if (pb_buf_putc(&b, c)) { /* a lone CR is part of the field */
            rc = MST_ENOMEM;
            goto out;
        }
    }
    if (pb_buf_putc(&b, '\0')) {
        rc = MST_ENOMEM;
        goto out;
    }
    rc = row_push(row, b.data, col);
    if (rc == 0) {
        b.data = NULL;
        row->line = line;
    }
out:
    free(b.data);
    return rc;
}

/* Reads the next row that is not blank; 1 at the end of the text. */
static int read_row(struct pb_reader *r, struct pb_row *row)
{
    for (;;) {
        row_clear(row);
        if (r->pos >= r->len)
            return 1;
        size_t line = r->line;
        int last = 0, rc;
        while (!last)
            if ((rc = read_field(r, row, &last)))
                return rc;
        row->line = line;
        if (!(row->n == 1 && row->f[0][0] == '\0'))
            return 0;
    }
}

static int is_title(const struct pb_row *row, const char *title)
{
    return row->n == 1 && strcasecmp(row->f[0], title) == 0;
}

/* A whole non-negative amount: digits, optionally ".000". */
int pb_amount_parse(const char *s, int64_t *out)
{
    int64_t v = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return MST_EINVAL;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return MST_EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (*p == '.')
        for (p++; *p == '0'; p++)
            ;
    if (*p)
        return MST_EINVAL;
    *out = v;
    return 0;
}

/* Moves the row's fields into a header, checking names are unique. */
static int take_header(struct pb_reader *r, struct pb_row *row, char ***cols, size_t *n)
{
    for (size_t i = 0; i < row->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(row->f[i], row->f[j]) == 0)
                return fail(r, row->line, row->col[i], "column \"%s\" appears twice", row->f[i]);
    *cols = malloc(row->n * sizeof **cols);
    if (!*cols)
        return MST_ENOMEM;
    memcpy(*cols, row->f, row->n * sizeof **cols);
    *n = row->n;
    row->n = 0;
    return 0;
}

static int read_meta(struct pb_reader *r, struct pb_row *row, struct pb_election *e)
{
    int rc = read_row(r, row);
    if (rc < 0)
        return rc;
    if (rc || !is_title(row, "META"))
        return fail(r, rc ? r->line : row->line, 1, "the file must start with a META section");
    if ((rc = read_row(r, row)) < 0)
        return rc;
    if (rc || row->n != 2)
        return fail(r, rc ? r->line : row->line, 1, "META needs its header line key;value");
    int have_budget = 0;
    while ((rc = read_row(r, row)) == 0 && !is_title(row, "PROJECTS")) {
        if (row->n != 2)
            return fail(r, row->line, row->n > 2 ? row->col[2] : 1,
                        "a META row is key;value (quote a value that holds ';')");
        if (pb_meta_find(e, row->f[0]))
            return fail(r, row->line, 1, "META key \"%s\" appears twice", row->f[0]);
        if (strcmp(row->f[0], "budget") == 0) {
            if (pb_amount_parse(row->f[1], &e->budget))
                return fail(r, row->line, row->col[1], "budget: a whole non-negative number, not \"%s\"",
                            row->f[1]);
            have_budget = 1;
        } else if (strcmp(row->f[0], "vote_type") == 0 && pb_vote_type_parse(row->f[1], &e->vote_type)) {
            return fail(r, row->line, row->col[1],
                        "vote_type: approval, cumulative, ordinal, scoring or choose-1, not \"%s\"", row->f[1]);
        }
        if ((rc = pb_meta_take(e, row->f[0], row->f[1])))
            return rc;
        row->n = 0;
    }
    if (rc < 0)
        return rc;
    if (rc)
        return fail(r, r->line, 1, "no PROJECTS section");
    if (!have_budget)
        return fail(r, row->line, 1, "META has no budget");
    return 0;
}

static int read_project(struct pb_reader *r, struct pb_row *row, struct pb_election *e, int id_col, int cost_col,
                        int name_col)
{
    const char *id = row->f[id_col];
    int64_t cost;
    if (row->n != e->n_project_cols)
        return fail(r, row->line, 1, "a project row has %zu fields, the header %zu", row->n, e->n_project_cols);
    if (!*id || strpbrk(id, ",;"))
        return fail(r, row->line, row->col[id_col], "project_id must be non-empty without ',' or ';'");
    if (pb_amount_parse(row->f[cost_col], &cost))
        return fail(r, row->line, row->col[cost_col], "cost: a whole non-negative number, not \"%s\"",
                    row->f[cost_col]);
    if (pb_project_find(e, id) >= 0)
        return fail(r, row->line, row->col[id_col], "project_id \"%s\" appears twice", id);
    int rc = pb_project_take(e, row->f, cost, id_col, name_col);
    if (rc == 0)
        row->n = 0;
    return rc;
}

static int read_projects(struct pb_reader *r, struct pb_row *row, struct pb_election *e)
{
    int rc = read_row(r, row);
    if (rc < 0)
        return rc;
    if (rc)
        return fail(r, r->line, 1, "PROJECTS needs a header line");
    size_t line = row->line;
    if ((rc = take_header(r, row, &e->project_cols, &e->n_project_cols)))
        return rc;
    int id_col = pb_col_find(e->project_cols, e->n_project_cols, "project_id");
    int cost_col = pb_col_find(e->project_cols, e->n_project_cols, "cost");
    int name_col = pb_col_find(e->project_cols, e->n_project_cols, "name");
    if (id_col < 0 || cost_col < 0)
        return fail(r, line, 1, "PROJECTS needs the columns project_id and cost");
    while ((rc = read_row(r, row)) == 0 && !is_title(row, "VOTES"))
        if ((rc = read_project(r, row, e, id_col, cost_col, name_col)))
            return rc;
    if (rc < 0)
        return rc;
    if (rc)
        return fail(r, r->line, 1, "no VOTES section");
    return 0;
}

/* Splits a comma-separated list in place, calling `each` for every item
 * with its column; an empty text is an empty list. */
static int split_list(struct pb_reader *r, char *text, size_t line, size_t col,
                      int (*each)(struct pb_reader *, const char *, size_t, size_t, void *), void *arg)
{
    if (!*text)
        return 0;
    char *p = text;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        int rc = each(r, p, line, col + (size_t)(p - text), arg);
        if (rc || !comma)
            return rc;
        p = comma + 1;
    }
}

/* Room for one ballot (a ballot lists each project at most once), and
 * which ballot last listed each project, so a repeat is found at once. */
struct ballot_room {
    uint32_t *projects;
    int64_t *points;
    uint32_t *seen; /* per project: 1 + the index of the last ballot naming it */
};

struct ballot_read {
    struct pb_election *e;
    struct ballot_room *room;
    size_t n, n_points;
};

static const char *trimmed(const char *s, size_t *len)
{
    while (*s == ' ')
        s++;
    *len = strlen(s);
    while (*len && s[*len - 1] == ' ')
        (*len)--;
    return s;
}

static int one_project(struct pb_reader *r, const char *item, size_t line, size_t col, void *arg)
{
    struct ballot_read *b = arg;
    size_t len;
    const char *id = trimmed(item, &len);
    long idx = pb_project_find_n(b->e, id, len);
    if (idx < 0)
        return fail(r, line, col, "the ballot names project \"%.*s\" that PROJECTS does not list", (int)len, id);
    if (b->room->seen[idx] == b->e->n_ballots + 1)
        return fail(r, line, col, "the ballot names project \"%.*s\" twice", (int)len, id);
    b->room->seen[idx] = (uint32_t)b->e->n_ballots + 1;
    b->room->projects[b->n++] = (uint32_t)idx;
    return 0;
}

static int one_point(struct pb_reader *r, const char *item, size_t line, size_t col, void *arg)
{
    struct ballot_read *b = arg;
    size_t len;
    const char *s = trimmed(item, &len);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!len || end != s + len || errno || !(isdigit((unsigned char)*s) || *s == '-'))
        return fail(r, line, col, "points: whole numbers separated by ','");
    if (b->n_points == b->n)
        return fail(r, line, col, "more points than projects on the ballot");
    b->room->points[b->n_points++] = v;
    return 0;
}

static int read_ballot(struct pb_reader *r, struct pb_row *row, struct pb_election *e, int vote_col,
                       int points_col, struct ballot_room *room)
{
    if (row->n != e->n_vote_cols)
        return fail(r, row->line, 1, "a ballot row has %zu fields, the header %zu", row->n, e->n_vote_cols);
    struct ballot_read b = {.e = e, .room = room};
    int rc = split_list(r, row->f[vote_col], row->line, row->col[vote_col], one_project, &b);
    if (rc)
        return rc;
    if (points_col >= 0) {
        if ((rc = split_list(r, row->f[points_col], row->line, row->col[points_col], one_point, &b)))
            return rc;
        if (b.n_points != b.n)
            return fail(r, row->line, row->col[points_col], "%zu points for %zu projects", b.n_points, b.n);
    }
    rc = pb_ballot_take(e, row->f, (uint32_t)b.n, room->projects, points_col >= 0 ? room->points : NULL,
                        vote_col, points_col);
    if (rc == 0)
        row->n = 0;
    return rc;
}

static int read_votes(struct pb_reader *r, struct pb_row *row, struct pb_election *e)
{
    int rc = read_row(r, row);
    if (rc < 0)
        return rc;
    if (rc)
        return fail(r, r->line, 1, "VOTES needs a header line");
    size_t line = row->line;
    if ((rc = take_header(r, row, &e->vote_cols, &e->n_vote_cols)))
        return rc;
    int id_col = pb_col_find(e->vote_cols, e->n_vote_cols, "voter_id");
    int vote_col = pb_col_find(e->vote_cols, e->n_vote_cols, "vote");
    int points_col = pb_col_find(e->vote_cols, e->n_vote_cols, "points");
    if (id_col < 0 || vote_col < 0)
        return fail(r, line, 1, "VOTES needs the columns voter_id and vote");
    if (points_col < 0 && (e->vote_type == PB_CUMULATIVE || e->vote_type == PB_SCORING))
        return fail(r, line, 1, "%s ballots need a points column", pb_vote_type_name(e->vote_type));
    struct ballot_room room = {malloc((e->n_projects + 1) * sizeof *room.projects),
                               malloc((e->n_projects + 1) * sizeof *room.points),
                               calloc(e->n_projects + 1, sizeof *room.seen)};
    if (!room.projects || !room.points || !room.seen) {
        rc = MST_ENOMEM;
        goto out;
    }
    while ((rc = read_row(r, row)) == 0) {
        if (e->n_ballots >= UINT32_MAX - 1) {
            rc = fail(r, row->line, 1, "more ballots than a count can hold");
            goto out;
        }
        if ((rc = read_ballot(r, row, e, vote_col, points_col, &room)))
            goto out;
    }
    rc = rc < 0 ? rc : 0;
out:
    free(room.projects);
    free(room.points);
    free(room.seen);
    return rc;
}

int pb_parse(const char *text, size_t len, struct pb_election *out, char *err, size_t errlen)
{
    struct pb_reader r = {.t = text, .len = len, .line = 1, .err = err, .errlen = errlen};
    struct pb_row row = {0};
    int rc;
    if (errlen)
        err[0] = '\0';
    memset(out, 0, sizeof *out);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        r.pos = r.line_start = 3;
    if ((rc = read_meta(&r, &row, out)) || (rc = read_projects(&r, &row, out)) ||
        (rc = read_votes(&r, &row, out)))
        goto out;
out:
    row_free(&row);
    if (rc) {
        if (rc == MST_ENOMEM)
            snprintf(err, errlen, "out of memory");
        pb_election_free(out);
    }
    return rc;
}
