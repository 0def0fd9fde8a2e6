/* jsonpos.h - where each cJSON node came from in its source text.
 *
 * cJSON keeps no source positions, yet config errors must name line:col.
 * After cJSON has accepted a text, this walks the same text alongside the
 * tree (cJSON keeps members in document order) and remembers, for every
 * node, the offset of its value and of its key. */
#ifndef MST__JSONPOS_H
#define MST__JSONPOS_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct mst__jsonpos;

struct mst__jsonpos *mst__jsonpos_build(const char *text, size_t len, const cJSON *root);
void mst__jsonpos_free(struct mst__jsonpos *jp);

/* Line and column (1-based) of a node's key (if it has one) or value. */
int mst__jsonpos_key(const struct mst__jsonpos *jp, const cJSON *node, int *line, int *col);
int mst__jsonpos_value(const struct mst__jsonpos *jp, const cJSON *node, int *line, int *col);
/* Line and column of a byte offset. */
void mst__jsonpos_linecol(const char *text, size_t off, int *line, int *col);

/* Replaces // and block comments with spaces, keeping every newline, so
 * offsets into the result are offsets into the original.  Returns -1 with
 * *err_off set on an unterminated block comment. */
int mst__json_strip_comments(char *text, size_t len, size_t *err_off);

#endif
