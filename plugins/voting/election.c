/* election.c - an election in memory: building it, finding projects by id,
 * comparing and freeing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/error.h>

#include "pb.h"
#include "pb_internal.h"

#define NO_SLOT UINT32_MAX

int pb_buf_put(struct pb_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return MST_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

int pb_buf_putc(struct pb_buf *b, char c)
{
    return pb_buf_put(b, &c, 1);
}

/* Grows an array of `size`-byte items to hold one more. */
static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, c * size);
    if (!p)
        return MST_ENOMEM;
    *items = p;
    *cap = c;
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* FNV-1a: project ids are short. */
static uint64_t id_hash(const char *id, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
    return h;
}

static void slot_put(uint32_t *slots, size_t n_slots, const struct pb_project *projects, uint32_t idx)
{
    const char *id = projects[idx].id;
    size_t i = id_hash(id, strlen(id)) & (n_slots - 1);
    while (slots[i] != NO_SLOT)
        i = (i + 1) & (n_slots - 1);
    slots[i] = idx;
}

/* Keeps the table at most half full: rebuilt when projects double. */
static int index_project(struct pb_election *e, uint32_t idx)
{
    if ((idx + 1) * 2 > e->n_id_slots) {
        size_t n = e->n_id_slots ? e->n_id_slots * 2 : 32;
        uint32_t *slots = malloc(n * sizeof *slots);
        if (!slots)
            return MST_ENOMEM;
        memset(slots, 0xff, n * sizeof *slots);
        for (uint32_t i = 0; i < idx; i++)
            slot_put(slots, n, e->projects, i);
        free(e->id_slots);
        e->id_slots = slots;
        e->n_id_slots = n;
    }
    slot_put(e->id_slots, e->n_id_slots, e->projects, idx);
    return 0;
}

long pb_project_find_n(const struct pb_election *e, const char *id, size_t len)
{
    if (!e->n_id_slots)
        return -1;
    size_t i = id_hash(id, len) & (e->n_id_slots - 1);
    for (; e->id_slots[i] != NO_SLOT; i = (i + 1) & (e->n_id_slots - 1)) {
        const char *p = e->projects[e->id_slots[i]].id;
        if (strncmp(p, id, len) == 0 && p[len] == '\0')
            return e->id_slots[i];
    }
    return -1;
}

long pb_project_find(const struct pb_election *e, const char *id)
{
    return pb_project_find_n(e, id, strlen(id));
}

const char *pb_meta_find(const struct pb_election *e, const char *key)
{
    for (size_t i = 0; i < e->n_meta; i++)
        if (strcmp(e->meta[i].key, key) == 0)
            return e->meta[i].value;
    return NULL;
}

int pb_meta_take(struct pb_election *e, char *key, char *value)
{
    if (grow((void **)&e->meta, &e->cap_meta, e->n_meta, sizeof *e->meta))
        return MST_ENOMEM;
    e->meta[e->n_meta++] = (struct pb_meta){key, value};
    return 0;
}

int pb_project_take(struct pb_election *e, char **fields, int64_t cost, int id_col, int name_col)
{
    if (e->n_projects >= UINT32_MAX / 2 ||
        grow((void **)&e->projects, &e->cap_projects, e->n_projects, sizeof *e->projects))
        return MST_ENOMEM;
    char **copy = malloc(e->n_project_cols * sizeof *copy);
    if (!copy)
        return MST_ENOMEM;
    memcpy(copy, fields, e->n_project_cols * sizeof *copy);
    struct pb_project *p = &e->projects[e->n_projects];
    *p = (struct pb_project){.id = copy[id_col], .cost = cost, .name = name_col >= 0 ? copy[name_col] : NULL,
                             .fields = copy};
    if (index_project(e, (uint32_t)e->n_projects)) {
        free(copy);
        return MST_ENOMEM;
    }
    e->n_projects++;
    return 0;
}

