/*
 * check.c - what the voting config's schema table cannot say, checked by
 * `mestys check` and before init (struct mst_plugin.check), reported at the
 * key's line: budget ids usable in URLs and unique, a whole amount, limits
 * in order, dates that parse and follow each other, and an identity hook
 * where eligibility is "lua" or "http".  budget.c reads a config that passed this.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <mestys/time.h>

#include "voting.h"

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > VOTE_ID_MAX)
        return 0;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
            return 0;
    return 1;
}

static const char *text(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "";
}

static double number(const cJSON *o, const char *key)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static int dates(const cJSON *b, size_t i, char *path, size_t path_len, char *msg, size_t msg_len)
{
    static const char *const phases[] = {"review", "voting", "counting"};
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(b, "dates");
    int64_t last = 0, at;
    for (size_t p = 0; p < sizeof phases / sizeof phases[0]; p++) {
        const char *s = text(d, phases[p]);
        if (!*s)
            continue;
        snprintf(path, path_len, "budgets[%zu].dates.%s", i, phases[p]);
        if (mst_time_parse(s, &at) != 0) {
            snprintf(msg, msg_len, "\"%s\" is not an ISO 8601 time with a zone (e.g. 2027-05-01T00:00:00+02:00)", s);
            return MST_EINVAL;
        }
        if (at <= last) {
            snprintf(msg, msg_len, "%s must come after the date of the phase before it", s);
            return MST_EINVAL;
        }
        last = at;
    }
    return 0;
}

static int budget(const cJSON *all, const cJSON *b, size_t i, char *path, size_t path_len, char *msg,
                  size_t msg_len)
{
    const char *id = text(b, "id");
    const cJSON *ballot = cJSON_GetObjectItemCaseSensitive(b, "ballot");
    double amount = number(b, "amount"), min = number(ballot, "min_projects"), max = number(ballot, "max_projects");
    if (!valid_id(id)) {
        snprintf(path, path_len, "budgets[%zu].id", i);
        snprintf(msg, msg_len, "\"%s\" must be 1-64 of a-z 0-9 - _ (it is part of URLs)", id);
        return MST_EINVAL;
    }
    for (size_t o = 0; o < i; o++)
        if (strcmp(text(cJSON_GetArrayItem(all, (int)o), "id"), id) == 0) {
            snprintf(path, path_len, "budgets[%zu].id", i);
            snprintf(msg, msg_len, "\"%s\" is already the id of budgets[%zu]", id, o);
            return MST_EINVAL;
        }
    if (amount != floor(amount)) {
        /* the published .pb file (pabulib) and the rules count whole units */
        snprintf(path, path_len, "budgets[%zu].amount", i);
        snprintf(msg, msg_len, "%g is not a whole number of currency units", amount);
        return MST_EINVAL;
    }
    if (max && max < min) {
        snprintf(path, path_len, "budgets[%zu].ballot.max_projects", i);
        snprintf(msg, msg_len, "%g is below min_projects (%g)", max, min);
        return MST_EINVAL;
    }
    if (strcmp(text(b, "eligibility"), "lua") == 0 && strncmp(text(b, "identity_hook"), "lua:", 4) != 0) {
        snprintf(path, path_len, "budgets[%zu].identity_hook", i);
        snprintf(msg, msg_len, "eligibility \"lua\" needs the hook: \"lua:<file>\" with a function identify()");
        return MST_EINVAL;
    }
    const char *url = text(b, "identity_url");
    if (strcmp(text(b, "eligibility"), "http") == 0 &&
        (strncmp(url, "http://", 7) != 0 || !url[7] || url[7] == '/' || url[7] == ':')) {
        snprintf(path, path_len, "budgets[%zu].identity_url", i);
        snprintf(msg, msg_len, "eligibility \"http\" needs \"http://host[:port]/path\" (plain HTTP: a service on "
                 "this host, or a TLS proxy here)");
        return MST_EINVAL;
    }
    return dates(b, i, path, path_len, msg, msg_len);
}

int vote_config_check(const char *config, char *path, size_t path_len, char *msg, size_t msg_len)
{
    cJSON *c = cJSON_Parse(config);
    const cJSON *budgets = cJSON_GetObjectItemCaseSensitive(c, "budgets"), *b;
    int rc = 0;
    size_t i = 0;
    if (cJSON_GetArraySize(budgets) > VOTE_MAX_BUDGETS) {
        snprintf(path, path_len, "budgets");
        snprintf(msg, msg_len, "%d budgets; at most %d", cJSON_GetArraySize(budgets), VOTE_MAX_BUDGETS);
        rc = MST_EINVAL;
    }
    cJSON_ArrayForEach(b, budgets) {
        if (rc != 0 || (rc = budget(budgets, b, i++, path, path_len, msg, msg_len)) != 0)
            break;
    }
    cJSON_Delete(c);
    return rc;
}
