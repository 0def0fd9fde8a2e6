/* test_trust_sig.c - minisign keys and signatures (core/trust_sig.c)
 * against the real `minisign` binary: keys from `minisign -G -W`,
 * signatures from `minisign -S` (prehashed "ED") and `-S -l` (legacy "Ed"),
 * made in a temporary folder at test time; `minisign -V` is asked too
 * wherever we refuse a file it would also refuse. */
#include "harness.h"

#include <fcntl.h>
#include <mestys/error.h>
#include <openssl/evp.h>

#include "trust_sig.h"

struct fixture {
    char *dir;
    char *key_text, *key2_text;
    char *msg;       /* the signed file's bytes */
    size_t msg_len;
    char *sig_text;  /* prehashed, trusted comment "release 1.2.0" */
    char *legacy_text;
    char *sig2_text; /* prehashed, by the second key */
};

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char *path = mst__path_join(dir, name);
    char *text = mst__read_file(path, len);
    if (!text)
        fail_msg("cannot read %s", path);
    free(path);
    return text;
}

static int setup(void **state)
{
    struct fixture *f = mst__xcalloc(1, sizeof *f);
    f->dir = make_tmpdir();
    free(write_file(f->dir, "manifest.json", "{\n  \"name\": \"lora\",\n  \"version\": \"1.2.0\"\n}\n"));
    const char *d = f->dir;
    if (sh("cd '%s' && minisign -G -W -p k.pub -s k.key && minisign -G -W -p k2.pub -s k2.key", d) != 0 ||
        sh("cd '%s' && minisign -S -s k.key -m manifest.json -t 'release 1.2.0'", d) != 0 ||
        sh("cd '%s' && minisign -S -l -s k.key -m manifest.json -x legacy.minisig -t 'legacy 1.2.0'", d) != 0 ||
        sh("cd '%s' && minisign -S -s k2.key -m manifest.json -x other.minisig", d) != 0) {
        fprintf(stderr, "minisign failed: is it installed (scripts/deps.sh)?\n");
        return -1;
    }
    f->key_text = slurp(d, "k.pub", NULL);
    f->key2_text = slurp(d, "k2.pub", NULL);
    f->msg = slurp(d, "manifest.json", &f->msg_len);
    f->sig_text = slurp(d, "manifest.json.minisig", NULL);
    f->legacy_text = slurp(d, "legacy.minisig", NULL);
    f->sig2_text = slurp(d, "other.minisig", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    remove_tmpdir(f->dir);
    free(f->key_text);
    free(f->key2_text);
    free(f->msg);
    free(f->sig_text);
    free(f->legacy_text);
    free(f->sig2_text);
    free(f);
    return 0;
}

static void key_of(const char *text, struct mst__mkey *k)
{
    struct mst__buf why = {0};
    if (mst__mkey_parse(text, strlen(text), k, &why) != 0)
        fail_msg("key refused: %s", why.data);
    mst__buf_free(&why);
}

/* Parses sig and verifies it over msg with key; returns the code and
 * leaves the reason in why. */
static int check(const char *sig, const char *key, const void *msg, size_t n, struct mst__buf *why)
{
    struct mst__mkey k;
    struct mst__msig s;
    key_of(key, &k);
    int rc = mst__msig_parse(sig, strlen(sig), &s, why);
    if (rc != 0)
        return rc;
    rc = mst__msig_verify(&s, &k, msg, n, why);
    mst__msig_free(&s);
    return rc;
}

/* the text with line `no` (from 1) replaced by `line` (NULL: removed) */
static char *with_line(const char *text, int no, const char *line)
{
    struct mst__buf b = {0};
    int at = 1;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (at == no) {
            if (line)
                mst__buf_printf(&b, "%s\n", line);
        } else {
            mst__buf_append(&b, p, n);
        }
        p += n;
        at++;
    }
    return b.data;
}

/* line `no` of text, without its LF */
static char *line_of(const char *text, int no)
{
    const char *p = text;
    for (int at = 1; at < no; at++)
        p = strchr(p, '\n') + 1;
    return mst__xstrndup(p, strcspn(p, "\n"));
}

