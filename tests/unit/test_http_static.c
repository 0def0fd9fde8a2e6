/* test_http_static.c - the static files' path check (http_static_path.c),
 * the mount table and its CSP (http_static_mount.c), content types
 * (http_mime.c) and the file cache (http_static_cache.c). */
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <zlib.h>

#include "http_mime.h"
#include "http_static_cache.h"
#include "http_static_mount.h"
#include "http_static_path.h"
#include "metrics.h"

static int clean(const char *path, char *out, int *folder)
{
    return mst__static_path_clean(path, out, folder);
}

static void path_clean_keeps_what_may_be_served(void **state)
{
    (void)state;
    char out[MST__STATIC_PATH_MAX + 1];
    int folder;
    assert_int_equal(clean("app.js", out, &folder), 0);
    assert_string_equal(out, "app.js");
    assert_int_equal(folder, 0);
    assert_int_equal(clean("/lib/app.js", out, &folder), 0); /* the prefix's slash */
    assert_string_equal(out, "lib/app.js");
    assert_int_equal(clean("admin/", out, &folder), 0);
    assert_string_equal(out, "admin");
    assert_int_equal(folder, 1);
    assert_int_equal(clean("", out, &folder), 0);
    assert_string_equal(out, "");
    assert_int_equal(folder, 1);
    /* what lws left encoded is decoded once more: a space, UTF-8 */
    assert_int_equal(clean("a%20b/%C4%8Didla.html", out, &folder), 0);
    assert_string_equal(out, "a b/\xc4\x8didla.html");
    assert_int_equal(clean("v1.9.4/leaflet.css", out, &folder), 0); /* a dot inside a name is fine */
    assert_string_equal(out, "v1.9.4/leaflet.css");
}

