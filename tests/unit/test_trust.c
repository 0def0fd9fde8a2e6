/* test_trust.c - the trust policy alone (core/trust.c, core/trust_list.c):
 * the revocation list's grammar, the trust folder (a key without scope, an
 * unsafe folder), and the list's serial against the kept copy (rollback,
 * same serial with other bytes, a newer one installed), with a root key and
 * signatures made by the real `minisign` at test time.  The whole check
 * before dlopen is driven through the daemon in test_trust.py. */
#include "harness.h"

#include <sys/stat.h>

#include "trust.h"
#include "trust_list.h"

static char *base; /* a folder nobody else can write, as the permission walk wants */

static void parses(const char *json, int64_t serial)
{
    struct mst__revlist l;
    struct mst__buf why = {0};
    if (mst__revlist_parse(json, strlen(json), &l, &why) != 0)
        fail_msg("refused %s: %s", json, why.data);
    assert_int_equal(l.serial, serial);
    mst__revlist_free(&l);
    mst__buf_free(&why);
}

static void refuses(const char *json, const char *reason)
{
    struct mst__revlist l;
    struct mst__buf why = {0};
    assert_int_equal(mst__revlist_parse(json, strlen(json), &l, &why), MST_EINVAL);
    if (!why.data || !strstr(why.data, reason))
        fail_msg("%s: expected \"%s\", got \"%s\"", json, reason, why.data ? why.data : "");
    mst__buf_free(&why);
}

static void list_grammar(void **state)
{
    (void)state;
    const char *good = "{\"format\":1,\"serial\":7,\"expires\":\"2027-01-31T00:00:00Z\","
                       "\"revoked_keys\":[\"5C806B95B941BEC2\"],\"plugins\":{\"lora\":"
                       "{\"lowest_good_version\":\"1.2.0\",\"reason\":\"corrupts the device registry\"},"
                       "\"old\":{\"lowest_good_version\":null,\"reason\":\"gone\"}}}";
    parses(good, 7);
    struct mst__revlist l;
    struct mst__buf why = {0};
    assert_int_equal(mst__revlist_parse(good, strlen(good), &l, &why), 0);
    assert_int_equal(l.expires, 1801353600); /* date -d 2027-01-31T00:00:00Z +%s */
    assert_true(mst__revlist_key_revoked(&l, "5C806B95B941BEC2"));
    assert_false(mst__revlist_key_revoked(&l, "5C806B95B941BEC3"));
    assert_string_equal(mst__revlist_floor(&l, "lora")->version, "1.2.0");
    assert_null(mst__revlist_floor(&l, "old")->version);
    assert_null(mst__revlist_floor(&l, "store"));
    mst__revlist_free(&l);
    parses("{\"format\":1,\"serial\":0,\"expires\":\"2027-01-31T00:00:00Z\"}", 0);
    refuses("[]", "not a JSON object");
    refuses("{\"format\":2,\"serial\":1,\"expires\":\"2027-01-31T00:00:00Z\"}", "\"format\" must be 1");
    refuses("{\"format\":1,\"serial\":-1,\"expires\":\"2027-01-31T00:00:00Z\"}", "\"serial\" must be");
    refuses("{\"format\":1,\"serial\":1.5,\"expires\":\"2027-01-31T00:00:00Z\"}", "\"serial\" must be");
    refuses("{\"format\":1,\"serial\":1,\"expires\":\"2027-01-31T00:00:00+01:00\"}", "\"expires\" must be");
    refuses("{\"format\":1,\"serial\":1,\"expires\":\"2027-02-30T00:00:00Z\"}", "\"expires\" must be");
    refuses("{\"format\":1,\"serial\":1,\"expires\":\"2027-01-31T00:00:00Z\",\"revoked_keys\":[\"5C806B95B941BEC2F\"]}",
            "not a key id");
    refuses("{\"format\":1,\"serial\":1,\"expires\":\"2027-01-31T00:00:00Z\",\"revoked_keys\":[\"5C80-B95\"]}",
            "not a key id");
    /* minisign prints "%lX": an id with leading zeros comes shorter, and
     * either case is the same id */
    const char *short_id = "{\"format\":1,\"serial\":1,\"expires\":\"2027-01-31T00:00:00Z\","
                           "\"revoked_keys\":[\"6B95B941BEC2\",\"5c806b95b941bec2\"]}";
    struct mst__revlist k;
    assert_int_equal(mst__revlist_parse(short_id, strlen(short_id), &k, &why), 0);
    assert_true(mst__revlist_key_revoked(&k, "00006B95B941BEC2"));
    assert_true(mst__revlist_key_revoked(&k, "5C806B95B941BEC2"));
    mst__revlist_free(&k);
    refuses("{\"format\":1,\"serial\":1,\"expires\":\"2027-01-31T00:00:00Z\",\"plugins\":{\"lora\":"
            "{\"lowest_good_version\":\"1.2\",\"reason\":\"x\"}}}",
            "lowest_good_version must be a version");
    refuses("{\"format\":1,\"serial\":1,\"expires\":\"2027-01-31T00:00:00Z\",\"plugins\":{\"lora\":"
            "{\"lowest_good_version\":null}}}",
            "reason must be a string");
    refuses("{\"format\":1,\"serial\":1,\"expires\":\"2027-01-31T00:00:00Z\",\"plugins\":{\"../x\":"
            "{\"lowest_good_version\":null,\"reason\":\"x\"}}}",
            "must be a plugin name");
    mst__buf_free(&why);
}