/* `minisign -V` on the fixture's manifest with a signature text written to a file */
static int minisign_accepts(struct fixture *f, const char *sig_text, const char *msg_name)
{
    free(write_file(f->dir, "check.minisig", sig_text));
    return sh("cd '%s' && minisign -V -p k.pub -m %s -x check.minisig", f->dir, msg_name) == 0;
}

static void prehashed_signature_is_accepted(void **state)
{
    struct fixture *f = *state;
    struct mst__msig s;
    struct mst__mkey k;
    struct mst__buf why = {0};
    key_of(f->key_text, &k);
    assert_int_equal(mst__msig_parse(f->sig_text, strlen(f->sig_text), &s, &why), 0);
    assert_memory_equal(s.alg, "ED", 2);
    assert_string_equal(s.trusted_comment, "release 1.2.0");
    assert_memory_equal(s.key_id, k.id, 8);
    assert_int_equal(mst__msig_verify(&s, &k, f->msg, f->msg_len, &why), 0);
    assert_null(why.data);
    mst__msig_free(&s);
    assert_null(s.trusted_comment);
    assert_true(minisign_accepts(f, f->sig_text, "manifest.json"));
}

static void legacy_signature_is_accepted(void **state)
{
    struct fixture *f = *state;
    struct mst__msig s;
    struct mst__mkey k;
    struct mst__buf why = {0};
    key_of(f->key_text, &k);
    assert_int_equal(mst__msig_parse(f->legacy_text, strlen(f->legacy_text), &s, &why), 0);
    assert_memory_equal(s.alg, "Ed", 2);
    assert_string_equal(s.trusted_comment, "legacy 1.2.0");
    assert_int_equal(mst__msig_verify(&s, &k, f->msg, f->msg_len, &why), 0);
    mst__msig_free(&s);
}

/* the id minisign prints in the .pub's comment ("%lX": no leading zeros) */
static void key_id_reads_as_minisign_prints_it(void **state)
{
    struct fixture *f = *state;
    struct mst__mkey k;
    key_of(f->key_text, &k);
    char *comment = line_of(f->key_text, 1), hex[17];
    const char *printed = strrchr(comment, ' ') + 1;
    mst__key_id_hex(k.id, hex);
    assert_int_equal(strlen(hex), 16);
    assert_string_equal(hex + 16 - strlen(printed), printed);
    for (size_t i = 0; i < 16 - strlen(printed); i++)
        assert_int_equal(hex[i], '0');
    uint8_t back[8];
    assert_int_equal(mst__key_id_parse(printed, back), 0);
    assert_memory_equal(back, k.id, 8);
    free(comment);
    /* short ids (minisign drops leading zeros), either case; nothing else */
    assert_int_equal(mst__key_id_parse("1a", back), 0);
    mst__key_id_hex(back, hex);
    assert_string_equal(hex, "000000000000001A");
    assert_int_equal(back[0], 0x1a);
    assert_int_equal(mst__key_id_parse("", back), MST_EINVAL);
    assert_int_equal(mst__key_id_parse("00000000000000001", back), MST_EINVAL);
    assert_int_equal(mst__key_id_parse("5C806B95B941BEG2", back), MST_EINVAL);
    assert_int_equal(mst__key_id_parse("5C806B95B941BEC2", back), 0);
    assert_memory_equal(back, "\xc2\xbe\x41\xb9\x95\x6b\x80\x5c", 8); /* the research brief's example */
}

static void flipped_byte_is_refused(void **state)
{
    struct fixture *f = *state;
    struct mst__buf why = {0};
    char *bad = mst__xstrndup(f->msg, f->msg_len);
    bad[5] ^= 1;
    assert_refused(check(f->sig_text, f->key_text, bad, f->msg_len, &why), MST_EPERM, &why,
                   "prehashed signature does not match the file");
    assert_refused(check(f->legacy_text, f->key_text, bad, f->msg_len, &why), MST_EPERM, &why,
                   "legacy signature does not match the file");
    /* one byte more */
    assert_refused(check(f->sig_text, f->key_text, f->msg, f->msg_len - 1, &why), MST_EPERM, &why,
                   "does not match the file");
    /* minisign agrees */
    free(write_file(f->dir, "flipped.json", bad));
    assert_false(minisign_accepts(f, f->sig_text, "flipped.json"));
    free(bad);
}

