/* bundle_manifest.c - manifest.json, format 1: read strictly (every key
 * once, with its type, nothing else) and written by our own emitter (keys
 * sorted, 2-space indent, one trailing LF), so the bytes a region signs
 * depend only on the bundle's contents, never on a cJSON version, mtimes,
 * owners or readdir order. */
#include "bundle.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mestys/error.h>

#include "trust_sig.h"

void mst__manifest_free(struct mst__manifest *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->version);
    free(m->kind);
    free(m->host);
    free(m->arch);
    for (size_t i = 0; i < m->n_files; i++)
        free(m->paths[i]);
    free(m->paths);
    free(m->sha);
    memset(m, 0, sizeof *m);
}

/* A Debian architecture name (dpkg-architecture): [a-z0-9-], 1..32. */
static int arch_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
            return 0;
    return n >= 1 && n <= 32;
}

int mst__manifest_check_meta(const struct mst__manifest *m, struct mst__buf *why)
{
    if (m->format != MST__MANIFEST_FORMAT) {
        mst__buf_printf(why, "format %d is not known (this mestys reads format %d)", m->format,
                        MST__MANIFEST_FORMAT);
        return MST_EINVAL;
    }
    if (!m->name || !mst__valid_name(m->name)) {
        mst__buf_printf(why, "name \"%s\" is not 1-64 of [A-Za-z0-9_-]", m->name ? m->name : "");
        return MST_EINVAL;
    }
    if (!m->version || !mst__semver_valid(m->version)) {
        mst__buf_printf(why, "version \"%s\" is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])",
                        m->version ? m->version : "");
        return MST_EINVAL;
    }
    int lua = m->kind && strcmp(m->kind, "lua") == 0;
    if (!m->kind || (!lua && strcmp(m->kind, "so") != 0)) {
        mst__buf_printf(why, "kind \"%s\" is neither \"so\" nor \"lua\"", m->kind ? m->kind : "");
        return MST_EINVAL;
    }
    if (!m->arch || !arch_valid(m->arch)) {
        mst__buf_printf(why, "arch \"%s\" is not a Debian architecture name", m->arch ? m->arch : "");
        return MST_EINVAL;
    }
    if (lua != (strcmp(m->arch, "all") == 0)) {
        mst__buf_printf(why, "arch \"%s\" does not fit kind \"%s\" (a Lua bundle is \"all\", a .so is not)",
                        m->arch, m->kind);
        return MST_EINVAL;
    }
    if (m->abi < 1) {
        mst__buf_printf(why, "abi %d is not a plugin ABI (1 or more)", m->abi);
        return MST_EINVAL;
    }
    struct mst__range_clause c[MST__RANGE_MAX_CLAUSES];
    struct mst__buf sub = {0};
    int rc = mst__range_parse(m->host ? m->host : "", c, MST__RANGE_MAX_CLAUSES, &sub);
    if (rc < 0)
        mst__buf_printf(why, "host: %s", sub.data);
    mst__buf_free(&sub);
    return rc < 0 ? rc : 0;
}

/* The entry point a kind needs: NAME.so, or NAME.lua. */
static int has_entry_point(const struct mst__manifest *m, struct mst__buf *why)
{
    char *entry = mst__xasprintf("%s.%s", m->name, m->kind);
    int found = 0;
    for (size_t i = 0; i < m->n_files && !found; i++)
        found = strcmp(m->paths[i], entry) == 0;
    if (!found)
        mst__buf_printf(why, "the bundle has no %s (a %s bundle's entry point)", entry, m->kind);
    free(entry);
    return found ? 0 : MST_EINVAL;
}

/* --- reading ---------------------------------------------------------------- */

static const char *const manifest_keys[] = {"abi", "arch", "files", "format", "host", "kind", "name",
                                            "version"};
#define N_KEYS (sizeof manifest_keys / sizeof manifest_keys[0])

static int sha_from_hex(const char *hex, uint8_t out[32])
{
    if (strlen(hex) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int hi = hex[2 * i], lo = hex[2 * i + 1];
        /* lower case only: one spelling of each hash */
        if (mst__hex_value(hi) < 0 || mst__hex_value(lo) < 0 || (hi >= 'A' && hi <= 'F') ||
            (lo >= 'A' && lo <= 'F'))
            return -1;
        out[i] = (uint8_t)(mst__hex_value(hi) << 4 | mst__hex_value(lo));
    }
    return 0;
}

static int integer_key(const cJSON *v, const char *key, int *out, struct mst__buf *why)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 1000000) {
        mst__buf_printf(why, "\"%s\" must be a whole number", key);
        return MST_EINVAL;
    }
    *out = (int)v->valuedouble;
    return 0;
}