static void path_clean_refuses_every_escape(void **state)
{
    (void)state;
    char out[MST__STATIC_PATH_MAX + 1];
    int folder;
    static const char *const bad[] = {
        "..", "../etc/passwd", "a/../../etc/passwd", "a/..", "./a", "a/./b", ".", /* dot segments */
        "%2e%2e/x", "%2E%2E/x", ".%2e/x", "%2e./x", "a/%2e%2e", "%2e",            /* encoded dots */
        ".env", "a/.git/config", ".well-known/x", "%2eenv",                          /* dotfiles */
        "a%2f..%2fb", "a%2Fb", "%2f", "a%00.js", "%00",                              /* encoded / and NUL */
        "a\\..\\b", "a%5cb", "a\tb", "a%0ab", "a%7f",                               /* backslash, control */
        "a//b", "//a",                                                                /* empty segments */
        "a%", "a%2", "a%zz", "a%g0",                                                  /* broken escapes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (clean(bad[i], out, &folder) != -1)
            fail_msg("\"%s\" was accepted as \"%s\"", bad[i], out);
    }
    /* longer than the bound: refused, never cut */
    char *longp = malloc(MST__STATIC_PATH_MAX + 2);
    memset(longp, 'a', MST__STATIC_PATH_MAX + 1);
    longp[MST__STATIC_PATH_MAX + 1] = '\0';
    assert_int_equal(clean(longp, out, &folder), -1);
    longp[MST__STATIC_PATH_MAX] = '\0';
    assert_int_equal(clean(longp, out, &folder), 0);
    free(longp);
    assert_int_equal(mst__static_segments_ok("a/b.c"), 1);
    assert_int_equal(mst__static_segments_ok("a/.b"), 0);
    assert_int_equal(mst__static_segments_ok("a//b"), 0);
}

static void mime_types_by_extension(void **state)
{
    (void)state;
    assert_string_equal(mst__mime_of("lib/app.js")->type, "text/javascript; charset=utf-8");
    assert_string_equal(mst__mime_of("x.MJS")->type, "text/javascript; charset=utf-8");
    assert_string_equal(mst__mime_of("index.html")->type, "text/html; charset=utf-8");
    assert_string_equal(mst__mime_of("site.css")->type, "text/css; charset=utf-8");
    assert_string_equal(mst__mime_of("pages.json")->type, "application/json");
    assert_string_equal(mst__mime_of("app.webmanifest")->type, "application/manifest+json");
    assert_string_equal(mst__mime_of("marker.png")->type, "image/png");
    assert_int_equal(mst__mime_of("marker.png")->text, 0);
    assert_int_equal(mst__mime_of("map.svg")->text, 1);
    assert_string_equal(mst__mime_of("font.woff2")->type, "font/woff2");
    assert_string_equal(mst__mime_of("README")->type, "application/octet-stream");
    assert_string_equal(mst__mime_of("v1.js/README")->type, "application/octet-stream");
}

static void mounts_prefixes_and_conflicts(void **state)
{
    (void)state;
    struct mst__static_mounts t;
    struct mst__buf why = {0};
    int a, b;
    mst__static_mounts_init(&t);
    assert_int_equal(mst__static_mounts_add(&t, &a, "web", "web", "", "web", NULL, NULL, &why), 0);
    assert_int_equal(mst__static_mounts_add(&t, &b, "other", "web", "/", "web", NULL, NULL, &why), MST_EEXIST);
    assert_non_null(strstr(why.data, "mounted already by instance web"));
    assert_int_equal(mst__static_mounts_add(&t, &b, "charging", "charging", "charging", "charging", NULL, NULL, &why), 0);
    assert_int_equal(mst__static_mounts_add(&t, &b, "x", "x", "/charging/", "x", NULL, NULL, &why), MST_EEXIST);
    static const char *const bad_prefixes[] = {"api", "/api/", "api/x", ".hidden", "a/../b", "a b", "a%2f", "a//b"};
    for (size_t i = 0; i < sizeof bad_prefixes / sizeof bad_prefixes[0]; i++)
        assert_int_equal(mst__static_mounts_add(&t, &b, "x", "x", bad_prefixes[i], "x", NULL, NULL, &why),
                         MST_EINVAL);
    assert_int_equal(mst__static_mounts_add(&t, &b, "x", "x", "apis", "x", NULL, NULL, &why), 0);
    /* folders: no ".." relative, a missing absolute one is ENOENT */
    assert_int_equal(mst__static_mounts_add(&t, &b, "y", "y", "y", "../etc", NULL, NULL, &why), MST_EINVAL);
    assert_int_equal(mst__static_mounts_add(&t, &b, "y", "y", "y", "/nonexistent-mestys", NULL, NULL, &why),
                     MST_ENOENT);
    assert_int_equal(mst__static_mounts_add(&t, &b, "y", "y", "y", "/etc/hostname", NULL, NULL, &why),
                     MST_ENOENT); /* a file, not a folder */
    /* an old opts struct that does not reach img_src */
    struct mst_http_static_opts small = {.struct_size = 2};
    assert_int_equal(mst__static_mounts_add(&t, &b, "y", "y", "y", "y", NULL, &small, &why), MST_EINVAL);

    const char *rest;
    int bare;
    struct mst__static_mount *m = mst__static_mounts_match(&t, "/charging/admin.html", &rest, &bare);
    assert_non_null(m);
    assert_string_equal(m->instance, "charging");
    assert_string_equal(rest, "admin.html");
    assert_int_equal(bare, 0);
    m = mst__static_mounts_match(&t, "/charging", &rest, &bare);
    assert_string_equal(m->instance, "charging");
    assert_int_equal(bare, 1);
    m = mst__static_mounts_match(&t, "/chargingx/a", &rest, &bare); /* the root mount, not charging */
    assert_string_equal(m->instance, "web");
    assert_string_equal(rest, "chargingx/a");
    assert_null(mst__static_mounts_match(&t, "/api/charging/stations", &rest, &bare));
    assert_null(mst__static_mounts_match(&t, "/api", &rest, &bare));

    struct mst__buf json = {0};
    mst__static_mounts_json(&t, &json);
    assert_string_equal(json.data, "{\"mounts\":[{\"prefix\":\"/\",\"instance\":\"web\",\"plugin\":\"web\"},"
                                   "{\"prefix\":\"/charging/\",\"instance\":\"charging\",\"plugin\":\"charging\"},"
                                   "{\"prefix\":\"/apis/\",\"instance\":\"x\",\"plugin\":\"x\"}]}\n");
    mst__buf_free(&json);
    mst__static_mounts_drop_owner(&t, &b); /* charging and apis: the root mount takes their paths */
    assert_string_equal(mst__static_mounts_match(&t, "/charging/", &rest, &bare)->instance, "web");
    assert_string_equal(rest, "charging/");
    mst__static_mounts_free(&t);
    mst__buf_free(&why);
}

#define CSP_START "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:"

static void csp_is_the_union_of_the_mounts_origins(void **state)
{
    (void)state;
    struct mst__static_mounts t;
    struct mst__buf why = {0};
    int a, b, c;
    mst__static_mounts_init(&t);
    assert_string_equal(mst__static_csp(&t),
                        CSP_START "; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
                                  "form-action 'self'; frame-ancestors 'none'; worker-src 'self'; manifest-src 'self'");
    struct mst_http_static_opts o = {.struct_size = sizeof o, .img_src = "https://tile.openstreetmap.org"};
    assert_int_equal(mst__static_mounts_add(&t, &a, "web", "web", "", "web", NULL, &o, &why), 0);
    o.img_src = "https://tile.openstreetmap.org  https://*.tiles.example.org:8443/z/ https:";
    assert_int_equal(mst__static_mounts_add(&t, &b, "map", "map", "map", "map", NULL, &o, &why), 0);
    assert_non_null(strstr(mst__static_csp(&t), "img-src 'self' data: blob: https://tile.openstreetmap.org "
                                                "https://*.tiles.example.org:8443/z/ https:; connect-src"));
    /* no directive can be smuggled in */
    static const char *const bad[] = {"https://a.org; script-src *", "'unsafe-inline'", "https://a.org,b",
                                      "*", "javascript:alert(1)x y", "https://", "https://a.org:123456",
                                      "https://a.org\"", "//a.org", "https://a.org\r\nX: y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.img_src = bad[i];
        if (mst__static_mounts_add(&t, &c, "z", "z", "z", "z", NULL, &o, &why) != MST_EINVAL)
            fail_msg("img_src \"%s\" was accepted", bad[i]);
    }
    /* the map's mount gone: only the web's origin is left */
    mst__static_mounts_drop_owner(&t, &b);
    assert_non_null(strstr(mst__static_csp(&t), "blob: https://tile.openstreetmap.org; connect-src"));
    mst__static_mounts_drop_owner(&t, &a);
    assert_non_null(strstr(mst__static_csp(&t), "blob:; connect-src"));
    mst__static_mounts_free(&t);
    mst__buf_free(&why);
}

static void cache_keeps_bytes_gzip_and_etag(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *file = mst__path_join(dir, "app.js");
    FILE *f = fopen(file, "w");
    for (int i = 0; i < 200; i++)
        fprintf(f, "export const x%d = %d;\n", i, i);
    fclose(f);
    struct mst__metrics metrics;
    mst__metrics_init(&metrics);
    struct mst__static_cache c;
    mst__static_cache_init(&c, &metrics);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    struct mst__static_entry *e = mst__static_cache_get(&c, file, &st);
    assert_non_null(e);
    assert_int_equal(e->len, (size_t)st.st_size);
    char etag[40];
    snprintf(etag, sizeof etag, "%s", e->etag);
    assert_int_equal(strlen(etag), 34);
    assert_int_equal(mst__static_cache_gzip(&c, e), 1);
    assert_true(e->gz_len < e->len);
    /* the gzip form inflates to the file */
    char *back = malloc(e->len);
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)e->gz;
    z.avail_in = (uInt)e->gz_len;
    z.next_out = (Bytef *)back;
    z.avail_out = (uInt)e->len;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, e->len);
    assert_memory_equal(back, e->data, e->len);
    inflateEnd(&z);
    free(back);
    /* the same stat: the same entry, from memory */
    assert_ptr_equal(mst__static_cache_get(&c, file, &st), e);
    assert_true(c.bytes == e->len + e->gz_len);
    /* edited (another size): read again, another tag */
    f = fopen(file, "a");
    fputs("export const y = 1;\n", f);
    fclose(f);
    assert_int_equal(stat(file, &st), 0);
    e = mst__static_cache_get(&c, file, &st);
    assert_string_not_equal(e->etag, etag);
    /* a bound that holds the new version and a small file: the first
     * version (least recently used) goes, the second stays */
    size_t kept = e->len;
    c.limit = e->len + 10;
    char *other = mst__path_join(dir, "b.txt");
    f = fopen(other, "w");
    fputs("hello", f);
    fclose(f);
    struct stat st2;
    assert_int_equal(stat(other, &st2), 0);
    assert_non_null(mst__static_cache_get(&c, other, &st2));
    assert_int_equal(c.bytes, kept + 5);
    assert_ptr_equal(mst__static_cache_get(&c, file, &st), e); /* still there */
    mst__static_cache_free(&c);
    mst__metrics_free(&metrics);
    remove(other);
    remove(file);
    rmdir(dir);
    free(other);
    free(file);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(path_clean_keeps_what_may_be_served),
        cmocka_unit_test(path_clean_refuses_every_escape),
        cmocka_unit_test(mime_types_by_extension),
        cmocka_unit_test(mounts_prefixes_and_conflicts),
        cmocka_unit_test(csp_is_the_union_of_the_mounts_origins),
        cmocka_unit_test(cache_keeps_bytes_gzip_and_etag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