static void wrong_key_is_refused(void **state)
{
    struct fixture *f = *state;
    struct mst__buf why = {0};
    struct mst__mkey k, k2;
    key_of(f->key_text, &k);
    key_of(f->key2_text, &k2);
    char a[17], b[17], *expect;
    mst__key_id_hex(k2.id, a);
    mst__key_id_hex(k.id, b);
    expect = mst__xasprintf("signed by key %s, not by key %s", a, b);
    assert_refused(check(f->sig2_text, f->key_text, f->msg, f->msg_len, &why), MST_EPERM, &why, expect);
    free(expect);
    /* the right id with another key's bytes: the signature itself fails */
    struct mst__msig s;
    assert_int_equal(mst__msig_parse(f->sig_text, strlen(f->sig_text), &s, &why), 0);
    memcpy(k2.id, k.id, 8);
    assert_refused(mst__msig_verify(&s, &k2, f->msg, f->msg_len, &why), MST_EPERM, &why, "does not match the file");
    mst__msig_free(&s);
}

static void tampered_trusted_comment_is_refused(void **state)
{
    struct fixture *f = *state;
    struct mst__buf why = {0};
    char *bad = with_line(f->sig_text, 3, "trusted comment: release 9.9.9");
    assert_refused(check(bad, f->key_text, f->msg, f->msg_len, &why), MST_EPERM, &why,
                   "global signature does not match the trusted comment");
    assert_false(minisign_accepts(f, bad, "manifest.json"));
    free(bad);
    /* the global signature of another file's signature */
    char *other = line_of(f->legacy_text, 4);
    bad = with_line(f->sig_text, 4, other);
    assert_refused(check(bad, f->key_text, f->msg, f->msg_len, &why), MST_EPERM, &why, "global signature");
    free(bad);
    free(other);
    /* the untrusted comment is not signed: changing it changes nothing */
    bad = with_line(f->sig_text, 1, "untrusted comment: anything at all");
    assert_int_equal(check(bad, f->key_text, f->msg, f->msg_len, &why), 0);
    free(bad);
}

/* a line of base64 changed: n characters cut off the end, or the char at i replaced */
static char *base64_changed(const char *text, int line, size_t cut, int i, char c)
{
    char *s = line_of(text, line);
    s[strlen(s) - cut] = '\0';
    if (i >= 0)
        s[i] = c;
    char *out = with_line(text, line, s);
    free(s);
    return out;
}

static void bad_base64_is_refused(void **state)
{
    struct fixture *f = *state;
    struct mst__buf why = {0};
    struct mst__msig s;
    struct mst__mkey k;
    char *bad = base64_changed(f->sig_text, 2, 1, -1, 0);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 2: the signature is 99 base64 characters, expected 100");
    free(bad);
    bad = base64_changed(f->sig_text, 4, 4, -1, 0);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 4: the global signature is 84 base64 characters, expected 88");
    free(bad);
    bad = base64_changed(f->key_text, 2, 1, -1, 0);
    assert_refused(mst__mkey_parse(bad, strlen(bad), &k, &why), MST_EINVAL, &why,
                   "line 2: the public key is 55 base64 characters, expected 56");
    free(bad);
    bad = base64_changed(f->sig_text, 2, 0, 40, '*');
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 2: the signature is not canonical base64");
    free(bad);
    /* 74 bytes end in "x=": the last character's two low bits are unused and must be 0 */
    char *line = line_of(f->sig_text, 2);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int v = (int)(strchr(b64, line[98]) - b64);
    assert_int_equal(line[99], '=');
    assert_int_equal(v & 3, 0);
    bad = base64_changed(f->sig_text, 2, 0, 98, b64[v | 1]);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why, "not canonical base64");
    free(bad);
    free(line);
    /* padding where a character belongs */
    bad = base64_changed(f->sig_text, 4, 0, 85, '=');
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why, "not canonical base64");
    free(bad);
    /* a key line in place of a signature line */
    char *key_line = line_of(f->key_text, 2);
    bad = with_line(f->sig_text, 2, key_line);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why, "56 base64 characters");
    free(bad);
    free(key_line);
}

