/* options.c - a budget's counting rule ("mes+add1+greedy") as the rules
 * library's options.  Shared by the plugin (count.c) and `mestys verify
 * voting`, which reads the rule from the published .pb file's META. */
#include <string.h>

#include "rules.h"
#include "voting.h"

int vote_options_of(const char *rule, enum vote_ballot_type type, struct vote_options *o)
{
    static const char *const known[] = {"greedy", "mes", "mes+add1", "mes+add1+greedy", "mes+iterated",
                                        "mes+iterated+greedy"};
    size_t k = 0;
    while (k < sizeof known / sizeof known[0] && strcmp(rule, known[k]) != 0)
        k++;
    if (k == sizeof known / sizeof known[0])
        return MST_EINVAL;
    memset(o, 0, sizeof *o);
    o->tie = VOTE_TIE_VOTES_COST_ID;
    o->score = type == VOTE_CUMULATIVE ? VOTE_SCORE_POINTS : VOTE_SCORE_VOTES;
    if (strcmp(rule, "greedy") == 0) {
        o->rule = VOTE_RULE_GREEDY;
        return 0;
    }
    o->rule = VOTE_RULE_MES;
    o->completion = strstr(rule, "add1")       ? VOTE_COMPLETION_ADD1
                    : strstr(rule, "iterated") ? VOTE_COMPLETION_ITERATED
                                               : VOTE_COMPLETION_NONE;
    o->greedy_fill = strstr(rule, "+greedy") != NULL;
    return 0;
}