int pb_ballot_take(struct pb_election *e, char **fields, uint32_t n, const uint32_t *projects,
                   const int64_t *points, int vote_col, int points_col)
{
    int rc = MST_ENOMEM;
    char **copy = NULL;
    struct pb_ballot b = {0};
    if (grow((void **)&e->ballots, &e->cap_ballots, e->n_ballots, sizeof *e->ballots))
        goto out;
    if (!(copy = malloc(e->n_vote_cols * sizeof *copy)) || !(b.projects = malloc((n + 1) * sizeof *b.projects)))
        goto out;
    if (points && !(b.points = malloc((n + 1) * sizeof *b.points)))
        goto out;
    memcpy(b.projects, projects, n * sizeof *projects);
    if (points)
        memcpy(b.points, points, n * sizeof *points);
    b.n = n;
    memcpy(copy, fields, e->n_vote_cols * sizeof *copy);
    free(copy[vote_col]);
    copy[vote_col] = NULL;
    if (points_col >= 0) {
        free(copy[points_col]);
        copy[points_col] = NULL;
    }
    b.fields = copy;
    int id_col = pb_col_find(e->vote_cols, e->n_vote_cols, "voter_id");
    b.voter_id = id_col >= 0 ? copy[id_col] : NULL;
    e->ballots[e->n_ballots++] = b;
    return 0;
out:
    free(copy);
    free(b.projects);
    free(b.points);
    return rc;
}

static void free_strings(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void pb_election_free(struct pb_election *e)
{
    for (size_t i = 0; i < e->n_meta; i++) {
        free(e->meta[i].key);
        free(e->meta[i].value);
    }
    free(e->meta);
    for (size_t i = 0; i < e->n_projects; i++)
        free_strings(e->projects[i].fields, e->n_project_cols);
    free(e->projects);
    for (size_t i = 0; i < e->n_ballots; i++) {
        free_strings(e->ballots[i].fields, e->n_vote_cols);
        free(e->ballots[i].projects);
        free(e->ballots[i].points);
    }
    free(e->ballots);
    free_strings(e->project_cols, e->n_project_cols);
    free_strings(e->vote_cols, e->n_vote_cols);
    free(e->id_slots);
    memset(e, 0, sizeof *e);
}

/* --- building in code ------------------------------------------------- */

static int set_cols(char ***cols, size_t *n, const char *const *names, size_t count)
{
    *cols = calloc(count, sizeof **cols);
    if (!*cols)
        return MST_ENOMEM;
    *n = count;
    for (size_t i = 0; i < count; i++)
        if (!((*cols)[i] = strdup(names[i])))
            return MST_ENOMEM;
    return 0;
}

int pb_election_init(struct pb_election *e, int64_t budget, enum pb_vote_type type)
{
    static const char *const project_cols[] = {"project_id", "cost", "name"};
    static const char *const vote_cols[] = {"voter_id", "vote", "points"};
    memset(e, 0, sizeof *e);
    if (budget < 0 || pb_vote_type_name(type) == NULL)
        return MST_EINVAL;
    e->budget = budget;
    e->vote_type = type;
    int points = type == PB_CUMULATIVE || type == PB_SCORING;
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)budget);
    int rc = set_cols(&e->project_cols, &e->n_project_cols, project_cols, 3);
    if (!rc)
        rc = set_cols(&e->vote_cols, &e->n_vote_cols, vote_cols, points ? 3 : 2);
    if (!rc)
        rc = pb_meta_set(e, "budget", num);
    if (!rc)
        rc = pb_meta_set(e, "vote_type", pb_vote_type_name(type));
    if (rc)
        pb_election_free(e);
    return rc;
}

int pb_meta_set(struct pb_election *e, const char *key, const char *value)
{
    if (!key || !*key || !value || pb_meta_find(e, key))
        return MST_EINVAL;
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v || pb_meta_take(e, k, v)) {
        free(k);
        free(v);
        return MST_ENOMEM;
    }
    return 0;
}

int pb_col_find(char *const *cols, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i], name) == 0)
            return (int)i;
    return -1;
}