/* text with line 2 re-encoded from its bytes, the first two replaced */
static char *with_alg(const char *text, const char *alg)
{
    char *line = line_of(text, 2);
    unsigned char bin[80], again[120];
    int n = EVP_DecodeBlock(bin, (unsigned char *)line, (int)strlen(line));
    assert_true(n > 2);
    n -= (int)(strlen(line) - strcspn(line, "=")); /* the padding */
    memcpy(bin, alg, 2);
    EVP_EncodeBlock(again, bin, n);
    char *out = with_line(text, 2, (char *)again);
    free(line);
    return out;
}

static void wrong_algorithm_is_refused(void **state)
{
    struct fixture *f = *state;
    struct mst__buf why = {0};
    struct mst__msig s;
    struct mst__mkey k;
    char *bad = with_alg(f->sig_text, "EX");
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 2: the signature's algorithm is \"EX\", expected \"ED\" or \"Ed\"");
    free(bad);
    bad = with_alg(f->sig_text, "\x00\x01");
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why, "algorithm is 0x0001");
    free(bad);
    /* the key always says "Ed", even for prehashed signatures */
    bad = with_alg(f->key_text, "ED");
    assert_refused(mst__mkey_parse(bad, strlen(bad), &k, &why), MST_EINVAL, &why,
                   "line 2: the key's algorithm is \"ED\", expected \"Ed\"");
    free(bad);
    /* a legacy signature relabelled prehashed (and back) no longer verifies */
    bad = with_alg(f->legacy_text, "ED");
    assert_refused(check(bad, f->key_text, f->msg, f->msg_len, &why), MST_EPERM, &why, "does not match the file");
    free(bad);
    bad = with_alg(f->sig_text, "Ed");
    assert_refused(check(bad, f->key_text, f->msg, f->msg_len, &why), MST_EPERM, &why, "does not match the file");
    free(bad);
    /* a struct made by hand is checked too */
    assert_int_equal(mst__msig_parse(f->sig_text, strlen(f->sig_text), &s, &why), 0);
    key_of(f->key_text, &k);
    memcpy(s.alg, "XY", 2);
    assert_refused(mst__msig_verify(&s, &k, f->msg, f->msg_len, &why), MST_EPERM, &why, "unknown signature algorithm");
    mst__msig_free(&s);
}

static char *replaced(const char *text, const char *from, const char *to)
{
    struct mst__buf b = {0};
    for (const char *p = text; *p;) {
        if (strncmp(p, from, strlen(from)) == 0) {
            mst__buf_puts(&b, to);
            p += strlen(from);
        } else {
            mst__buf_append(&b, p++, 1);
        }
    }
    return b.data;
}

