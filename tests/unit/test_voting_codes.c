/* test_voting_codes - the voting plugin's codes and receipts (code.c), a
 * ballot checked against its budget's rules (ballot.c), the register CSV
 * (register_csv.c) and an identity service's answer (identity_answer.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voting/voting.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void codes_read_back_as_typed(void **state)
{
    (void)state;
    char code[VOTE_CODE_LEN + 1], canonical[32], again[32];
    assert_int_equal(vote_code_new(code), 0);
    assert_int_equal(strlen(code), VOTE_CODE_LEN);
    assert_int_equal(vote_code_normalise(code, canonical, sizeof canonical), 0);
    assert_int_equal(strlen(canonical), 25);
    /* lower case, spaces for dashes, and the letters people confuse */
    char typed[64];
    size_t n = 0;
    for (const char *p = code; *p; p++)
        typed[n++] = *p == '-' ? ' ' : *p == '1' ? 'l' : *p == '0' ? 'o' : (char)(*p | 0x20);
    typed[n] = '\0';
    assert_int_equal(vote_code_normalise(typed, again, sizeof again), 0);
    assert_string_equal(canonical, again);
    /* pasted from the letters' CSV (CR LF line ends), or with a tab or a newline */
    char pasted[64];
    snprintf(pasted, sizeof pasted, "\t%s\r\n", code);
    assert_int_equal(vote_code_normalise(pasted, again, sizeof again), 0);
    assert_string_equal(canonical, again);
    assert_int_equal(vote_code_normalise("ABCDE", again, sizeof again), -1);
    assert_int_equal(vote_code_normalise(NULL, again, sizeof again), -1);
    assert_int_equal(vote_code_normalise("UUUUU-UUUUU-UUUUU-UUUUU-UUUUU", again, sizeof again), -1);
}

/* Every single substitution and every swap of two neighbours of 200 codes
 * is refused by the check symbol. */
static void the_check_symbol_catches_typing_mistakes(void **state)
{
    (void)state;
    for (int k = 0; k < 200; k++) {
        char code[VOTE_CODE_LEN + 1], c[32], out[32];
        assert_int_equal(vote_code_new(code), 0);
        assert_int_equal(vote_code_normalise(code, c, sizeof c), 0);
        for (int i = 0; i < 25; i++) {
            for (int s = 0; s < 32; s++) {
                char t[32];
                memcpy(t, c, sizeof t);
                if (alphabet[s] == t[i])
                    continue;
                t[i] = alphabet[s];
                assert_int_equal(vote_code_normalise(t, out, sizeof out), -1);
            }
            if (i < 24 && c[i] != c[i + 1]) {
                char t[32];
                memcpy(t, c, sizeof t);
                t[i] = c[i + 1];
                t[i + 1] = c[i];
                assert_int_equal(vote_code_normalise(t, out, sizeof out), -1);
            }
        }
    }
}

