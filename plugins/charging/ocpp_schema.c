/* ocpp_schema.c - the OCA OCPP 1.6 JSON schemas compiled once into a tree of checks, and payloads
 * validated against it (ocpp_schema.h).  Only the keywords those schemas use are understood; a schema
 * with any other keyword, or a keyword used in a way this file does not read, is refused at load. */
#include "ocpp_schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocpp_format.h"

enum { T_NULL = 1, T_BOOLEAN = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16, T_INTEGER = 32, T_STRING = 64 };
enum chg_format { FMT_NONE, FMT_DATE_TIME, FMT_URI };

struct chg_prop;

/* One schema (or subschema) and what it requires of a value. */
struct chg_node {
    unsigned types;            /* T_* bits; 0 for any type */
    enum chg_format format;
    long max_length;           /* in code points; -1 for none */
    long min_items;            /* -1 for none */
    double multiple_of;        /* 0 for none */
    const cJSON *enum_values;  /* an array in the schema document, or NULL */
    struct chg_prop *props;
    size_t n_props;
    const cJSON *required;     /* an array of strings in the schema document, or NULL */
    int closed;                /* additionalProperties: false */
    struct chg_node *items;
    struct chg_node *ref;      /* a "$ref": this node is that one */
};

struct chg_prop {
    const char *name; /* in the schema document */
    struct chg_node *node;
};

struct chg_action {
    char name[48];
    struct chg_node *req, *conf;
};

/* A compiled definition, so every $ref to it shares one node. */
struct chg_def {
    const cJSON *schema;
    struct chg_node *node;
};

struct chg_schemas {
    cJSON *doc;                /* the schema document: names and enums point into it */
    struct chg_node **nodes;   /* every node, to free them */
    size_t n_nodes, cap_nodes;
    struct chg_action *actions;
    size_t n_actions, n_schemas;
};

/* What compiling one schema needs: where errors go, and its definitions. */
struct compiler {
    struct chg_schemas *s;
    const cJSON *root;         /* the schema being compiled (its "definitions") */
    const char *id;
    struct chg_def *defs;
    size_t n_defs;
    char *why;
    size_t whylen;
};

/* "<where>: <what>" into why, for both the loader's and the checker's messages */
static void say(char *why, size_t whylen, const char *where, const char *fmt, va_list ap)
{
    if (!whylen)
        return;
    int n = snprintf(why, whylen, "%s: ", where);
    if (n >= 0 && (size_t)n < whylen)
        vsnprintf(why + n, whylen - (size_t)n, fmt, ap);
}

static int load_error(struct compiler *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(c->why, c->whylen, c->id ? c->id : "schema", fmt, ap);
    va_end(ap);
    return -1;
}

static struct chg_node *new_node(struct compiler *c)
{
    struct chg_schemas *s = c->s;
    if (s->n_nodes == s->cap_nodes) {
        size_t cap = s->cap_nodes ? s->cap_nodes * 2 : 256;
        struct chg_node **nodes = realloc(s->nodes, cap * sizeof *nodes);
        if (!nodes)
            return NULL;
        s->nodes = nodes;
        s->cap_nodes = cap;
    }
    struct chg_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->max_length = n->min_items = -1;
    s->nodes[s->n_nodes++] = n;
    return n;
}

/* --- compiling ---------------------------------------------------------------------------------- */

static int compile(struct compiler *c, const cJSON *schema, struct chg_node *n, int is_root);

static int type_bit(const char *name, unsigned *bit)
{
    static const struct { const char *name; unsigned bit; } types[] = {
        {"null", T_NULL}, {"boolean", T_BOOLEAN}, {"object", T_OBJECT}, {"array", T_ARRAY},
        {"number", T_NUMBER}, {"integer", T_INTEGER}, {"string", T_STRING}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(name, types[i].name) == 0) {
            *bit = types[i].bit;
            return 0;
        }
    return -1;
}