static void line_ends_and_garbage(void **state)
{
    struct fixture *f = *state;
    struct mst__buf why = {0};
    struct mst__msig s;
    /* CRLF, as minisign's trim() takes it; trailing empty lines; no final LF */
    char *ok = replaced(f->sig_text, "\n", "\r\n");
    assert_int_equal(check(ok, f->key_text, f->msg, f->msg_len, &why), 0);
    assert_true(minisign_accepts(f, ok, "manifest.json"));
    free(ok);
    ok = mst__xasprintf("%s\n\n", f->sig_text);
    assert_int_equal(check(ok, f->key_text, f->msg, f->msg_len, &why), 0);
    free(ok);
    ok = mst__xstrndup(f->sig_text, strlen(f->sig_text) - 1);
    assert_int_equal(check(ok, f->key_text, f->msg, f->msg_len, &why), 0);
    free(ok);
    char *key_crlf = replaced(f->key_text, "\n", "\r\n");
    assert_int_equal(check(f->sig_text, key_crlf, f->msg, f->msg_len, &why), 0);
    free(key_crlf);

    /* a CR inside a line, two CRs, a blank line between, a NUL, text after the end */
    char *line = line_of(f->sig_text, 2), *cr = mst__xasprintf("%.50s\r%s", line, line + 50);
    char *bad = with_line(f->sig_text, 2, cr);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why, "line 2: a carriage return inside");
    free(bad);
    free(cr);
    free(line);
    bad = replaced(f->sig_text, "\n", "\r\r\n");
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why, "line 1: a carriage return");
    free(bad);
    bad = with_line(f->sig_text, 3, "trusted comment: release\r1.2.0");
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why, "line 3: a carriage return");
    free(bad);
    bad = replaced(f->sig_text, "key\n", "key\n\n");
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 2: the signature is 0 base64 characters");
    free(bad);
    size_t n = strlen(f->sig_text);
    bad = mst__xstrndup(f->sig_text, n);
    bad[20] = '\0';
    assert_refused(mst__msig_parse(bad, n, &s, &why), MST_EINVAL, &why, "line 1: a NUL byte");
    free(bad);
    bad = mst__xasprintf("%s\nuntrusted comment: a second signature\n", f->sig_text);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why, "line 6: text after the last line");
    free(bad);
    bad = mst__xasprintf("%sx", f->key_text);
    struct mst__mkey k;
    assert_refused(mst__mkey_parse(bad, strlen(bad), &k, &why), MST_EINVAL, &why, "line 3: text after the last line");
    free(bad);
}

static void missing_lines_are_refused(void **state)
{
    struct fixture *f = *state;
    struct mst__buf why = {0};
    struct mst__msig s;
    struct mst__mkey k;
    assert_refused(mst__msig_parse("", 0, &s, &why), MST_EINVAL, &why, "line 1 missing");
    assert_refused(mst__mkey_parse("", 0, &k, &why), MST_EINVAL, &why, "line 1 missing");
    char *bad = with_line(f->sig_text, 4, NULL);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 4 missing: expected the global signature");
    free(bad);
    bad = with_line(f->key_text, 2, NULL);
    assert_refused(mst__mkey_parse(bad, strlen(bad), &k, &why), MST_EINVAL, &why,
                   "line 2 missing: expected the public key");
    free(bad);
    /* the comment lines must say what they are */
    bad = with_line(f->sig_text, 1, NULL);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 1: does not start with \"untrusted comment: \"");
    free(bad);
    bad = with_line(f->sig_text, 3, NULL);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 3: does not start with \"trusted comment: \"");
    free(bad);
    /* a secret key is not a public key */
    char *secret = slurp(f->dir, "k.key", NULL);
    assert_refused(mst__mkey_parse(secret, strlen(secret), &k, &why), MST_EINVAL, &why, "line 2: the public key is");
    free(secret);
    /* a public key is not a signature */
    assert_refused(mst__msig_parse(f->key_text, strlen(f->key_text), &s, &why), MST_EINVAL, &why,
                   "line 2: the signature is 56 base64 characters");
}

/* as long as minisign -V reads them (fgets into 8192 and 1024 bytes, the
 * line end included), and no longer */