static void status_names(void **state)
{
    (void)state;
    const char *want[] = {"core", "signed", "unsigned", "modified", "invalid", "revoked", "incompatible"};
    for (int i = 0; i < MST__TRUST_N_STATUS; i++)
        assert_string_equal(mst__trust_status_name((enum mst__trust_status)i), want[i]);
}

static struct mst__trust *open_trust(const char *dir, const char *state_dir, int expect_rc, struct mst__buf *why)
{
    struct mst__trust_cfg cfg = {.dir = dir, .state_dir = state_dir, .uid = geteuid()};
    struct mst__trust *t = NULL;
    assert_int_equal(mst__trust_open(&t, &cfg, why), expect_rc);
    return t;
}

static void no_trust_folder_is_no_error(void **state)
{
    (void)state;
    struct mst__buf why = {0};
    struct mst__trust *t = open_trust("/nonexistent/mestys-trust", NULL, 0, &why);
    int64_t serial, expires;
    assert_int_equal(mst__trust_n_keys(t), 0);
    assert_false(mst__trust_list_info(t, &serial, &expires));
    assert_false(mst__trust_expired(t, 4102444800));
    mst__trust_close(t);
    mst__buf_free(&why);
}

static void unsafe_trust_folder_is_refused(void **state)
{
    (void)state;
    char *dir = make_tmpdir(); /* under /tmp, writable by everyone: refused as ssh refuses it */
    struct mst__buf why = {0};
    assert_null(open_trust(dir, NULL, MST_EPERM, &why));
    assert_non_null(strstr(why.data, "/tmp"));
    mst__buf_free(&why);
    remove_tmpdir(dir);
}

/* A trust folder with root.pub and a release key without a scope file. */
static char *region(const char *name)
{
    char *dir = mst__path_join(base, name);
    if (sh("rm -rf '%s' && mkdir -p '%s/trust/keys' '%s/secret' && cd '%s' && "
           "minisign -G -W -p secret/root.pub -s secret/root.key && cp secret/root.pub trust/ && "
           "minisign -G -W -p trust/keys/release.pub -s secret/release.key",
           dir, dir, dir, dir) != 0)
        fail_msg("minisign failed: is it installed (scripts/deps.sh)?");
    return dir;
}

/* DIR/NAME.json signed by the root key, with that serial. */
static char *list_file(const char *dir, const char *name, int serial, const char *reason)
{
    char *text = mst__xasprintf("{\"format\":1,\"serial\":%d,\"expires\":\"2020-01-01T00:00:00Z\","
                                "\"plugins\":{\"lora\":{\"lowest_good_version\":null,\"reason\":\"%s\"}}}",
                                serial, reason);
    char *file = mst__xasprintf("%s.json", name);
    char *path = write_file(dir, file, text);
    if (sh("minisign -S -s '%s/secret/root.key' -m '%s'", dir, path) != 0)
        fail_msg("minisign -S failed");
    free(text);
    free(file);
    return path;
}

static void key_without_scope_covers_nothing(void **state)
{
    (void)state;
    char *dir = region("scope");
    char *trust = mst__path_join(dir, "trust");
    struct mst__buf why = {0};
    struct mst__trust *t = open_trust(trust, NULL, 0, &why);
    assert_int_equal(mst__trust_n_keys(t), 1);
    struct mst__trust_key_info k;
    mst__trust_key(t, 0, &k);
    assert_string_equal(k.name, "release");
    assert_false(k.has_scope);
    assert_non_null(strstr(mst__trust_problems(t), "key release ("));
    assert_non_null(strstr(mst__trust_problems(t), "has no release.scope file: it covers nothing"));
    mst__trust_close(t);
    /* a scope with a star in the middle is a config error, naming the file */
    free(write_file(trust, "keys/release.scope", "{\"names\":[\"ven*dor\"],\"kinds\":[\"so\"]}"));
    assert_null(open_trust(trust, NULL, MST_EPERM, &why));
    assert_non_null(strstr(why.data, "release.scope"));
    mst__buf_free(&why);
    free(trust);
    free(dir);
}

