/* explain.h - a counted election told for a council member and a voter:
 * per project its cost, votes, effective support, won or not and why, and
 * the same election counted by greedy beside it (how many voters got none
 * of their projects under each rule). */
#ifndef VOTING_EXPLAIN_H
#define VOTING_EXPLAIN_H

#include <cjson/cJSON.h>

#include "pb.h"
#include "rules.h"

/* One sentence for a reason, e.g. "not enough supporters' money left". */
const char *vote_reason_text(enum vote_reason r);
/* A stable machine name, e.g. "lost_money". */
const char *vote_reason_name(enum vote_reason r);

/* The explanation as JSON (the plugin serves and publishes it as is):
 * {"rule": "mes", "completion": "add1", "tie": "votes-cost-id", "utility": "cost",
 *  "budget": B, "voters": n, "per_voter_budget": "B/n + steps" as a number,
 *  "total_cost": ..., "steps": ...,
 *  "voters_without": {"rule": x, "greedy": y},
 *  "projects": [{"id", "name", "cost", "votes", "effective_support",
 *                "selected", "reason", "why", "rank",
 *                "greedy": {"selected", "reason", "why"}}, ...]}
 * in the election's project order.  `greedy` may be NULL (then no greedy
 * columns and no voters_without.greedy).  NULL only if out of memory. */
cJSON *vote_explain_json(const struct pb_election *e, const struct vote_options *o,
                         const struct vote_outcome *rule, const struct vote_outcome *greedy);

/* Counts `e` by `o` and by greedy (same tie order) and explains both: the
 * usual call.  0 and *out (free with cJSON_Delete), or what vote_count
 * returns. */
int vote_explain(const struct pb_election *e, const struct vote_options *o, cJSON **out,
                 char *err, size_t errlen);

#endif /* VOTING_EXPLAIN_H */