static int string_key(const cJSON *v, const char *key, char **out, struct mst__buf *why)
{
    if (!cJSON_IsString(v)) {
        mst__buf_printf(why, "\"%s\" must be a string", key);
        return MST_EINVAL;
    }
    *out = mst__xstrdup(v->valuestring);
    return 0;
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int files_key(const cJSON *v, struct mst__manifest *m, struct mst__buf *why)
{
    if (!cJSON_IsObject(v)) {
        mst__buf_puts(why, "\"files\" must be an object of path: SHA-256 hex");
        return MST_EINVAL;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0 || n > MST__BUNDLE_MAX_FILES) {
        mst__buf_printf(why, "\"files\" must list 1 to %d files", MST__BUNDLE_MAX_FILES);
        return MST_EINVAL;
    }
    /* paths and hashes sorted together: sort pointers to "path\0" + 32 bytes */
    char **rows = mst__xcalloc(n, sizeof *rows);
    size_t k = 0;
    int rc = 0;
    for (const cJSON *f = v->child; f; f = f->next, k++) {
        uint8_t sha[32];
        if (!mst__bundle_path_valid(f->string) || mst__bundle_is_meta_file(f->string)) {
            mst__buf_printf(why, "files: \"%s\" is not a path a bundle may list (relative, '/'-separated, "
                                 "[A-Za-z0-9._+@-], no \".\" or \"..\", not the manifest or a signature)",
                            f->string);
            rc = MST_EINVAL;
            break;
        }
        if (!cJSON_IsString(f) || sha_from_hex(f->valuestring, sha) != 0) {
            mst__buf_printf(why, "files: \"%s\": the value must be a SHA-256 in 64 lower-case hex digits",
                            f->string);
            rc = MST_EINVAL;
            break;
        }
        size_t len = strlen(f->string);
        rows[k] = mst__xmalloc(len + 1 + 32);
        memcpy(rows[k], f->string, len + 1);
        memcpy(rows[k] + len + 1, sha, 32);
    }
    if (rc == 0) {
        qsort(rows, n, sizeof *rows, path_cmp);
        m->n_files = n;
        m->paths = mst__xcalloc(n, sizeof *m->paths);
        m->sha = mst__xcalloc(n, sizeof *m->sha);
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(rows[i]);
            m->paths[i] = mst__xstrndup(rows[i], len);
            memcpy(m->sha[i], rows[i] + len + 1, 32);
            if (i > 0 && strcmp(m->paths[i - 1], m->paths[i]) == 0 && rc == 0) {
                mst__buf_printf(why, "files: \"%s\" is listed twice", m->paths[i]);
                rc = MST_EINVAL;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(rows[i]);
    free(rows);
    return rc;
}

/* Every key once, each a known one. */
static int keys_check(const cJSON *root, struct mst__buf *why)
{
    int seen[N_KEYS] = {0};
    for (const cJSON *c = root->child; c; c = c->next) {
        size_t i = 0;
        while (i < N_KEYS && strcmp(c->string, manifest_keys[i]) != 0)
            i++;
        if (i == N_KEYS) {
            mst__buf_printf(why, "unknown key \"%s\" (format 1 has abi, arch, files, format, host, kind, "
                                 "name, version)", c->string);
            return MST_EINVAL;
        }
        if (seen[i]++) {
            mst__buf_printf(why, "key \"%s\" appears twice", c->string);
            return MST_EINVAL;
        }
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!seen[i]) {
            mst__buf_printf(why, "key \"%s\" is missing", manifest_keys[i]);
            return MST_EINVAL;
        }
    }
    return 0;
}

static int root_read(const cJSON *root, struct mst__manifest *m, struct mst__buf *why)
{
    int rc = keys_check(root, why);
    if (rc == 0)
        rc = integer_key(cJSON_GetObjectItemCaseSensitive(root, "format"), "format", &m->format, why);
    if (rc == 0 && m->format != MST__MANIFEST_FORMAT) {
        mst__buf_printf(why, "format %d is not known (this mestys reads format %d)", m->format,
                        MST__MANIFEST_FORMAT);
        rc = MST_EINVAL;
    }
    if (rc == 0)
        rc = integer_key(cJSON_GetObjectItemCaseSensitive(root, "abi"), "abi", &m->abi, why);
    static const struct {
        const char *key;
        size_t offset;
    } strings[] = {
        {"name", offsetof(struct mst__manifest, name)}, {"version", offsetof(struct mst__manifest, version)},
        {"kind", offsetof(struct mst__manifest, kind)}, {"host", offsetof(struct mst__manifest, host)},
        {"arch", offsetof(struct mst__manifest, arch)},
    };
    for (size_t i = 0; rc == 0 && i < sizeof strings / sizeof strings[0]; i++)
        rc = string_key(cJSON_GetObjectItemCaseSensitive(root, strings[i].key), strings[i].key,
                        (char **)((char *)m + strings[i].offset), why);
    if (rc == 0)
        rc = mst__manifest_check_meta(m, why);
    if (rc == 0)
        rc = files_key(cJSON_GetObjectItemCaseSensitive(root, "files"), m, why);
    if (rc == 0)
        rc = has_entry_point(m, why);
    return rc;
}

int mst__manifest_parse(const char *json, size_t n, struct mst__manifest *m, struct mst__buf *why)
{
    memset(m, 0, sizeof *m);
    /* cJSON would cut a string at \u0000 and read on past a NUL byte's
     * stop; no valid manifest holds either. */
    if (memchr(json, '\0', n) || memmem(json, n, "\\u0000", 6)) {
        mst__buf_puts(why, "manifest.json holds a NUL byte");
        return MST_EINVAL;
    }
    if (n > 4 * 1024 * 1024) {
        mst__buf_puts(why, "manifest.json is larger than 4 MiB");
        return MST_EINVAL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, n, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= json && at <= json + n ? (size_t)(at - json) : 0;
        mst__buf_printf(why, "manifest.json is not JSON (near byte %zu)", off);
        return MST_EINVAL;
    }
    int rc = 0;
    while (end && end < json + n && (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r'))
        end++;
    if (end != json + n) {
        mst__buf_printf(why, "manifest.json has text after its object (byte %zu)", (size_t)(end - json));
        rc = MST_EINVAL;
    } else if (!cJSON_IsObject(root)) {
        mst__buf_puts(why, "manifest.json must be one JSON object");
        rc = MST_EINVAL;
    } else {
        rc = root_read(root, m, why);
    }
    cJSON_Delete(root);
    if (rc < 0)
        mst__manifest_free(m); /* nothing half-read is left to the caller */
    return rc;
}

/* --- writing ---------------------------------------------------------------- */

static void emit_string_member(struct mst__buf *out, const char *key, const char *value)
{
    mst__buf_printf(out, "  \"%s\": ", key);
    mst__buf_json_string(out, value);
    mst__buf_puts(out, ",\n");
}

void mst__manifest_emit(const struct mst__manifest *m, struct mst__buf *out)
{
    /* the keys in strcmp order, as manifest_keys lists them */
    mst__buf_printf(out, "{\n  \"abi\": %d,\n", m->abi);
    emit_string_member(out, "arch", m->arch);
    mst__buf_puts(out, "  \"files\": {\n");
    for (size_t i = 0; i < m->n_files; i++) {
        char hex[65];
        mst__hex(m->sha[i], 32, hex);
        mst__buf_puts(out, "    ");
        mst__buf_json_string(out, m->paths[i]);
        mst__buf_printf(out, ": \"%s\"%s\n", hex, i + 1 < m->n_files ? "," : "");
    }
    mst__buf_printf(out, "  },\n  \"format\": %d,\n", m->format);
    emit_string_member(out, "host", m->host);
    emit_string_member(out, "kind", m->kind);
    emit_string_member(out, "name", m->name);
    mst__buf_puts(out, "  \"version\": ");
    mst__buf_json_string(out, m->version);
    mst__buf_puts(out, "\n}\n");
}

int mst__manifest_write(const char *dir, const struct mst__manifest *meta, struct mst__buf *out,
                        struct mst__buf *why)
{
    struct mst__manifest m = {
        .format = MST__MANIFEST_FORMAT, .abi = meta->abi, .name = meta->name, .version = meta->version,
        .kind = meta->kind, .host = meta->host, .arch = meta->arch,
    };
    int rc = mst__manifest_check_meta(&m, why);
    if (rc < 0)
        return rc;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        mst__buf_printf(why, "%s: %s", dir, strerror(errno));
        return errno == ENOENT || errno == ENOTDIR ? MST_ENOENT : MST_EIO;
    }
    rc = mst__bundle_scan(dfd, &m, why);
    close(dfd);
    if (rc == 0)
        rc = m.n_files ? has_entry_point(&m, why) : (mst__buf_printf(why, "%s holds no files", dir), MST_EINVAL);
    if (rc == 0)
        mst__manifest_emit(&m, out);
    for (size_t i = 0; i < m.n_files; i++)
        free(m.paths[i]);
    free(m.paths);
    free(m.sha);
    return rc;
}
