/* test_charging_auth.c - the charging plugin's handshake decisions and
 * password hashes, alone: security profiles 1-3, wrong and missing
 * credentials, ids with colons, the throttle under a flood of wrong
 * passwords (and the real station still let in), the keyed digest that
 * spares a repeat login PBKDF2, what is counted. */
#include <sqlite3.h>

#include <openssl/evp.h>

#include "harness.h"

#include "../../plugins/charging/charging.h"

/* --- a host with just what handshake.c and station.c call ---------------- */

static uint64_t clock_ms = 1000000;
static int log_lines;
static double counters[64];
static mst_metric *const metric_ids = (mst_metric *)counters; /* a metric is a counter's address */

static uint64_t fake_now(mst_instance *inst)
{
    return clock_ms;
}

static void fake_log(mst_instance *inst, enum mst_log_level level, const char *fmt, ...)
{
    log_lines++;
}

static void fake_add(mst_metric *m, double d)
{
    *(double *)m += d;
}

static const char *fake_name(mst_instance *inst)
{
    return "charging";
}

static void fake_close(mst_ws_conn *conn)
{
}

static struct mst_host host = {
    .struct_size = sizeof(struct mst_host),
    .now_ms = fake_now,
    .log = fake_log,
    .metric_add = fake_add,
    .instance_name = fake_name,
    .ws_close = fake_close,
};

static struct charging *setup_charging(void)
{
    struct charging *c = calloc(1, sizeof *c);
    c->host = &host;
    c->iterations = 1000;
    c->auth_fail_limit = 3;
    for (int i = 0; i < CHG_REF_COUNT; i++)
        c->refused[i] = (mst_metric *)&counters[i];
    memset(counters, 0, sizeof counters);
    assert_int_equal(sqlite3_open(":memory:", &c->db), SQLITE_OK);
    for (int i = 0; chg_migrations[i]; i++)
        assert_int_equal(sqlite3_exec(c->db, chg_migrations[i], NULL, NULL, NULL), SQLITE_OK);
    chg_tariff_init(&c->tariff);
    (void)metric_ids;
    return c;
}

static void teardown_charging(struct charging *c)
{
    while (c->stations) {
        struct chg_station *st = c->stations;
        c->stations = st->next;
        chg_station_free(st);
    }
    chg_db_close(c);
    free(c);
}

static void add_station(struct charging *c, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    const char *why = NULL;
    assert_int_equal(chg_station_register(c, j, &why), 0);
    cJSON_Delete(j);
}

/* "Basic base64(user:password)" */
static char *basic(const char *user, const char *password)
{
    char plain[256], *out = malloc(400);
    int n = snprintf(plain, sizeof plain, "%s:%s", user, password);
    strcpy(out, "Basic ");
    EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)plain, n);
    return out;
}

static int decide(struct charging *c, const char *id, const char *auth, int tls, const char *cn,
                  enum chg_refusal *why)
{
    struct chg_hello h = {.id = id, .authorization = auth, .tls = tls, .client_cn = cn};
    struct chg_station *st;
    *why = CHG_REF_COUNT;
    int status = chg_handshake_decide(c, &h, &st, why);
    if (status == 0)
        assert_non_null(st);
    return status;
}

#define PASSWORD "correct-horse-battery"

/* --- tests ------------------------------------------------------------------ */

static void password_hash_and_verify(void **state)
{
    char stored[CHG_PASSWORD_TEXT], again[CHG_PASSWORD_TEXT];
    assert_int_equal(chg_password_hash(PASSWORD, strlen(PASSWORD), 1000, stored), 0);
    assert_non_null(strstr(stored, "pbkdf2-sha256$1000$"));
    assert_null(strstr(stored, PASSWORD));
    assert_int_equal(chg_password_verify(stored, PASSWORD, strlen(PASSWORD)), 1);
    assert_int_equal(chg_password_verify(stored, "correct-horse-batterx", strlen(PASSWORD)), 0);
    assert_int_equal(chg_password_verify(stored, PASSWORD, strlen(PASSWORD) - 1), 0);
    /* a fresh salt each time: the same password never gives the same text */
    assert_int_equal(chg_password_hash(PASSWORD, strlen(PASSWORD), 1000, again), 0);
    assert_string_not_equal(stored, again);
    /* the length rule of the OCPP security whitepaper */
    assert_int_equal(chg_password_hash("short", 5, 1000, again), MST_EINVAL);
    /* a stored text that is not ours is refused, not read past its end */
    assert_int_equal(chg_password_verify("pbkdf2-sha256$1000$abcd", PASSWORD, strlen(PASSWORD)), MST_EINVAL);
    assert_int_equal(chg_password_verify("plain", PASSWORD, strlen(PASSWORD)), MST_EINVAL);
    stored[strlen(stored) - 1] = 'X';
    assert_int_equal(chg_password_verify(stored, PASSWORD, strlen(PASSWORD)), MST_EINVAL);
}

