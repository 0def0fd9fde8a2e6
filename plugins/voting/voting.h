/*
 * voting.h - the voting plugin's internals: participatory budgeting, from
 * proposals to published, recountable results.
 *
 * plugin.c holds the descriptor and the instance's life; each other file
 * holds one part of the process (see docs/plugins/voting.md):
 *   check.c          what the config table cannot say, for `mestys check`
 *   budget.c         budgets from the config, phases, the frozen ballot rules
 *   db.c             the SQLite schema and the few queries every part shares
 *   http.c           answers (JSON, errors) and the routing of a budget's paths
 *   status.c         one budget as the clerk's pages need it (GET manage/<id>)
 *   proposals.c      proposals and their review
 *   code.c           one-time codes and receipts: format, check symbol, hash
 *   register.c       the register of eligible voters, the codes' letters
 *   register_csv.c   the register's CSV read
 *   ballot.c         a ballot's JSON read and checked against its budget's rules
 *   cast.c           ballots cast: queued, committed in batches, receipts
 *   chain.c          the SHA-256 hash chain (shared with `mestys verify voting`)
 *   paper.c          paper ballots entered twice by two clerks
 *   identity.c       the Lua identity hook; a hook's voter registered
 *   identity_http.c  the HTTP identity service, asked from a worker
 *   identity_answer.c its answer read
 *   dates.c          when each phase begins, in the public budget answer
 *   count.c          counting with the rules library on a worker
 *   options.c        a rule's name as the rules library's options
 *   results.c        what is published once counting ends (HTTP, bus, open data)
 *   verify.c         `mestys verify voting`
 */
#ifndef VOTING_VOTING_H
#define VOTING_VOTING_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include <mestys/host.h>

#define VOTE_MAX_BUDGETS 64
#define VOTE_ID_MAX 64
/* Ballots waiting for the disk: more are refused with 503 (counted). */
#define VOTE_MAX_QUEUED 10000
/* Proposals a budget takes (anyone may propose, without a token). */
#define VOTE_MAX_PROPOSALS 2000

/* The phases in order; a budget only ever moves forward. */
enum vote_phase {
    VOTE_PROPOSALS = 0,
    VOTE_REVIEW,
    VOTE_VOTING,
    VOTE_COUNTING,
    VOTE_RESULTS,
    VOTE_N_PHASES,
};

enum vote_ballot_type {
    VOTE_APPROVAL = 0, /* between min and max projects */
    VOTE_KNAPSACK,     /* total cost within the budget (and at least min_share of it) */
    VOTE_CUMULATIVE,   /* points spread over projects */
};

enum vote_eligibility {
    VOTE_BY_CODE = 0, /* one-time codes sent to the imported register */
    VOTE_BY_LUA,      /* a Lua function says who the voter is */
    VOTE_BY_HTTP,     /* the town's login service says, over HTTP */
};

/* What a ballot may be: frozen once voting starts (budget.c). */
struct vote_rules {
    enum vote_ballot_type type;
    int64_t min_projects;
    int64_t max_projects; /* 0: no maximum */
    double min_share;     /* knapsack: at least this share of the amount */
    int64_t points;       /* cumulative: points a voter spreads */
    int64_t max_points;   /* cumulative: at most this many on one project (0: no limit) */
    char rule[32];        /* the counting rule, e.g. "mes+add1+greedy" */
    int replace;          /* a voter may replace their ballot until voting closes */
    double amount;
};

struct vote_budget {
    char id[VOTE_ID_MAX + 1];
    char *name, *district, *currency;
    struct vote_rules rules;
    enum vote_eligibility eligibility;
    mst_script *identity;          /* VOTE_BY_LUA */
    char *identity_url;            /* VOTE_BY_HTTP */
    int64_t identity_timeout_ms;
    int64_t dates[VOTE_N_PHASES];  /* when each phase begins (ms), 0: by the operator */
    enum vote_phase phase;
    int counting_busy;
    int date_refused;
    int count_failed;
};