static void receipts_are_random_and_hashed(void **state)
{
    (void)state;
    char a[VOTE_RECEIPT_LEN + 1], b[VOTE_RECEIPT_LEN + 1], ca[32], cb[32], ha[65], hb[65];
    assert_int_equal(vote_receipt_new(a), 0);
    assert_int_equal(vote_receipt_new(b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(vote_receipt_normalise(a, ca, sizeof ca), 0);
    assert_int_equal(vote_receipt_normalise(b, cb, sizeof cb), 0);
    vote_hash_hex(ca, ha);
    vote_hash_hex(cb, hb);
    assert_int_equal(strlen(ha), 64);
    assert_string_not_equal(ha, hb);
    /* SHA-256("abc"), the FIPS 180-2 example */
    vote_hash_hex("abc", ha);
    assert_string_equal(ha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static const struct vote_project_ref projects[] = {{1, 300}, {2, 500}, {3, 400}};

static int read_ballot(const char *json, const struct vote_rules *r, char *sealed, size_t len, char *why)
{
    cJSON *j = cJSON_Parse(json);
    struct vote_choice *c = NULL;
    size_t n = 0;
    int rc = vote_ballot_read(j, r, projects, 3, &c, &n, why, 300);
    if (rc == 0) {
        char *s = vote_ballot_seal("h", c, n, r->type == VOTE_CUMULATIVE);
        snprintf(sealed, len, "%s", s);
        free(s);
    }
    free(c);
    cJSON_Delete(j);
    return rc;
}

static void ballots_keep_their_budgets_rules(void **state)
{
    (void)state;
    const struct vote_rules approval = {.type = VOTE_APPROVAL, .min_projects = 1, .max_projects = 2, .amount = 1000};
    const struct vote_rules knapsack = {.type = VOTE_KNAPSACK, .min_share = 0.5, .amount = 1000};
    const struct vote_rules cumulative = {.type = VOTE_CUMULATIVE, .min_projects = 1, .points = 5, .max_points = 3,
                                          .amount = 1000};
    char sealed[128], why[300];
    assert_int_equal(read_ballot("{\"projects\": [3, 1]}", &approval, sealed, sizeof sealed, why), 0);
    assert_string_equal(sealed, "h;1,3"); /* sorted by project */
    assert_int_equal(read_ballot("{\"projects\": [1, 2, 3]}", &approval, sealed, sizeof sealed, why), MST_EINVAL);
    assert_non_null(strstr(why, "must name 1 to 2"));
    assert_int_equal(read_ballot("{\"projects\": [1, 1]}", &approval, sealed, sizeof sealed, why), MST_EINVAL);
    assert_non_null(strstr(why, "named twice"));
    assert_int_equal(read_ballot("{\"projects\": [4]}", &approval, sealed, sizeof sealed, why), MST_EINVAL);
    assert_int_equal(read_ballot("{\"projects\": [1.5]}", &approval, sealed, sizeof sealed, why), MST_EINVAL);
    assert_int_equal(read_ballot("{\"projects\": 1}", &approval, sealed, sizeof sealed, why), MST_EINVAL);
    assert_int_equal(read_ballot("{\"projects\": [1, 2, 3]}", &knapsack, sealed, sizeof sealed, why), MST_EINVAL);
    assert_non_null(strstr(why, "over the budget"));
    assert_int_equal(read_ballot("{\"projects\": [3]}", &knapsack, sealed, sizeof sealed, why), MST_EINVAL);
    assert_non_null(strstr(why, "at least 500"));
    assert_int_equal(read_ballot("{\"projects\": [2]}", &knapsack, sealed, sizeof sealed, why), 0);
    assert_int_equal(read_ballot("{\"points\": {\"2\": 3, \"1\": 2}}", &cumulative, sealed, sizeof sealed, why), 0);
    assert_string_equal(sealed, "h;1,2;2,3");
    assert_int_equal(read_ballot("{\"points\": {\"2\": 4}}", &cumulative, sealed, sizeof sealed, why), MST_EINVAL);
    assert_int_equal(read_ballot("{\"points\": {\"2\": 3, \"1\": 3}}", &cumulative, sealed, sizeof sealed, why),
                     MST_EINVAL);
    assert_int_equal(read_ballot("{\"points\": {\"x\": 1}}", &cumulative, sealed, sizeof sealed, why), MST_EINVAL);
    assert_int_equal(read_ballot("{\"points\": {\"1\": 0}}", &cumulative, sealed, sizeof sealed, why), MST_EINVAL);
}

static void the_register_csv(void **state)
{
    (void)state;
    struct vote_voter *v = NULL;
    size_t n = 0;
    char why[300];
    const char ok[] = "\xEF\xBB\xBFname,voter\r\n\"Nov\xC3\xA1k, \"\"Jan\"\"\",00417\r\n\r\nEva,00418";
    assert_int_equal(vote_register_parse(ok, sizeof ok - 1, &v, &n, why, sizeof why), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].voter, "00417");
    assert_string_equal(v[0].name, "Nov\xC3\xA1k, \"Jan\"");
    assert_string_equal(v[1].address, "");
    vote_register_free(v, n);
    const char bad[] = "voter\nv1\n\"v2\n";
    assert_int_equal(vote_register_parse(bad, sizeof bad - 1, &v, &n, why, sizeof why), MST_EINVAL);
    assert_null(v);
    assert_non_null(strstr(why, "line 3"));
}

/* The identity service's answer; an empty "error" was found by
 * fuzz_voting_identity (the voter was told nothing). */
static void the_identity_services_answer(void **state)
{
    (void)state;
    char voter[16], why[300];
    int status;
    assert_int_equal(vote_identity_answer("HTTP/1.0 200 OK\r\nX: y\r\n\r\n{\"voter\": \"jana\"}", &status, voter,
                                          sizeof voter, why, sizeof why), 0);
    assert_int_equal(status, 200);
    assert_string_equal(voter, "jana");
    assert_int_equal(vote_identity_answer("HTTP/1.1 403 x\r\n\r\n{\"error\": \"\"}", &status, voter, sizeof voter, why,
                                          sizeof why), MST_EINVAL);
    assert_string_equal(why, "the identity service did not name a voter");
    assert_int_equal(vote_identity_answer("HTTP/1.1 403 x\r\n\r\n{\"error\": \"unknown\"}", &status, voter,
                                          sizeof voter, why, sizeof why), MST_EINVAL);
    assert_string_equal(why, "unknown");
    assert_int_equal(vote_identity_answer("HTTP/1.0 200 OK\r\n\r\n{\"voter\": \"a-name-longer-than-16\"}", &status,
                                          voter, sizeof voter, why, sizeof why), MST_EINVAL);
    assert_int_equal(vote_identity_answer("HTTP/1.0 200 OK\r\n{\"voter\": \"x\"}", &status, voter, sizeof voter,
                                          why, sizeof why), MST_EINVAL);
    assert_int_equal(status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codes_read_back_as_typed),
        cmocka_unit_test(the_check_symbol_catches_typing_mistakes),
        cmocka_unit_test(receipts_are_random_and_hashed),
        cmocka_unit_test(ballots_keep_their_budgets_rules),
        cmocka_unit_test(the_register_csv),
        cmocka_unit_test(the_identity_services_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