static void profile_1(void **state)
{
    struct charging *c = setup_charging();
    enum chg_refusal why;
    add_station(c, "{\"id\": \"CP-1\", \"accepted\": true}");
    /* no password set yet */
    assert_int_equal(decide(c, "CP-1", NULL, 0, NULL, &why), 401);
    assert_int_equal(why, CHG_REF_NO_PASSWORD_SET);
    add_station(c, "{\"id\": \"CP-1\", \"password\": \"" PASSWORD "\"}");
    /* the password is stored hashed, never as given */
    sqlite3_stmt *q;
    sqlite3_prepare_v2(c->db, "SELECT password FROM station WHERE id = 'CP-1'", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_null(strstr((const char *)sqlite3_column_text(q, 0), PASSWORD));
    sqlite3_finalize(q);

    char *good = basic("CP-1", PASSWORD), *bad = basic("CP-1", "wrong-password-0000"), *other = basic("CP-2", PASSWORD);
    assert_int_equal(decide(c, "CP-1", good, 0, NULL, &why), 0);
    assert_int_equal(decide(c, "CP-1", good, 1, NULL, &why), 0); /* profile 1 over TLS is fine too */
    assert_int_equal(decide(c, "CP-1", bad, 0, NULL, &why), 401);
    assert_int_equal(why, CHG_REF_BAD_PASSWORD);
    assert_int_equal(decide(c, "CP-1", other, 0, NULL, &why), 401);
    assert_int_equal(why, CHG_REF_BAD_PASSWORD);
    assert_int_equal(decide(c, "CP-1", NULL, 0, NULL, &why), 401);
    assert_int_equal(why, CHG_REF_NO_CREDENTIALS);
    assert_int_equal(decide(c, "CP-1", "Bearer abc", 0, NULL, &why), 401);
    assert_int_equal(decide(c, "CP-1", "Basic !!!!", 0, NULL, &why), 401);
    assert_int_equal(decide(c, "CP-9", good, 0, NULL, &why), 404);
    assert_int_equal(why, CHG_REF_UNKNOWN_STATION);
    assert_int_equal(decide(c, "../etc", good, 0, NULL, &why), 404);
    assert_int_equal(counters[CHG_REF_BAD_PASSWORD], 2);
    assert_int_equal(counters[CHG_REF_UNKNOWN_STATION], 2);
    free(good);
    free(bad);
    free(other);
    teardown_charging(c);
}

static void id_with_colons(void **state)
{
    struct charging *c = setup_charging();
    enum chg_refusal why;
    add_station(c, "{\"id\": \"urn:cp:7\", \"password\": \"" PASSWORD "\"}");
    char *good = basic("urn:cp:7", PASSWORD);
    assert_int_equal(decide(c, "urn:cp:7", good, 0, NULL, &why), 0);
    free(good);
    teardown_charging(c);
}

static void profiles_2_and_3(void **state)
{
    struct charging *c = setup_charging();
    enum chg_refusal why;
    add_station(c, "{\"id\": \"CP-2\", \"security_profile\": 2, \"password\": \"" PASSWORD "\"}");
    add_station(c, "{\"id\": \"CP-3\", \"security_profile\": 3}");
    char *good = basic("CP-2", PASSWORD);
    assert_int_equal(decide(c, "CP-2", good, 0, NULL, &why), 403);
    assert_int_equal(why, CHG_REF_TLS_REQUIRED);
    assert_int_equal(decide(c, "CP-2", good, 1, NULL, &why), 0);
    assert_int_equal(decide(c, "CP-3", NULL, 0, "CP-3", &why), 403);
    assert_int_equal(why, CHG_REF_TLS_REQUIRED);
    assert_int_equal(decide(c, "CP-3", NULL, 1, NULL, &why), 401);
    assert_int_equal(why, CHG_REF_NO_CERTIFICATE);
    assert_int_equal(decide(c, "CP-3", NULL, 1, "CP-2", &why), 403);
    assert_int_equal(why, CHG_REF_WRONG_CERTIFICATE);
    assert_int_equal(decide(c, "CP-3", NULL, 1, "CP-3", &why), 0);
    free(good);
    teardown_charging(c);
}

static void flood_is_throttled_and_logged_once(void **state)
{
    struct charging *c = setup_charging();
    enum chg_refusal why;
    add_station(c, "{\"id\": \"CP-1\", \"password\": \"" PASSWORD "\"}");
    char *good = basic("CP-1", PASSWORD), *bad = basic("CP-1", "wrong-password-0000");
    /* the real station logs in once: its digest is kept */
    assert_int_equal(decide(c, "CP-1", good, 0, NULL, &why), 0);
    log_lines = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(decide(c, "CP-1", bad, 0, NULL, &why), 401);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(decide(c, "CP-1", bad, 0, NULL, &why), 429);
        assert_int_equal(why, CHG_REF_THROTTLED);
    }
    assert_int_equal(counters[CHG_REF_BAD_PASSWORD], 3);
    assert_int_equal(counters[CHG_REF_THROTTLED], 100);
    assert_int_equal(log_lines, 1);
    /* during the flood, the station itself still gets in */
    assert_int_equal(decide(c, "CP-1", good, 0, NULL, &why), 0);
    /* a minute later the window is over: wrong passwords are checked again, and logged again once */
    clock_ms += 61000;
    assert_int_equal(decide(c, "CP-1", bad, 0, NULL, &why), 401);
    assert_int_equal(log_lines, 2);
    /* a new password forgets the old digest */
    const char *w = NULL;
    assert_int_equal(chg_station_set_password(c, chg_station_find(c, "CP-1"), "another-password-0001", 21, &w), 0);
    assert_int_equal(decide(c, "CP-1", good, 0, NULL, &why), 401);
    free(good);
    free(bad);
    teardown_charging(c);
}