static void overlong_comments_are_refused(void **state)
{
    struct fixture *f = *state;
    struct mst__buf why = {0}, tc = {0};
    struct mst__msig s;
    mst__buf_puts(&tc, "trusted comment: ");
    for (int i = 0; i < MST__MSIG_COMMENT_MAX; i++)
        mst__buf_puts(&tc, "x");
    char *at_max = with_line(f->sig_text, 3, tc.data);
    assert_int_equal(mst__msig_parse(at_max, strlen(at_max), &s, &why), 0);
    assert_int_equal(strlen(s.trusted_comment), 8173);
    mst__msig_free(&s);
    /* minisign reads it too: the global signature is what fails there */
    free(write_file(f->dir, "long.minisig", at_max));
    char *cmd = mst__xasprintf("cd '%s' && minisign -V -p k.pub -m manifest.json -x long.minisig 2>&1", f->dir);
    FILE *p = popen(cmd, "r");
    char said[256] = "";
    assert_non_null(p);
    assert_non_null(fgets(said, sizeof said, p));
    pclose(p);
    assert_string_equal(said, "Comment signature verification failed\n");
    /* the same with CRLF is one byte too long for minisign, and for us */
    char *crlf = replaced(at_max, "\n", "\r\n");
    assert_refused(mst__msig_parse(crlf, strlen(crlf), &s, &why), MST_EINVAL, &why,
                   "line 3: the trusted comment is longer than minisign reads (8192 bytes with the prefix and line "
                   "end, at most 8191)");
    mst__buf_puts(&tc, "x");
    char *over = with_line(f->sig_text, 3, tc.data);
    assert_refused(mst__msig_parse(over, strlen(over), &s, &why), MST_EINVAL, &why,
                   "line 3: the trusted comment is longer than minisign reads");
    free(write_file(f->dir, "long.minisig", over));
    assert_false(minisign_accepts(f, over, "manifest.json"));
    /* an untrusted comment line: 1023 bytes with its LF */
    char *untrusted = mst__xasprintf("untrusted comment: %1003d", 7);
    char *ok = with_line(f->sig_text, 1, untrusted);
    assert_int_equal(check(ok, f->key_text, f->msg, f->msg_len, &why), 0);
    assert_true(minisign_accepts(f, ok, "manifest.json"));
    free(untrusted);
    untrusted = mst__xasprintf("untrusted comment: %1004d", 7);
    char *bad = with_line(f->sig_text, 1, untrusted);
    assert_refused(mst__msig_parse(bad, strlen(bad), &s, &why), MST_EINVAL, &why,
                   "line 1: the untrusted comment is longer than minisign reads (1024 bytes");
    assert_false(minisign_accepts(f, bad, "manifest.json"));
    free(bad);
    free(ok);
    free(untrusted);
    free(over);
    free(crlf);
    free(cmd);
    free(at_max);
    mst__buf_free(&tc);
}

/* the same digest as sha256sum, from offset 0 whatever the fd's offset */
static void sha256_of_an_fd_agrees_with_sha256sum(void **state)
{
    struct fixture *f = *state;
    char *path = mst__path_join(f->dir, "big.bin");
    assert_int_equal(sh("head -c 100001 /dev/urandom > '%s'", path), 0);
    char *cmd = mst__xasprintf("sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    char want[65] = "";
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%64s", want), 1);
    pclose(p);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 500, SEEK_SET), 500);
    uint8_t sum[32];
    char hex[65];
    assert_int_equal(mst__sha256_fd(fd, sum), 0);
    mst__hex(sum, sizeof sum, hex);
    assert_string_equal(hex, want);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 500); /* pread: the offset did not move */
    close(fd);
    /* the empty file */
    char *empty = write_file(f->dir, "empty", "");
    fd = open(empty, O_RDONLY);
    assert_int_equal(mst__sha256_fd(fd, sum), 0);
    mst__hex(sum, sizeof sum, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    close(fd);
    /* a folder cannot be read: MST_EIO with the system's reason */
    fd = open(f->dir, O_RDONLY | O_DIRECTORY);
    errno = 0;
    assert_int_equal(mst__sha256_fd(fd, sum), MST_EIO);
    assert_int_equal(errno, EISDIR);
    close(fd);
    free(empty);
    free(cmd);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prehashed_signature_is_accepted),
        cmocka_unit_test(legacy_signature_is_accepted),
        cmocka_unit_test(key_id_reads_as_minisign_prints_it),
        cmocka_unit_test(flipped_byte_is_refused),
        cmocka_unit_test(wrong_key_is_refused),
        cmocka_unit_test(tampered_trusted_comment_is_refused),
        cmocka_unit_test(bad_base64_is_refused),
        cmocka_unit_test(wrong_algorithm_is_refused),
        cmocka_unit_test(line_ends_and_garbage),
        cmocka_unit_test(missing_lines_are_refused),
        cmocka_unit_test(overlong_comments_are_refused),
        cmocka_unit_test(sha256_of_an_fd_agrees_with_sha256sum),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
