/* pb.h - an election in the pabulib `.pb` format (pabulib.org/format):
 * read, build, write back.
 *
 * The text is UTF-8 with three sections, META, PROJECTS and VOTES, each a
 * title line, a ';'-separated header line and rows; fields may be quoted as
 * in CSV ("a;b", "" inside); lines end in LF or CRLF.  META rows are
 * key;value (budget is required; vote_type defaults to approval).  PROJECTS needs project_id
 * and cost; VOTES needs voter_id and vote (comma-separated project ids) and,
 * for cumulative and scoring ballots, points (comma-separated integers, one
 * per listed project).  Every other column is kept as text and written
 * back, so a file read and written again keeps what pabutools and the
 * equalshares.net tool read.
 *
 * Money is in whole units of the election's currency (int64): a budget or a
 * cost with a fractional part other than zeros is refused.
 *
 * Memory: an election owns every string and array in it;
 * pb_election_free frees all of it.  Nothing here logs or calls the host:
 * the tests, the fuzz target, the bench and `mestys verify` use it as is.
 */
#ifndef VOTING_PB_H
#define VOTING_PB_H

#include <stddef.h>
#include <stdint.h>

enum pb_vote_type {
    PB_APPROVAL = 0, /* "approval": the ballot lists the projects approved */
    PB_CUMULATIVE,   /* "cumulative": points spread over the listed projects */
    PB_ORDINAL,      /* "ordinal": the ballot lists projects, most preferred first */
    PB_SCORING,      /* "scoring": a score per listed project (points column) */
    PB_CHOOSE1,      /* "choose-1": one project per ballot */
};

/* One project.  `fields` has one entry per PROJECTS column (NULL where
 * empty), aligned with pb_election.project_cols; id, cost and name are the
 * parsed copies of three of them. */
struct pb_project {
    char *id;        /* project_id, unique in the election */
    int64_t cost;    /* >= 0 */
    char *name;      /* the `name` column, or NULL */
    char **fields;   /* n_project_cols entries */
};

/* One ballot.  projects[] are indices into pb_election.projects in the
 * order the ballot lists them (for ordinal ballots: most preferred first);
 * no index twice.  points[] is NULL unless the file has a points column
 * (cumulative, scoring), then one per listed project.  An empty ballot
 * (n == 0) is a voter: it counts in n for the per-voter share. */
struct pb_ballot {
    char *voter_id;
    uint32_t *projects;
    int64_t *points;
    uint32_t n;
    char **fields;   /* n_vote_cols entries: the VOTES columns other than vote/points as text */
};

struct pb_meta {
    char *key;
    char *value;
};

struct pb_election {
    int64_t budget;                 /* META budget */
    enum pb_vote_type vote_type;    /* META vote_type */
    struct pb_meta *meta;           /* every META row in file order (budget, vote_type included) */
    size_t n_meta;
    char **project_cols;            /* PROJECTS header (project_id and cost included) */
    size_t n_project_cols;
    struct pb_project *projects;
    size_t n_projects;
    char **vote_cols;               /* VOTES header (voter_id, vote, points included) */
    size_t n_vote_cols;
    struct pb_ballot *ballots;
    size_t n_ballots;
    /* internal: capacities and the project id hash (pb_project_find) */
    size_t cap_projects, cap_ballots, cap_meta;
    uint32_t *id_slots;
    size_t n_id_slots;
};

/* Reads a .pb text.  0 and *out filled (free with pb_election_free), or
 * MST_EINVAL with err = "LINE:COL: what is wrong" (1-based, column in bytes)
 * and *out left empty, or MST_ENOMEM.  Refused: a missing section or
 * required column, a row with more or fewer fields than its header, an
 * unclosed quote, a cost or budget that is not a whole non-negative number,
 * a duplicate project_id, a ballot naming an unknown project or one twice,
 * points that are not integers or do not match the listed projects, an
 * unknown vote_type, a NUL byte. */
int pb_parse(const char *text, size_t len, struct pb_election *out, char *err, size_t errlen);

/* The election as .pb text (LF line ends, quoting only where needed), NUL
 * terminated, *len set if len is not NULL; free with free().  NULL only if
 * out of memory.  pb_parse reads it back to an election pb_equal to e. */
char *pb_write(const struct pb_election *e, size_t *len);

void pb_election_free(struct pb_election *e);

/* 1 if a and b hold the same budget, type, meta, columns, projects and
 * ballots (same order), else 0. */
int pb_equal(const struct pb_election *a, const struct pb_election *b);

/* Building an election in code (the voting plugin's ballots, tests).
 * pb_election_init gives an empty approval election with the given budget
 * and the columns project_id;cost;name and voter_id;vote.  The adders copy
 * their strings; they return 0, MST_EINVAL (duplicate id, unknown index,
 * negative cost, a project listed twice, a META key given twice) or
 * MST_ENOMEM. */
int pb_election_init(struct pb_election *e, int64_t budget, enum pb_vote_type type);
int pb_meta_set(struct pb_election *e, const char *key, const char *value);
int pb_project_add(struct pb_election *e, const char *id, int64_t cost, const char *name);
/* points may be NULL (approval); for cumulative/scoring elections the
 * VOTES header gets a points column. */
int pb_ballot_add(struct pb_election *e, const char *voter_id, const uint32_t *projects,
                  const int64_t *points, uint32_t n);

/* The index of project `id`, or -1. */
long pb_project_find(const struct pb_election *e, const char *id);

/* "approval", "cumulative", ...; pb_vote_type_parse returns 0 or MST_EINVAL. */
const char *pb_vote_type_name(enum pb_vote_type t);
int pb_vote_type_parse(const char *name, enum pb_vote_type *out);

#endif /* VOTING_PB_H */
