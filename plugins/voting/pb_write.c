/* pb_write.c - an election as .pb text, and the vote type names. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "pb.h"
#include "pb_internal.h"

static const char *const type_names[] = {
    [PB_APPROVAL] = "approval", [PB_CUMULATIVE] = "cumulative", [PB_ORDINAL] = "ordinal",
    [PB_SCORING] = "scoring",   [PB_CHOOSE1] = "choose-1",
};

const char *pb_vote_type_name(enum pb_vote_type t)
{
    return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t] : NULL;
}

int pb_vote_type_parse(const char *name, enum pb_vote_type *out)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(name, type_names[i]) == 0) {
            *out = (enum pb_vote_type)i;
            return 0;
        }
    return MST_EINVAL;
}

/* A field, quoted when it holds a separator, a quote, a line end, or
 * would read back as blank or as a quoted field. */
static int put_field(struct pb_buf *b, const char *s)
{
    if (!s)
        s = "";
    if (!strpbrk(s, ";\"\r\n")) {
        return pb_buf_put(b, s, strlen(s));
    }
    if (pb_buf_putc(b, '"'))
        return MST_ENOMEM;
    for (; *s; s++)
        if ((*s == '"' && pb_buf_putc(b, '"')) || pb_buf_putc(b, *s))
            return MST_ENOMEM;
    return pb_buf_putc(b, '"');
}

static int put_row(struct pb_buf *b, char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((i && pb_buf_putc(b, ';')) || put_field(b, fields[i]))
            return MST_ENOMEM;
    return pb_buf_putc(b, '\n');
}

static int put_line(struct pb_buf *b, const char *s)
{
    return pb_buf_put(b, s, strlen(s)) || pb_buf_putc(b, '\n') ? MST_ENOMEM : 0;
}

/* The vote (ids) or points list of one ballot. */
static int put_list(struct pb_buf *b, const struct pb_election *e, const struct pb_ballot *v, int points)
{
    char num[24];
    for (uint32_t i = 0; i < v->n; i++) {
        const char *s = num;
        if (points)
            snprintf(num, sizeof num, "%" PRId64, v->points[i]);
        else
            s = e->projects[v->projects[i]].id;
        if ((i && pb_buf_putc(b, ',')) || pb_buf_put(b, s, strlen(s)))
            return MST_ENOMEM;
    }
    return 0;
}

static int put_ballot(struct pb_buf *b, const struct pb_election *e, const struct pb_ballot *v)
{
    for (size_t i = 0; i < e->n_vote_cols; i++) {
        if (i && pb_buf_putc(b, ';'))
            return MST_ENOMEM;
        int rc;
        if (strcmp(e->vote_cols[i], "vote") == 0)
            rc = put_list(b, e, v, 0);
        else if (strcmp(e->vote_cols[i], "points") == 0)
            rc = v->points ? put_list(b, e, v, 1) : 0;
        else
            rc = put_field(b, v->fields[i]);
        if (rc)
            return rc;
    }
    return pb_buf_putc(b, '\n');
}

static int put_meta(struct pb_buf *b, const struct pb_election *e)
{
    if (put_line(b, "META") || put_line(b, "key;value"))
        return MST_ENOMEM;
    for (size_t i = 0; i < e->n_meta; i++) {
        char *kv[2] = {e->meta[i].key, e->meta[i].value};
        if (put_row(b, kv, 2))
            return MST_ENOMEM;
    }
    return 0;
}

char *pb_write(const struct pb_election *e, size_t *len)
{
    struct pb_buf b = {0};
    if (put_meta(&b, e) || put_line(&b, "PROJECTS") || put_row(&b, e->project_cols, e->n_project_cols))
        goto fail;
    for (size_t i = 0; i < e->n_projects; i++)
        if (put_row(&b, e->projects[i].fields, e->n_project_cols))
            goto fail;
    if (put_line(&b, "VOTES") || put_row(&b, e->vote_cols, e->n_vote_cols))
        goto fail;
    for (size_t i = 0; i < e->n_ballots; i++)
        if (put_ballot(&b, e, &e->ballots[i]))
            goto fail;
    if (pb_buf_putc(&b, '\0'))
        goto fail;
    if (len)
        *len = b.len - 1;
    return b.data;
fail:
    free(b.data);
    return NULL;
}