static int compile_type(struct compiler *c, const cJSON *v, struct chg_node *n)
{
    const cJSON *t;
    if (cJSON_IsString(v))
        return type_bit(v->valuestring, &n->types) == 0 ? 0 : load_error(c, "unknown type \"%s\"", v->valuestring);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return load_error(c, "\"type\" is neither a type name nor a list of them");
    cJSON_ArrayForEach(t, v)
    {
        unsigned bit;
        if (!cJSON_IsString(t) || type_bit(t->valuestring, &bit) != 0)
            return load_error(c, "\"type\" lists something that is not a type name");
        n->types |= bit;
    }
    return 0;
}

static int non_negative_integer(const cJSON *v, long *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9 || floor(v->valuedouble) != v->valuedouble)
        return -1;
    *out = (long)v->valuedouble;
    return 0;
}

static int compile_properties(struct compiler *c, const cJSON *v, struct chg_node *n)
{
    const cJSON *p;
    if (!cJSON_IsObject(v))
        return load_error(c, "\"properties\" is not an object");
    n->n_props = (size_t)cJSON_GetArraySize(v);
    if (n->n_props > 64) /* check_object keeps what it has seen in 64 bits; OCPP 1.6 has 12 at most */
        return load_error(c, "more than 64 properties in one object");
    /* nodes are freed through the node list; the property arrays hang off their node */
    n->props = n->n_props ? calloc(n->n_props, sizeof *n->props) : NULL;
    if (n->n_props && !n->props)
        return load_error(c, "out of memory");
    size_t i = 0;
    cJSON_ArrayForEach(p, v)
    {
        n->props[i].name = p->string;
        if (!(n->props[i].node = new_node(c)))
            return load_error(c, "out of memory");
        if (compile(c, p, n->props[i].node, 0) != 0)
            return -1;
        i++;
    }
    return 0;
}

static int compile_required(struct compiler *c, const cJSON *v, struct chg_node *n)
{
    const cJSON *r;
    if (!cJSON_IsArray(v))
        return load_error(c, "\"required\" is not an array");
    cJSON_ArrayForEach(r, v) if (!cJSON_IsString(r)) return load_error(c, "\"required\" holds a non-string");
    n->required = v;
    return 0;
}

/* The definition `name` of the schema being compiled: compiled once, shared by every $ref to it. */
static int definition(struct compiler *c, const char *name, struct chg_node **out)
{
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c->root, "definitions"), name);
    if (!cJSON_IsObject(def))
        return load_error(c, "$ref to a missing definition \"%s\"", name);
    for (size_t i = 0; i < c->n_defs; i++)
        if (c->defs[i].schema == def) {
            *out = c->defs[i].node;
            return 0;
        }
    struct chg_def *defs = realloc(c->defs, (c->n_defs + 1) * sizeof *defs);
    if (!defs)
        return load_error(c, "out of memory");
    c->defs = defs;
    struct chg_node *node = new_node(c);
    if (!node)
        return load_error(c, "out of memory");
    /* registered before it is compiled, so a definition that refers to itself ends */
    c->defs[c->n_defs++] = (struct chg_def){def, node};
    *out = node;
    return compile(c, def, node, 0);
}

/* "#/definitions/Name" within the same schema */
static int compile_ref(struct compiler *c, const cJSON *v, struct chg_node **out)
{
    static const char prefix[] = "#/definitions/";
    if (!cJSON_IsString(v) || strncmp(v->valuestring, prefix, sizeof prefix - 1) != 0)
        return load_error(c, "a $ref that is not \"#/definitions/...\"");
    return definition(c, v->valuestring + sizeof prefix - 1, out);
}

/* Every definition is compiled, referred to or not, so none holds a keyword unread. */
static int compile_definitions(struct compiler *c, const cJSON *defs)
{
    const cJSON *d;
    struct chg_node *node;
    if (!cJSON_IsObject(defs))
        return load_error(c, "\"definitions\" is not an object");
    cJSON_ArrayForEach(d, defs) if (definition(c, d->string, &node) != 0) return -1;
    return 0;
}

static int compile_format(struct compiler *c, const cJSON *v, struct chg_node *n)
{
    if (cJSON_IsString(v) && strcmp(v->valuestring, "date-time") == 0)
        n->format = FMT_DATE_TIME;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "uri") == 0)
        n->format = FMT_URI;
    else
        return load_error(c, "unknown format %s", cJSON_IsString(v) ? v->valuestring : "(not a string)");
    return 0;
}

