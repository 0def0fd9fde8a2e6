/* pb_internal.h - what pb.c (reading) and election.c (building, freeing,
 * comparing) share; not part of the voting_rules API. */
#ifndef VOTING_PB_INTERNAL_H
#define VOTING_PB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pb.h"

/* A growable byte buffer. */
struct pb_buf {
    char *data;
    size_t len, cap;
};
int pb_buf_putc(struct pb_buf *b, char c);
int pb_buf_put(struct pb_buf *b, const char *s, size_t n);

/* A whole non-negative amount ("120", "120.00"); 0 or MST_EINVAL. */
int pb_amount_parse(const char *s, int64_t *out);

/* The index of column `name` in a header, or -1. */
int pb_col_find(char *const *cols, size_t n, const char *name);

const char *pb_meta_find(const struct pb_election *e, const char *key);
long pb_project_find_n(const struct pb_election *e, const char *id, size_t len);

/* The take functions move the strings they are given into the election
 * (only when they return 0).  pb_meta_take: key and value.
 * pb_project_take: fields[n_project_cols], id and name pointing into them.
 * pb_ballot_take: fields[n_vote_cols] (the vote and points fields are
 * freed: the lists are kept as indices and numbers, copied). */
int pb_meta_take(struct pb_election *e, char *key, char *value);
int pb_project_take(struct pb_election *e, char **fields, int64_t cost, int id_col, int name_col);
int pb_ballot_take(struct pb_election *e, char **fields, uint32_t n, const uint32_t *projects,
                   const int64_t *points, int vote_col, int points_col);

#endif