enum vote_refusal {
    VOTE_R_REQUEST = 0,
    VOTE_R_PHASE,
    VOTE_R_UNKNOWN_CODE,
    VOTE_R_USED_CODE,
    VOTE_R_BALLOT,
    VOTE_R_RECEIPT,
    VOTE_R_REGISTER,
    VOTE_R_IDENTITY,
    VOTE_R_PROPOSAL,
    VOTE_R_BUSY,
    VOTE_N_REFUSALS,
};

struct vote_pending;

struct vote {
    mst_instance *inst;
    const struct mst_host *host;
    sqlite3 *db;
    /* ballots: committed by one worker at a time on this connection
     * (synchronous=FULL), the rest waiting in the queue */
    sqlite3 *ballot_db;
    struct vote_pending *queue, **queue_tail, *committing;
    size_t queued; /* in queue, at most VOTE_MAX_QUEUED */
    struct vote_budget budgets[VOTE_MAX_BUDGETS];
    size_t n_budgets;
    mst_timer *clock;
    int stopping;
    /* what was refused, by reason; each reason logged once */
    mst_metric *refused[VOTE_N_REFUSALS];
    mst_metric *cast, *replaced, *paper_disagreed, *counted;
    unsigned logged; /* bit per refusal reason already logged */
};

/* --- budget.c -------------------------------------------------------------- */
const char *vote_phase_name(enum vote_phase p);
int vote_phase_parse(const char *name, enum vote_phase *out);
const char *vote_ballot_type_name(enum vote_ballot_type t);
/* Reads every budget from the config; a message on error. */
int vote_budgets_load(struct vote *v, char *why, size_t whylen);
void vote_budgets_free(struct vote *v);
struct vote_budget *vote_budget_find(struct vote *v, const char *id, size_t len);
/* The ballot rules as canonical JSON text (compared with the frozen copy). */
char *vote_rules_json(const struct vote_budget *b);
/* Reads each budget's phase from the database; refuses (why) a config whose
 * ballot rules differ from those frozen when voting started. */
int vote_budgets_restore(struct vote *v, char *why, size_t whylen);
/* Moves a budget to `to` (only forward, one or more steps); why on refusal. */
int vote_phase_set(struct vote *v, struct vote_budget *b, enum vote_phase to, char *why, size_t whylen);
/* Configured dates that have come: the timer's callback. */
void vote_clock(void *arg);
/* Publishes voting/phase for b's current phase. */
void vote_phase_published(struct vote *v, const struct vote_budget *b);

/* --- dates.c --------------------------------------------------------------- */
/* Adds "dates": {"review", "voting", "counting"}: ISO 8601 UTC, or null when
 * the operator moves that phase. */
void vote_dates_json(const struct vote_budget *b, cJSON *out);

/* --- check.c ------------------------------------------------------------------ */
/* The plugin's check (struct mst_plugin.check): ids, amount, limits, dates, hook. */
int vote_config_check(const char *config, char *path, size_t path_len, char *msg, size_t msg_len);

/* --- db.c ------------------------------------------------------------------ */
extern const char *const vote_migrations[];
/* Runs one statement with text parameters (NULL: SQL NULL); 0 or MST_EDB. */
int vote_db_exec(sqlite3 *db, const char *sql, int n, const char *const *params);
int vote_db_begin(sqlite3 *db);
int vote_db_end(sqlite3 *db, int rc); /* COMMIT when rc == 0, else ROLLBACK; returns rc or MST_EDB */
/* A statement's first column as text (malloc'd), NULL if no row. */
char *vote_db_text(sqlite3 *db, const char *sql, int n, const char *const *params);