/* One keyword of a schema object. */
static int compile_keyword(struct compiler *c, const cJSON *k, struct chg_node *n, int is_root)
{
    const char *key = k->string;
    if (strcmp(key, "type") == 0)
        return compile_type(c, k, n);
    if (strcmp(key, "properties") == 0)
        return compile_properties(c, k, n);
    if (strcmp(key, "required") == 0)
        return compile_required(c, k, n);
    if (strcmp(key, "additionalProperties") == 0) {
        if (!cJSON_IsBool(k))
            return load_error(c, "\"additionalProperties\" that is not true or false");
        n->closed = cJSON_IsFalse(k);
        return 0;
    }
    if (strcmp(key, "enum") == 0) {
        if (!cJSON_IsArray(k) || cJSON_GetArraySize(k) == 0)
            return load_error(c, "\"enum\" is not a non-empty array");
        n->enum_values = k;
        return 0;
    }
    if (strcmp(key, "maxLength") == 0)
        return non_negative_integer(k, &n->max_length) == 0 ? 0 : load_error(c, "a bad \"maxLength\"");
    if (strcmp(key, "minItems") == 0)
        return non_negative_integer(k, &n->min_items) == 0 ? 0 : load_error(c, "a bad \"minItems\"");
    if (strcmp(key, "multipleOf") == 0) {
        if (!cJSON_IsNumber(k) || !(k->valuedouble > 0) || !isfinite(k->valuedouble))
            return load_error(c, "\"multipleOf\" is not a positive number");
        n->multiple_of = k->valuedouble;
        return 0;
    }
    if (strcmp(key, "format") == 0)
        return compile_format(c, k, n);
    if (strcmp(key, "items") == 0) {
        if (!cJSON_IsObject(k))
            return load_error(c, "\"items\" is not one schema");
        return (n->items = new_node(c)) ? compile(c, k, n->items, 0) : load_error(c, "out of memory");
    }
    /* the top level's: what $ref points into, the dialect, the name */
    if (is_root && strcmp(key, "definitions") == 0)
        return compile_definitions(c, k);
    if (is_root && (strcmp(key, "$schema") == 0 || strcmp(key, "$id") == 0))
        return cJSON_IsString(k) ? 0 : load_error(c, "a bad \"%s\"", key);
    return load_error(c, "keyword \"%s\" is not understood by this validator", key);
}

/* A schema with a $ref stands for what it points to: a $ref with other keywords beside it is refused
 * (draft-07 ignores them, later drafts apply them: neither is silently chosen). */
static int compile(struct compiler *c, const cJSON *schema, struct chg_node *n, int is_root)
{
    const cJSON *k;
    if (!cJSON_IsObject(schema))
        return load_error(c, "a schema that is not an object");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(schema, "$ref");
    if (ref) {
        struct chg_node *target = NULL;
        if (cJSON_GetArraySize(schema) != 1)
            return load_error(c, "a $ref with other keywords beside it");
        if (compile_ref(c, ref, &target) != 0)
            return -1;
        /* the target may still be being compiled (a recursive definition): followed when checking */
        n->ref = target;
        return 0;
    }
    cJSON_ArrayForEach(k, schema) if (compile_keyword(c, k, n, is_root) != 0) return -1;
    return 0;
}

/* A chain of $refs that only points at $refs never reaches a schema. */
#define MAX_REF_HOPS 16
static const struct chg_node *resolve(const struct chg_node *n)
{
    for (int hop = 0; n && n->ref && hop < MAX_REF_HOPS; hop++)
        n = n->ref;
    return n && n->ref ? NULL : n;
}

/* --- loading ------------------------------------------------------------------------------------ */

static int action_order(const void *a, const void *b)
{
    return strcmp(((const struct chg_action *)a)->name, ((const struct chg_action *)b)->name);
}

static struct chg_action *find_action(const struct chg_schemas *s, const char *name)
{
    struct chg_action key;
    if (strlen(name) >= sizeof key.name)
        return NULL;
    strcpy(key.name, name);
    return bsearch(&key, s->actions, s->n_actions, sizeof key, action_order);
}