int pb_project_add(struct pb_election *e, const char *id, int64_t cost, const char *name)
{
    int id_col = pb_col_find(e->project_cols, e->n_project_cols, "project_id");
    int cost_col = pb_col_find(e->project_cols, e->n_project_cols, "cost");
    int name_col = pb_col_find(e->project_cols, e->n_project_cols, "name");
    if (!id || !*id || strpbrk(id, ",;") || cost < 0 || id_col < 0 || cost_col < 0 || pb_project_find(e, id) >= 0)
        return MST_EINVAL;
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)cost);
    char **fields = calloc(e->n_project_cols, sizeof *fields);
    if (!fields)
        return MST_ENOMEM;
    fields[id_col] = strdup(id);
    fields[cost_col] = strdup(num);
    if (name_col >= 0)
        fields[name_col] = dup_or_null(name ? name : "");
    int rc = MST_ENOMEM;
    for (size_t i = 0; i < e->n_project_cols; i++)
        if (!fields[i] && !(fields[i] = strdup("")))
            goto out;
    if ((rc = pb_project_take(e, fields, cost, id_col, name_col)) == 0) {
        free(fields); /* the election holds a copy of the pointers */
        return 0;
    }
out:
    free_strings(fields, e->n_project_cols);
    return rc;
}

int pb_ballot_add(struct pb_election *e, const char *voter_id, const uint32_t *projects, const int64_t *points,
                  uint32_t n)
{
    int id_col = pb_col_find(e->vote_cols, e->n_vote_cols, "voter_id");
    int vote_col = pb_col_find(e->vote_cols, e->n_vote_cols, "vote");
    int points_col = pb_col_find(e->vote_cols, e->n_vote_cols, "points");
    if (!voter_id || id_col < 0 || vote_col < 0 || (points_col >= 0) != (points != NULL))
        return MST_EINVAL;
    for (uint32_t i = 0; i < n; i++) {
        if (projects[i] >= e->n_projects)
            return MST_EINVAL;
        for (uint32_t j = 0; j < i; j++)
            if (projects[j] == projects[i])
                return MST_EINVAL;
    }
    char **fields = calloc(e->n_vote_cols, sizeof *fields);
    if (!fields)
        return MST_ENOMEM;
    int rc = MST_ENOMEM;
    fields[id_col] = strdup(voter_id);
    for (size_t i = 0; i < e->n_vote_cols; i++)
        if (!fields[i] && !(fields[i] = strdup("")))
            goto out;
    if ((rc = pb_ballot_take(e, fields, n, projects, points, vote_col, points_col)) == 0) {
        free(fields);
        return 0;
    }
out:
    free_strings(fields, e->n_vote_cols);
    return rc;
}

/* --- comparing ------------------------------------------------------------ */

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int strings_eq(char **a, char **b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!str_eq(a[i], b[i]))
            return 0;
    return 1;
}

static int ballot_eq(const struct pb_ballot *a, const struct pb_ballot *b, size_t n_cols)
{
    if (a->n != b->n || (a->points == NULL) != (b->points == NULL) || !str_eq(a->voter_id, b->voter_id))
        return 0;
    if (memcmp(a->projects, b->projects, a->n * sizeof *a->projects))
        return 0;
    if (a->points && memcmp(a->points, b->points, a->n * sizeof *a->points))
        return 0;
    return strings_eq(a->fields, b->fields, n_cols);
}

int pb_equal(const struct pb_election *a, const struct pb_election *b)
{
    if (a->budget != b->budget || a->vote_type != b->vote_type || a->n_meta != b->n_meta ||
        a->n_project_cols != b->n_project_cols || a->n_projects != b->n_projects ||
        a->n_vote_cols != b->n_vote_cols || a->n_ballots != b->n_ballots)
        return 0;
    for (size_t i = 0; i < a->n_meta; i++)
        if (!str_eq(a->meta[i].key, b->meta[i].key) || !str_eq(a->meta[i].value, b->meta[i].value))
            return 0;
    if (!strings_eq(a->project_cols, b->project_cols, a->n_project_cols) ||
        !strings_eq(a->vote_cols, b->vote_cols, a->n_vote_cols))
        return 0;
    for (size_t i = 0; i < a->n_projects; i++)
        if (a->projects[i].cost != b->projects[i].cost ||
            !strings_eq(a->projects[i].fields, b->projects[i].fields, a->n_project_cols))
            return 0;
    for (size_t i = 0; i < a->n_ballots; i++)
        if (!ballot_eq(&a->ballots[i], &b->ballots[i], a->n_vote_cols))
            return 0;
    return 1;
}