/* --- http.c ---------------------------------------------------------------- */
void vote_respond_json(struct vote *v, mst_http_request *req, int status, cJSON *body);
void vote_respond_error(struct vote *v, mst_http_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void vote_respond_text(struct vote *v, mst_http_request *req, const char *type, char *text);
/* Counts a refusal by reason (mestys_voting_refused_total{reason}) and logs
 * the first of each reason only: a client could fill the log. */
void vote_refuse(struct vote *v, enum vote_refusal reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The request body as parsed JSON object, or NULL (answered 400). */
cJSON *vote_body_json(struct vote *v, mst_http_request *req);
int vote_routes(struct vote *v);
int vote_refusal_metrics(struct vote *v);

/* --- status.c ----------------------------------------------------------------- */
/* Answers GET manage/<id>: `entry` (the public entry, taken) with the rules' lock and config key, the register's and paper entries' figures. */
void vote_status_get(struct vote *v, struct vote_budget *b, cJSON *entry, mst_http_request *req);

/* --- proposals.c ------------------------------------------------------------ */
void vote_proposals_get(struct vote *v, struct vote_budget *b, mst_http_request *req, int private_view);
void vote_proposals_post(struct vote *v, struct vote_budget *b, mst_http_request *req);
void vote_proposal_put(struct vote *v, struct vote_budget *b, const char *n, mst_http_request *req);
void vote_proposal_review(struct vote *v, struct vote_budget *b, const char *n, mst_http_request *req);
/* The projects on the ballot: feasible proposals, as a JSON array of
 * {"id", "title", "cost"} ordered by id (NULL on error).  Any thread, on
 * its own connection (count.c reads on a worker). */
cJSON *vote_projects(sqlite3 *db, const char *budget);

/* --- code.c ------------------------------------------------------------------ */
#define VOTE_CODE_LEN 29    /* "XXXXX-XXXXX-XXXXX-XXXXX-XXXXC": 24 symbols + check, 4 dashes */
#define VOTE_RECEIPT_LEN 29 /* 25 symbols (125 bits), 4 dashes */
/* A fresh code (120 bits from the kernel) into out[VOTE_CODE_LEN + 1]. */
int vote_code_new(char out[VOTE_CODE_LEN + 1]);
/* A fresh receipt (128 bits) into out[VOTE_RECEIPT_LEN + 1]. */
int vote_receipt_new(char out[VOTE_RECEIPT_LEN + 1]);
/* Canonical form (upper case, no dashes or spaces, I/L→1, O→0) of what a
 * person typed; -1 if a character is not base32 or the length is wrong.
 * Codes also check their check character. */
int vote_code_normalise(const char *typed, char *out, size_t outlen);
int vote_receipt_normalise(const char *typed, char *out, size_t outlen);
/* SHA-256 of the canonical text, as 64 hex digits. */
void vote_hash_hex(const char *text, char out[65]);

/* --- register.c --------------------------------------------------------------- */
struct vote_voter {
    char *voter, *name, *address;
};
/* Parses a register CSV ("voter,name,address" with that header; name and
 * address optional columns).  On error, why names the line. */
int vote_register_parse(const char *text, size_t len, struct vote_voter **out, size_t *n, char *why, size_t whylen);
void vote_register_free(struct vote_voter *v, size_t n);
void vote_register_post(struct vote *v, struct vote_budget *b, mst_http_request *req);
void vote_codes_post(struct vote *v, struct vote_budget *b, mst_http_request *req);

/* --- ballot.c ------------------------------------------------------------------ */
struct vote_choice {
    int64_t project;
    int64_t points; /* 1 unless cumulative */
};
struct vote_project_ref { /* what ballot.c checks a ballot against */
    int64_t id;
    double cost;
};
/* Reads the ballot's "projects" (array of ids) or "points" (object id -> n)
 * and checks it against the rules and the projects; choices sorted by project.
 * Returns 0, or MST_EINVAL with a sentence in why. */
int vote_ballot_read(const cJSON *ballot, const struct vote_rules *rules, const struct vote_project_ref *projects,
                     size_t n_projects, struct vote_choice **out, size_t *n, char *why, size_t whylen);
/* The sealed ballot: its published line "<receipt hash>;<ids>[;<points>]". */
char *vote_ballot_seal(const char *receipt_hash, const struct vote_choice *c, size_t n, int cumulative);

/* --- cast.c ------------------------------------------------------------------- */
/* Casts an identified voter's checked ballot (voter_key: the hash of their
 * code, or of what the identity hook said); the body may carry "receipt"
 * (a replacement).  Answers the request once the ballot is committed. */
void vote_cast_request(struct vote *v, struct vote_budget *b, const cJSON *body, const char *voter_key,
                       const struct vote_choice *c, size_t n, mst_http_request *req);
/* 1 if b takes ballots now, else answers 409 and returns 0. */
int vote_voting_open(struct vote *v, struct vote_budget *b, mst_http_request *req);
void vote_ballots_post(struct vote *v, struct vote_budget *b, mst_http_request *req);
/* Frees the ballots still queued (fini). */
void vote_cast_free(struct vote *v);
/* Reads and checks the "projects"/"points" of a request against b. */
int vote_ballot_from_request(struct vote *v, struct vote_budget *b, const cJSON *body, struct vote_choice **c,
                             size_t *n, char *why, size_t whylen);

/* --- chain.c ------------------------------------------------------------------- */
/* The first link of a budget's chain: SHA-256("mestys voting " || budget). */
void vote_chain_start(const char *budget, unsigned char out[32]);
/* entry = SHA-256(prev || sealed). */
void vote_chain_next(const unsigned char prev[32], const char *sealed, size_t len, unsigned char out[32]);
/* code.c: n bytes as 2n lower-case hex digits and a NUL. */
void vote_hex(const unsigned char *b, size_t n, char *out);

/* --- paper.c -------------------------------------------------------------------- */
void vote_paper_post(struct vote *v, struct vote_budget *b, mst_http_request *req);

/* --- identity.c, identity_http.c ---------------------------------------------- */
/* Asks the budget's Lua hook who the voter presenting `credentials` is;
 * voter_key gets their register key; an HTTP status on refusal. */
int vote_identity_check(struct vote *v, struct vote_budget *b, const cJSON *credentials, char voter_key[65],
                        char *why, size_t whylen);
/* The register row of a voter a hook named ("lua" or "http"), keyed by
 * SHA-256 of the hook, the budget and the id, into voter_key. */
int vote_identity_register(struct vote *v, struct vote_budget *b, const char *hook, const char *voter,
                           char voter_key[65]);
/* The identity service's answer (a whole HTTP/1.x response): 0 and the
 * voter's id when it is 200 {"voter": "..."}; else MST_EINVAL, *status (0
 * if not HTTP) and why (the service's "error" if it gave one).  Pure:
 * tests/fuzz/voting_identity.c drives it. */
int vote_identity_answer(const char *answer, int *status, char *voter, size_t voterlen, char *why, size_t whylen);
/* Asks the budget's identity_url on a worker, then casts the checked
 * ballot c (taking body and c) and answers req. */
void vote_identity_http(struct vote *v, struct vote_budget *b, cJSON *body, struct vote_choice *c, size_t n,
                        mst_http_request *req);

/* --- count.c --------------------------------------------------------------------- */
/* Starts counting b on a worker; moves it to results when done. */
int vote_count_start(struct vote *v, struct vote_budget *b);
struct vote_options;
/* options.c: the rules library's options for a rule name of the config
 * (shared with verify); MST_EINVAL for an unknown name. */
int vote_options_of(const char *rule, enum vote_ballot_type type, struct vote_options *o);

/* --- results.c ------------------------------------------------------------------- */
void vote_results_get(struct vote *v, struct vote_budget *b, const char *what, mst_http_request *req);
/* Publishes the results on the bus (voting/result per project). */
void vote_results_publish(struct vote *v, struct vote_budget *b);

#endif /* VOTING_VOTING_H */
