/* fuzz_http_static_path - a request path under a mounted folder
 * (core/http_static_path.c) and an img_src list (core/http_static_mount.c).
 * What the path check accepts never names a "." or ".." segment, a dotfile,
 * an empty segment, a NUL, '\\' or a control byte, and reads back the same;
 * what the mount table accepts as img_src cannot add a CSP directive. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_static_mount.h"
#include "http_static_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *path)
{
    char out[MST__STATIC_PATH_MAX + 1];
    int folder = -1;
    if (mst__static_path_clean(path, out, &folder) != 0)
        return;
    size_t n = strlen(out);
    if (n > MST__STATIC_PATH_MAX || (folder != 0 && folder != 1))
        abort();
    if (n && (out[0] == '/' || out[n - 1] == '/'))
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            abort();
        int seg_start = i == 0 || out[i - 1] == '/';
        if (seg_start && (c == '.' || c == '/'))
            abort(); /* ".", "..", ".env", or an empty segment */
    }
    /* a clean path without escapes left reads back as itself */
    if (!strchr(out, '%')) {
        char again[MST__STATIC_PATH_MAX + 1];
        int f2;
        if (mst__static_path_clean(out, again, &f2) != 0 || strcmp(again, out) != 0)
            abort();
    }
}

static void check_img_src(const char *list)
{
    struct mst__static_mounts t;
    struct mst__buf why = {0};
    int owner;
    mst__static_mounts_init(&t);
    struct mst_http_static_opts o = {.struct_size = sizeof o, .img_src = list};
    int rc = mst__static_mounts_add(&t, &owner, "x", "x", "x", "x", NULL, &o, &why);
    if (rc == 0) {
        const char *csp = mst__static_csp(&t);
        size_t semis = 0;
        for (const char *p = csp; *p; p++) {
            semis += *p == ';';
            if (*p == ',' || *p == '"' || *p == '\r' || *p == '\n' || (unsigned char)*p < 0x20)
                abort();
        }
        if (semis != 11) /* twelve directives, no more */
            abort();
        if (mst__static_img_src_ok(list) != 1)
            abort();
    } else if (rc != MST_EINVAL) {
        abort();
    }
    mst__static_mounts_free(&t);
    mst__buf_free(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the path up to the first newline, an img_src list after it */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        check_img_src(nl + 1);
    }
    check_path(text);
    /* the mount a path falls in: the rest lies inside the path */
    struct mst__static_mounts t;
    struct mst__buf why = {0};
    int a, b;
    mst__static_mounts_init(&t);
    mst__static_mounts_add(&t, &a, "web", "web", "", "web", NULL, NULL, &why);
    mst__static_mounts_add(&t, &b, "charging", "charging", "charging", "charging", NULL, NULL, &why);
    const char *rest = NULL;
    int bare;
    struct mst__static_mount *m = mst__static_mounts_match(&t, text, &rest, &bare);
    if (m && !bare && (rest < text || rest > text + strlen(text)))
        abort();
    if (m && strncmp(text, "/api/", 5) == 0)
        abort();
    mst__static_mounts_free(&t);
    mst__buf_free(&why);
    free(text);
    return 0;
}