static void serial_only_goes_up(void **state)
{
    (void)state;
    char *dir = region("serial");
    char *trust = mst__path_join(dir, "trust"), *state_dir = mst__path_join(dir, "state");
    char *kept = mst__path_join(state_dir, "trust/revocations.json");
    struct mst__buf why = {0};
    struct mst__trust *t = open_trust(trust, state_dir, 0, &why);
    char *seven = list_file(dir, "seven", 7, "first");
    assert_int_equal(mst__trust_update(t, seven, &why), 0);
    int64_t serial, expires;
    assert_true(mst__trust_list_info(t, &serial, &expires));
    assert_int_equal(serial, 7);
    assert_true(mst__trust_expired(t, 1577836800)); /* 2020-01-01T00:00:00Z itself: expired */
    assert_false(mst__trust_expired(t, 1577836799));
    const char *floor, *reason;
    assert_true(mst__trust_floor(t, "lora", &floor, &reason));
    assert_null(floor);
    assert_string_equal(reason, "first");
    struct stat st;
    assert_int_equal(stat(kept, &st), 0);
    /* the same bytes again: nothing to do */
    assert_int_equal(mst__trust_update(t, seven, &why), 0);
    /* an older one: rollback */
    char *six = list_file(dir, "six", 6, "older");
    why.len = 0;
    assert_int_equal(mst__trust_update(t, six, &why), MST_ETRUST);
    assert_string_equal(why.data, "rollback: serial 6 < 7");
    /* the same serial with other bytes */
    char *other = list_file(dir, "other", 7, "other bytes");
    why.len = 0;
    assert_int_equal(mst__trust_update(t, other, &why), MST_ETRUST);
    assert_string_equal(why.data, "serial 7 is the accepted list's, with other bytes");
    /* a list not signed by root */
    char *eight = list_file(dir, "eight", 8, "newer");
    assert_int_equal(sh("cd '%s' && minisign -G -W -p secret/x.pub -s secret/x.key && "
                        "minisign -S -s secret/x.key -m eight.json -x forged.json.minisig && "
                        "cp eight.json forged.json", dir), 0);
    char *forged = mst__path_join(dir, "forged.json");
    why.len = 0;
    assert_int_equal(mst__trust_update(t, forged, &why), MST_ETRUST);
    assert_non_null(strstr(why.data, "not by the root key"));
    mst__trust_close(t);
    /* at the next start the kept copy (7) beats an older one in the trust folder */
    assert_int_equal(sh("cp '%s' '%s/trust/revocations.json' && cp '%s.minisig' '%s/trust/revocations.json.minisig'",
                        six, dir, six, dir), 0);
    t = open_trust(trust, state_dir, 0, &why);
    assert_true(mst__trust_list_info(t, &serial, &expires));
    assert_int_equal(serial, 7);
    assert_non_null(strstr(mst__trust_problems(t), "rollback: serial 6 < 7 (the last accepted)"));
    mst__trust_close(t);
    /* and a newer one there is taken, and kept */
    assert_int_equal(sh("cp '%s' '%s/trust/revocations.json' && cp '%s.minisig' '%s/trust/revocations.json.minisig'",
                        eight, dir, eight, dir), 0);
    t = open_trust(trust, state_dir, 0, &why);
    assert_true(mst__trust_list_info(t, &serial, &expires));
    assert_int_equal(serial, 8);
    assert_null(strstr(mst__trust_problems(t), "rollback")); /* only the key without scope */
    mst__trust_close(t);
    size_t len;
    char *text = mst__read_file(kept, &len);
    assert_non_null(strstr(text, "\"serial\":8"));
    free(text);
    free(six), free(seven), free(other), free(eight), free(forged);
    free(kept), free(trust), free(state_dir), free(dir);
    mst__buf_free(&why);
}

static int setup(void **state)
{
    (void)state;
    mst__log_set_level(MST_LOG_ERROR);
    base = mst__path_join(env_or_fail("MESTYS_BUILD_DIR"), "unit-trust");
    sh("rm -rf '%s' && mkdir -m 755 -p '%s'", base, base);
    umask(022);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sh("rm -rf '%s'", base);
    free(base);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_grammar),
        cmocka_unit_test(status_names),
        cmocka_unit_test(no_trust_folder_is_no_error),
        cmocka_unit_test(unsafe_trust_folder_is_refused),
        cmocka_unit_test(key_without_scope_covers_nothing),
        cmocka_unit_test(serial_only_goes_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
