#include "jsonpos.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct slot {
    const cJSON *node;
    size_t key_off;
    size_t val_off;
    int has_key;
};

struct mst__jsonpos {
    const char *text;
    size_t len;
    struct slot *slots;
    size_t cap; /* power of two */
};

static size_t count_nodes(const cJSON *n)
{
    size_t c = 1;
    for (const cJSON *ch = n->child; ch; ch = ch->next)
        c += count_nodes(ch);
    return c;
}

static struct slot *find_slot(const struct mst__jsonpos *jp, const cJSON *node)
{
    size_t h = ((uintptr_t)node >> 4) * 0x9E3779B97F4A7C15ull;
    for (size_t i = h & (jp->cap - 1);; i = (i + 1) & (jp->cap - 1))
        if (jp->slots[i].node == node || jp->slots[i].node == NULL)
            return &jp->slots[i];
}

/* The byte at i, or NUL past the end: the walk may be led past the end
 * by text cJSON read differently, and must not read beyond it then. */
static char at(const struct mst__jsonpos *jp, size_t i)
{
    return i < jp->len ? jp->text[i] : '\0';
}

/* cJSON takes every byte up to and including the space as whitespace, not
 * only the four JSON names: a control byte elsewhere would put the walk out
 * of step with the tree. */
static int is_ws(char c)
{
    return (unsigned char)c <= ' ';
}

static void skip_ws(const struct mst__jsonpos *jp, size_t *i)
{
    while (*i < jp->len && is_ws(jp->text[*i]))
        (*i)++;
}

static void skip_string(const struct mst__jsonpos *jp, size_t *i)
{
    (*i)++; /* opening quote */
    while (*i < jp->len && jp->text[*i] != '"')
        *i += jp->text[*i] == '\\' ? 2 : 1;
    (*i)++; /* closing quote */
}

static void skip_scalar(const struct mst__jsonpos *jp, size_t *i)
{
    while (*i < jp->len && !is_ws(jp->text[*i]) && !strchr(",]}", jp->text[*i]))
        (*i)++;
}

/* The text is known to be valid JSON: cJSON parsed it.  Every read is
 * bounded all the same (see at()). */
static void walk(struct mst__jsonpos *jp, size_t *i, const cJSON *node, size_t key_off, int has_key)
{
    skip_ws(jp, i);
    struct slot *s = find_slot(jp, node);
    s->node = node;
    s->key_off = key_off < jp->len ? key_off : jp->len;
    s->has_key = has_key;
    s->val_off = *i < jp->len ? *i : jp->len;
    char c = at(jp, *i);
    if (c == '{' || c == '[') {
        (*i)++;
        for (const cJSON *ch = node->child; ch; ch = ch->next) {
            skip_ws(jp, i);
            if (at(jp, *i) == ',')
                (*i)++, skip_ws(jp, i);
            size_t k = *i;
            if (c == '{') {
                skip_string(jp, i);
                skip_ws(jp, i);
                (*i)++; /* ':' */
            }
            walk(jp, i, ch, k, c == '{');
        }
        skip_ws(jp, i);
        if (at(jp, *i) == ',')
            (*i)++;
        skip_ws(jp, i);
        (*i)++; /* closing bracket */
    } else if (c == '"') {
        skip_string(jp, i);
    } else {
        skip_scalar(jp, i);
    }
}

struct mst__jsonpos *mst__jsonpos_build(const char *text, size_t len, const cJSON *root)
{
    struct mst__jsonpos *jp = mst__xcalloc(1, sizeof *jp);
    jp->text = text;
    jp->len = len;
    size_t n = count_nodes(root) * 2;
    jp->cap = 16;
    while (jp->cap < n)
        jp->cap <<= 1;
    jp->slots = mst__xcalloc(jp->cap, sizeof *jp->slots);
    size_t i = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        i = 3; /* cJSON skips a UTF-8 byte order mark */
    walk(jp, &i, root, 0, 0);
    return jp;
}

void mst__jsonpos_free(struct mst__jsonpos *jp)
{
    if (!jp)
        return;
    free(jp->slots);
    free(jp);
}

void mst__jsonpos_linecol(const char *text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n')
            l++, c = 1;
        else if (((unsigned char)text[i] & 0xC0) != 0x80) /* count characters, not bytes */
            c++;
    }
    *line = l;
    *col = c;
}

int mst__jsonpos_value(const struct mst__jsonpos *jp, const cJSON *node, int *line, int *col)
{
    if (!jp || !node)
        return -1;
    struct slot *s = find_slot(jp, node);
    if (!s->node)
        return -1;
    mst__jsonpos_linecol(jp->text, s->val_off, line, col);
    return 0;
}

int mst__jsonpos_key(const struct mst__jsonpos *jp, const cJSON *node, int *line, int *col)
{
    if (!jp || !node)
        return -1;
    struct slot *s = find_slot(jp, node);
    if (!s->node)
        return -1;
    mst__jsonpos_linecol(jp->text, s->has_key ? s->key_off : s->val_off, line, col);
    return 0;
}

int mst__json_strip_comments(char *t, size_t len, size_t *err_off)
{
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '"') {
            for (i++; i < len && t[i] != '"'; i++)
                if (t[i] == '\\')
                    i++;
        } else if (t[i] == '/' && i + 1 < len && t[i + 1] == '/') {
            while (i < len && t[i] != '\n')
                t[i++] = ' ';
        } else if (t[i] == '/' && i + 1 < len && t[i + 1] == '*') {
            size_t start = i;
            t[i++] = ' ';
            t[i++] = ' ';
            while (i < len && !(t[i] == '*' && i + 1 < len && t[i + 1] == '/')) {
                if (t[i] != '\n')
                    t[i] = ' ';
                i++;
            }
            if (i >= len) {
                *err_off = start;
                return -1;
            }
            t[i] = ' ';
            t[i + 1] = ' ';
            i++;
        }
    }
    return 0;
}