/* "urn:<Action>.req" or "urn:<Action>.conf": the action's slot for this schema */
static int schema_slot(struct compiler *c, const char *id, struct chg_node ***slot)
{
    const char *dot = strrchr(id, '.');
    size_t n = dot ? (size_t)(dot - id) - 4 : 0;
    if (strncmp(id, "urn:", 4) != 0 || !dot || n == 0 || n >= sizeof c->s->actions->name ||
        (strcmp(dot, ".req") != 0 && strcmp(dot, ".conf") != 0))
        return load_error(c, "$id is not \"urn:<Action>.req\" or \"urn:<Action>.conf\"");
    struct chg_schemas *s = c->s;
    struct chg_action *a = NULL;
    for (size_t i = 0; i < s->n_actions && !a; i++)
        if (strlen(s->actions[i].name) == n && strncmp(s->actions[i].name, id + 4, n) == 0)
            a = &s->actions[i];
    if (!a) {
        a = &s->actions[s->n_actions++];
        memcpy(a->name, id + 4, n);
        a->name[n] = '\0';
    }
    *slot = strcmp(dot, ".req") == 0 ? &a->req : &a->conf;
    if (**slot)
        return load_error(c, "a second schema with this $id");
    return 0;
}

static int load_one(struct chg_schemas *s, const cJSON *schema, char *why, size_t whylen)
{
    struct compiler c = {.s = s, .root = schema, .why = why, .whylen = whylen};
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(schema, "$id");
    struct chg_node **slot = NULL, *node = NULL;
    int rc = -1;
    if (!cJSON_IsString(id)) {
        load_error(&c, "a schema without a string $id");
        goto out;
    }
    c.id = id->valuestring;
    if (schema_slot(&c, c.id, &slot) != 0)
        goto out;
    size_t first = s->n_nodes;
    if (!(node = new_node(&c)) || compile(&c, schema, node, 1) != 0) {
        if (!node)
            load_error(&c, "out of memory");
        goto out;
    }
    for (size_t i = first; i < s->n_nodes; i++)
        if (!resolve(s->nodes[i])) {
            load_error(&c, "a $ref that only leads to $refs");
            goto out;
        }
    *slot = node;
    s->n_schemas++;
    rc = 0;
out:
    free(c.defs);
    return rc;
}

int chg_schemas_load_text(struct chg_schemas **out, const char *json, size_t len, char *why, size_t whylen)
{
    const cJSON *schema;
    *out = NULL;
    struct chg_schemas *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    s->doc = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsArray(s->doc)) {
        snprintf(why, whylen, "the schema text is not a JSON array of schemas");
        goto fail;
    }
    s->actions = calloc((size_t)cJSON_GetArraySize(s->doc) + 1, sizeof *s->actions);
    if (!s->actions) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    cJSON_ArrayForEach(schema, s->doc) if (load_one(s, schema, why, whylen) != 0) goto fail;
    qsort(s->actions, s->n_actions, sizeof *s->actions, action_order);
    *out = s;
    return 0;
fail:
    chg_schemas_free(s);
    return -1;
}

int chg_schemas_load(struct chg_schemas **out, char *why, size_t whylen)
{
    return chg_schemas_load_text(out, chg_ocpp1_6_json, chg_ocpp1_6_json_len, why, whylen);
}

void chg_schemas_free(struct chg_schemas *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_nodes; i++) {
        free(s->nodes[i]->props);
        free(s->nodes[i]);
    }
    free(s->nodes);
    free(s->actions);
    cJSON_Delete(s->doc);
    free(s);
}

size_t chg_schemas_count(const struct chg_schemas *s) { return s ? s->n_schemas : 0; }

/* --- checking ----------------------------------------------------------------------------------- */

/* Where in the payload the check is: a member's name or an item's index per level.  Written out as
 * "meterValue[0].sampledValue[1].value" only for a violation (most payloads are valid). */
#define PATH_LEVELS 32
struct checker {
    struct {
        const char *name; /* NULL for an array item */
        int index;
    } path[PATH_LEVELS];
    int depth;
    char *why;
    size_t whylen;
};

