/*
 * verify.c - `mestys verify voting` (mestys-voting-verify): anyone checks a
 * published budget from its published files alone.
 *
 *   mestys verify voting --audit FILE [--head HEX] [--pb FILE] [--result FILE] [--receipt TEXT]
 *
 * --audit   recomputes the hash chain and names the first entry that does
 *           not follow from the one before (a changed, removed or inserted
 *           ballot); --head compares the last link with the published head
 * --pb      reads the ballot list (pabulib) and checks it holds exactly the
 *           audit log's ballots, in order; then recounts it with the rule
 *           its META names (the rules library the town runs)
 * --result  compares that recount with the published result (JSON)
 * --receipt finds the ballot of a receipt (by SHA-256 of it) in the log
 * Exit status: 0 every check passed, 1 a check failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "pb.h"
#include "rules.h"
#include "voting.h"

/* Reads a whole file.  A file that cannot be read is said in the report itself, as "<what>: <path>:
 * <reason>", so that a wrong path is not taken for a failed check. */
static char *slurp(const char *what, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("%s: %s: cannot read it: %s\n", what, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap * 2 + 1);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* The audit log: its budget and its entries (pointers into the text). */
struct audit {
    char *text;
    const char *budget;
    char **hash, **sealed;
    size_t n;
};

static int audit_read(const char *path, struct audit *a)
{
    size_t len;
    if (!(a->text = slurp("audit", path, &len)))
        return 1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += a->text[i] == '\n';
    a->hash = calloc(lines, sizeof *a->hash);
    a->sealed = calloc(lines, sizeof *a->sealed);
    if (!a->hash || !a->sealed)
        return 1;
    size_t line = 0;
    for (char *s = a->text, *next; s && *s; s = next) {
        next = strchr(s, '\n');
        if (next)
            *next++ = '\0';
        line++;
        if (strncmp(s, "# budget ", 9) == 0)
            a->budget = s + 9;
        if (*s == '#' || !*s)
            continue;
        char *space = strchr(s, ' ');
        if (!space || space - s != 64) {
            printf("audit: line %zu is not \"<64 hex digits> <sealed ballot>\"\n", line);
            return 1;
        }
        *space = '\0';
        a->hash[a->n] = s;
        a->sealed[a->n++] = space + 1;
    }
    if (!a->budget) {
        printf("audit: no \"# budget <id>\" line\n");
        return 1;
    }
    return 0;
}

static int audit_chain(const struct audit *a, const char *head)
{
    unsigned char link[32];
    char hex[65];
    vote_chain_start(a->budget, link);
    for (size_t i = 0; i < a->n; i++) {
        vote_chain_next(link, a->sealed[i], strlen(a->sealed[i]), link);
        vote_hex(link, 32, hex);
        if (strcmp(hex, a->hash[i]) != 0) {
            printf("audit: entry %zu does not follow from the entry before it: the log was changed at entry %zu "
                   "(\"%.80s\")\n", i + 1, i + 1, a->sealed[i]);
            return 1;
        }
    }
    vote_hex(link, 32, hex);
    printf("audit: %zu entries, the chain holds; head %s\n", a->n, hex);
    if (head && strcmp(head, hex) != 0) {
        printf("audit: the head is not the published one (%s)\n", head);
        return 1;
    }
    return 0;
}

/* The ballot list holds the log's ballots, one for one, in order. */
static int pb_matches(const struct pb_election *e, const struct audit *a)
{
    if (e->n_ballots != a->n) {
        printf("ballots: the .pb file has %zu ballots, the audit log %zu\n", e->n_ballots, a->n);
        return 1;
    }
    for (size_t i = 0; i < e->n_ballots; i++) {
        const struct pb_ballot *b = &e->ballots[i];
        char line[16384];
        size_t n = (size_t)snprintf(line, sizeof line, "%s;", b->voter_id);
        for (uint32_t k = 0; k < b->n && n < sizeof line; k++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", k ? "," : "", e->projects[b->projects[k]].id);
        if (b->points && n < sizeof line)
            n += (size_t)snprintf(line + n, sizeof line - n, ";");
        for (uint32_t k = 0; b->points && k < b->n && n < sizeof line; k++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%lld", k ? "," : "", (long long)b->points[k]);
        if (strcmp(line, a->sealed[i]) != 0) {
            printf("ballots: ballot %zu of the .pb file (\"%.80s\") is not entry %zu of the audit log\n", i + 1,
                   line, i + 1);
            return 1;
        }
    }
    printf("ballots: the .pb file holds exactly the audit log's %zu ballots\n", a->n);
    return 0;
}

static int receipt_find(const struct audit *a, const char *typed)
{
    char receipt[32], rh[65];
    if (vote_receipt_normalise(typed, receipt, sizeof receipt) != 0) {
        printf("receipt: \"%s\" is not a receipt (25 symbols, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)\n", typed);
        return 1;
    }
    vote_hash_hex(receipt, rh);
    for (size_t i = 0; i < a->n; i++)
        if (strncmp(a->sealed[i], rh, 64) == 0 && a->sealed[i][64] == ';') {
            printf("receipt: found as entry %zu: %s\n", i + 1, a->sealed[i]);
            return 0;
        }
    printf("receipt: SHA-256 of this receipt (%s) is not in the audit log: that ballot is not counted\n", rh);
    return 1;
}

static const char *meta_of(const struct pb_election *e, const char *key)
{
    for (size_t i = 0; i < e->n_meta; i++)
        if (strcmp(e->meta[i].key, key) == 0)
            return e->meta[i].value;
    return NULL;
}

/* Recounts e; compares with the published result if one is given. */
static int recount(const struct pb_election *e, const char *result_path)
{
    const char *rule = meta_of(e, "rule");
    struct vote_options o;
    char err[256] = "";
    cJSON *mine = NULL;
    if (!rule || vote_options_of(rule, e->vote_type == PB_CUMULATIVE ? VOTE_CUMULATIVE : VOTE_APPROVAL, &o) != 0) {
        printf("recount: the .pb file's META names no rule this tool knows (\"%s\")\n", rule ? rule : "");
        return 1;
    }
    if (vote_explain(e, &o, &mine, err, sizeof err) != 0) {
        printf("recount: %s\n", err[0] ? err : "out of memory");
        return 1;
    }
    const cJSON *p, *mp = cJSON_GetObjectItemCaseSensitive(mine, "projects");
    printf("recount (%s): selected", rule);
    cJSON_ArrayForEach(p, mp)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "selected")))
            printf(" %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "id")));
    printf("\n");
    int bad = 0;
    size_t len;
    char *text = result_path ? slurp("recount", result_path, &len) : NULL;
    if (result_path && !text)
        bad = 1;
    if (text) {
        cJSON *pub = cJSON_Parse(text);
        free(text);
        const cJSON *pp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pub, "explanation"),
                                                           "projects");
        bad = !cJSON_IsArray(pp) || cJSON_GetArraySize(pp) != cJSON_GetArraySize(mp);
        for (int i = 0; !bad && i < cJSON_GetArraySize(mp); i++) {
            const cJSON *a = cJSON_GetArrayItem(mp, i), *b = cJSON_GetArrayItem(pp, i);
            bad = !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(a, "id"), cJSON_GetObjectItemCaseSensitive(b, "id"), 1) ||
                  !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(a, "selected"),
                                 cJSON_GetObjectItemCaseSensitive(b, "selected"), 1);
            if (bad)
                printf("recount: project %s: the published result says %s, the recount says %s\n",
                       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "id")),
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "selected")) ? "selected" : "not selected",
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "selected")) ? "selected" : "not selected");
        }
        if (!pp)
            printf("recount: %s is not a published result (no explanation.projects)\n", result_path);
        else if (!bad)
            printf("recount: the published result matches\n");
        cJSON_Delete(pub);
    }
    cJSON_Delete(mine);
    return bad;
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: mestys verify voting --audit FILE [--head HEX] [--pb FILE] [--result FILE] "
               "[--receipt TEXT]\n"
               "       mestys verify voting --pb FILE [--result FILE]\n"
               "Checks a published budget from its published files: the audit log's hash chain (naming the first\n"
               "entry changed), that the ballot list (.pb) holds the log's ballots, a receipt, and a recount of\n"
               "the ballot list by the rule its META names, compared with the published result.\n");
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"audit", required_argument, NULL, 'a'}, {"head", required_argument, NULL, 'H'},
        {"pb", required_argument, NULL, 'p'},    {"result", required_argument, NULL, 'r'},
        {"receipt", required_argument, NULL, 'R'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    const char *audit_path = NULL, *head = NULL, *pb_path = NULL, *result = NULL, *receipt = NULL;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'a': audit_path = optarg; break;
        case 'H': head = optarg; break;
        case 'p': pb_path = optarg; break;
        case 'r': result = optarg; break;
        case 'R': receipt = optarg; break;
        case 'h': return usage(stdout, 0);
        default: return usage(stderr, 2);
        }
    }
    if (optind != argc || (!audit_path && !pb_path) || (receipt && !audit_path) || (result && !pb_path))
        return usage(stderr, 2);
    struct audit a = {0};
    struct pb_election e = {0};
    int bad = 0, have_pb = 0;
    if (audit_path) {
        bad = audit_read(audit_path, &a) || audit_chain(&a, head);
        if (receipt)
            bad |= receipt_find(&a, receipt);
    }
    if (pb_path) {
        size_t len;
        char err[256] = "", *text = slurp("ballots", pb_path, &len);
        int rc = text ? pb_parse(text, len, &e, err, sizeof err) : MST_EIO;
        free(text);
        if (rc != 0) {
            if (text)
                printf("ballots: %s: %s\n", pb_path, err[0] ? err : mst_strerror(rc));
            bad = 1;
        } else {
            have_pb = 1;
            if (audit_path && a.n == 0 && !a.budget)
                bad = 1;
            else if (audit_path)
                bad |= pb_matches(&e, &a);
            bad |= recount(&e, result);
        }
    }
    if (have_pb)
        pb_election_free(&e);
    free(a.text);
    free(a.hash);
    free(a.sealed);
    printf("%s\n", bad ? "FAILED" : "OK");
    return bad ? 1 : 0;
}