/* A station that logs in again is recognised by the keyed digest of its
 * last verified password, without PBKDF2: shown by spoiling the stored
 * hash (PBKDF2 would now refuse the right password) -- the repeat still
 * gets in, a wrong password does not.  The digest is keyed: it is not the
 * bare SHA-256 of salt and password anyone could compute from the file. */
static void repeat_login_skips_pbkdf2(void **state)
{
    struct charging *c = setup_charging();
    enum chg_refusal why;
    add_station(c, "{\"id\": \"CP-1\", \"password\": \"" PASSWORD "\"}");
    struct chg_station *st = chg_station_find(c, "CP-1");
    char *good = basic("CP-1", PASSWORD), *bad = basic("CP-1", "wrong-password-0000");
    assert_int_equal(decide(c, "CP-1", good, 0, NULL, &why), 0);
    assert_true(st->has_verified);
    char *h = strrchr(st->password, '$') + 1;
    h[0] = h[0] == '0' ? '1' : '0';
    assert_int_equal(chg_password_verify(st->password, PASSWORD, strlen(PASSWORD)), 0);
    assert_int_equal(decide(c, "CP-1", good, 0, NULL, &why), 0);
    assert_int_equal(decide(c, "CP-1", bad, 0, NULL, &why), 401);
    assert_int_equal(decide(c, "CP-1", good, 0, NULL, &why), 0);

    unsigned char salt[16], plain[32], quick[32];
    const char *s = strchr(strchr(st->password, '$') + 1, '$') + 1;
    for (int i = 0; i < 16; i++)
        assert_int_equal(sscanf(s + 2 * i, "%2hhx", &salt[i]), 1);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_true(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, salt, 16) == 1 &&
                EVP_DigestUpdate(ctx, PASSWORD, strlen(PASSWORD)) == 1 && EVP_DigestFinal_ex(ctx, plain, NULL) == 1);
    EVP_MD_CTX_free(ctx);
    assert_int_equal(chg_password_quick(st->password, PASSWORD, strlen(PASSWORD), quick), 0);
    assert_memory_not_equal(quick, plain, sizeof quick);
    assert_memory_equal(quick, st->verified, sizeof quick);
    free(good);
    free(bad);
    teardown_charging(c);
}

static void registration_checked(void **state)
{
    struct charging *c = setup_charging();
    const char *bad[] = {
        "{\"id\": \"\"}", "{\"id\": \"a/b\"}", "{\"id\": \"CP 1\"}", "{\"name\": \"x\"}",
        "{\"id\": \"CP-1\", \"security_profile\": 4}", "{\"id\": \"CP-1\", \"password\": \"short\"}",
        "{\"id\": \"CP-1\", \"lat\": 91, \"lon\": 0}", "{\"id\": \"CP-1\", \"lat\": 50}",
        "{\"id\": \"CP-1\", \"accepted\": 1}", "[]",
        "{\"id\": \"0123456789012345678901234567890123456789012345678\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        const char *why = NULL;
        assert_int_equal(chg_station_register(c, j, &why), MST_EINVAL);
        assert_non_null(why);
        cJSON_Delete(j);
    }
    assert_null(c->stations);
    teardown_charging(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(password_hash_and_verify),
        cmocka_unit_test(profile_1),
        cmocka_unit_test(id_with_colons),
        cmocka_unit_test(profiles_2_and_3),
        cmocka_unit_test(flood_is_throttled_and_logged_once),
        cmocka_unit_test(repeat_login_skips_pbkdf2),
        cmocka_unit_test(registration_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