static void path_text(const struct checker *k, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < k->depth && i < PATH_LEVELS && len < size; i++) {
        int n = k->path[i].name ? snprintf(out + len, size - len, "%s%s", i ? "." : "", k->path[i].name)
                                : snprintf(out + len, size - len, "[%d]", k->path[i].index);
        len = n < 0 ? size : len + (size_t)n;
    }
    if (k->depth > PATH_LEVELS && len + 4 < size)
        strcat(out, "...");
}

static enum chg_ocpp_err violation(struct checker *k, enum chg_ocpp_err e, const char *fmt, ...)
{
    char where[192];
    va_list ap;
    path_text(k, where, sizeof where);
    va_start(ap, fmt);
    say(k->why, k->whylen, where[0] ? where : "(payload)", fmt, ap);
    va_end(ap);
    return e;
}

/* One level down, to a member (name) or an item (index); returns the depth to go back to. */
static int path_push(struct checker *k, const char *name, int index)
{
    if (k->depth < PATH_LEVELS) {
        k->path[k->depth].name = name;
        k->path[k->depth].index = index;
    }
    return k->depth++;
}

static void path_pop(struct checker *k, int back) { k->depth = back; }

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return floor(v->valuedouble) == v->valuedouble ? "an integer" : "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

/* The value's JSON type against the schema's.  Numbers must be finite (JSON cannot say infinity; a
 * number too big for a double reads as one and is refused here). */
static int type_ok(unsigned types, const cJSON *v)
{
    if (!types)
        return 1;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!isfinite(d))
            return 0;
        return (types & T_NUMBER) || ((types & T_INTEGER) && floor(d) == d);
    }
    return ((types & T_STRING) && cJSON_IsString(v)) || ((types & T_OBJECT) && cJSON_IsObject(v)) ||
           ((types & T_ARRAY) && cJSON_IsArray(v)) || ((types & T_BOOLEAN) && cJSON_IsBool(v)) ||
           ((types & T_NULL) && cJSON_IsNull(v));
}

static const char *wanted(unsigned types)
{
    switch (types) {
    case T_STRING: return "a string";
    case T_INTEGER: return "an integer";
    case T_NUMBER: return "a number";
    case T_OBJECT: return "an object";
    case T_ARRAY: return "an array";
    case T_BOOLEAN: return "a boolean";
    default: return "another type";
    }
}

/* Code points of a UTF-8 string: what JSON Schema's maxLength counts. */
static long code_points(const char *s)
{
    long n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int in_enum(const cJSON *values, const cJSON *v)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, values) if (cJSON_Compare(e, v, 1)) return 1;
    return 0;
}

/* multipleOf as ocpp-rpc checks it: the quotient within 1e-6 of an integer, so that 0.3 is a multiple
 * of 0.1 (an exact remainder would refuse it: 0.3 / 0.1 is 2.9999999999999996 in doubles). */
static int multiple_ok(double v, double m)
{
    double q = v / m;
    return fabs(round(q) - q) < 1e-6;
}

static enum chg_ocpp_err check_node(struct checker *k, const struct chg_node *n, const cJSON *v);

static enum chg_ocpp_err check_string(struct checker *k, const struct chg_node *n, const cJSON *v)
{
    const char *s = v->valuestring;
    if (n->max_length >= 0) {
        long len = code_points(s);
        if (len > n->max_length)
            return violation(k, CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "%ld characters, at most %ld", len,
                             n->max_length);
    }
    if (n->format == FMT_DATE_TIME && !chg_format_date_time(s, strlen(s)))
        return violation(k, CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "not an RFC 3339 date-time");
    if (n->format == FMT_URI && !chg_format_uri(s, strlen(s)))
        return violation(k, CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "not a URI");
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err check_array(struct checker *k, const struct chg_node *n, const cJSON *v)
{
    int size = cJSON_GetArraySize(v), i = 0;
    if (n->min_items >= 0 && size < n->min_items)
        return violation(k, CHG_OCPP_OCCURENCE_CONSTRAINT_VIOLATION, "%d items, at least %ld", size, n->min_items);
    if (!n->items)
        return CHG_OCPP_OK;
    const cJSON *item;
    cJSON_ArrayForEach(item, v)
    {
        int back = path_push(k, NULL, i++);
        enum chg_ocpp_err e = check_node(k, n->items, item);
        path_pop(k, back);
        if (e != CHG_OCPP_OK)
            return e;
    }
    return CHG_OCPP_OK;
}

static const struct chg_prop *find_prop(const struct chg_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_props; i++)
        if (strcmp(n->props[i].name, name) == 0)
            return &n->props[i];
    return NULL;
}

static int has_member(const cJSON *obj, const char *name)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj) if (strcmp(m->string, name) == 0) return 1;
    return 0;
}

/* Required members first, then every member in the payload's order.  A name given twice is refused:
 * JSON parsers differ in which one they keep (JavaScript the last, cJSON's lookups the first), so the
 * value checked here and the one a handler reads could differ. */
static enum chg_ocpp_err check_object(struct checker *k, const struct chg_node *n, const cJSON *v)
{
    const cJSON *r, *m;
    uint64_t seen = 0; /* by property index: at most 64 properties an object (checked at load) */
    cJSON_ArrayForEach(r, n->required)
    {
        if (!has_member(v, r->valuestring)) {
            int back = path_push(k, r->valuestring, 0);
            enum chg_ocpp_err e = violation(k, CHG_OCPP_OCCURENCE_CONSTRAINT_VIOLATION, "required, missing");
            path_pop(k, back);
            return e;
        }
    }
    cJSON_ArrayForEach(m, v)
    {
        const struct chg_prop *p = find_prop(n, m->string);
        if (!p && !n->closed)
            continue;
        int back = path_push(k, m->string, 0);
        uint64_t bit = p ? UINT64_C(1) << (p - n->props) : 0;
        enum chg_ocpp_err e = !p          ? violation(k, CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "not a property of this object")
                              : seen & bit ? violation(k, CHG_OCPP_FORMATION_VIOLATION, "given twice")
                                           : check_node(k, p->node, m);
        seen |= bit;
        path_pop(k, back);
        if (e != CHG_OCPP_OK)
            return e;
    }
    return CHG_OCPP_OK;
}

static enum chg_ocpp_err check_node(struct checker *k, const struct chg_node *n, const cJSON *v)
{
    n = resolve(n); /* never NULL: chains were checked at load */
    if (!type_ok(n->types, v))
        return violation(k, CHG_OCPP_TYPE_CONSTRAINT_VIOLATION, "%s, not %s", type_name(v), wanted(n->types));
    enum chg_ocpp_err e = CHG_OCPP_OK;
    if (cJSON_IsString(v))
        e = check_string(k, n, v);
    if (e == CHG_OCPP_OK && n->enum_values && !in_enum(n->enum_values, v))
        return violation(k, CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "not one of the values allowed");
    if (e == CHG_OCPP_OK && n->multiple_of > 0 && cJSON_IsNumber(v) && !multiple_ok(v->valuedouble, n->multiple_of))
        return violation(k, CHG_OCPP_PROPERTY_CONSTRAINT_VIOLATION, "not a multiple of %g", n->multiple_of);
    if (e == CHG_OCPP_OK && cJSON_IsArray(v))
        e = check_array(k, n, v);
    if (e == CHG_OCPP_OK && cJSON_IsObject(v))
        e = check_object(k, n, v);
    return e;
}

enum chg_ocpp_err chg_schema_check(const struct chg_schemas *s, const char *action, int is_conf,
                                   const cJSON *payload, char *why, size_t whylen)
{
    struct checker k = {.why = why, .whylen = whylen};
    if (whylen)
        why[0] = '\0';
    const struct chg_action *a = action ? find_action(s, action) : NULL;
    const struct chg_node *n = a ? (is_conf ? a->conf : a->req) : NULL;
    if (!n)
        return violation(&k, CHG_OCPP_NOT_IMPLEMENTED, "no schema for %s.%s", action ? action : "(null)",
                         is_conf ? "conf" : "req");
    if (!cJSON_IsObject(payload))
        return violation(&k, CHG_OCPP_FORMATION_VIOLATION, "%s, not an object", payload ? type_name(payload) : "nothing");
    return check_node(&k, n, payload);
}
