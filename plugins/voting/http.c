/*
 * http.c - the voting plugin's routes and answers.
 *
 * Public:   GET budgets, GET budgets/<id>[/proposals|/results|/ballots.pb|/audit|/receipt],
 *           POST budgets/<id>/proposals, POST budgets/<id>/ballots
 * Operator: POST manage/<id>/phase|register|codes|paper|review/<n>,
 *           PUT manage/<id>/proposals/<n>, GET manage/<id>[/proposals]
 * The core checks the role of each prefix; a budget's own path is split here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/cjson.h>
#include <mestys/utf8.h>

#include "voting.h"

void vote_respond_json(struct vote *v, mst_http_request *req, int status, cJSON *body)
{
    mst_http_respond_json(v->host, req, status, body);
}

void vote_respond_error(struct vote *v, mst_http_request *req, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mst_http_respond_error(v->host, req, status, msg);
}

void vote_respond_text(struct vote *v, mst_http_request *req, const char *type, char *text)
{
    if (!text)
        mst_http_respond_json(v->host, req, 500, NULL); /* no memory to make it: the 500 answer */
    else
        v->host->http_respond(req, 200, type, text, strlen(text));
    free(text);
}

static const char *const reasons[VOTE_N_REFUSALS] = {
    "bad_request", "wrong_phase", "unknown_code", "used_code", "bad_ballot", "bad_receipt", "bad_register",
    "identity", "bad_proposal", "busy",
};

void vote_refuse(struct vote *v, enum vote_refusal reason, const char *fmt, ...)
{
    v->host->metric_add(v->refused[reason], 1);
    if (v->logged & (1u << reason))
        return;
    v->logged |= 1u << reason;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->host->log(v->inst, MST_LOG_WARN, "refused (%s; further ones only counted in "
                 "mestys_voting_refused_total): %s", reasons[reason], msg);
}

int vote_refusal_metrics(struct vote *v)
{
    for (int r = 0; r < VOTE_N_REFUSALS; r++) {
        char name[80];
        snprintf(name, sizeof name, "refused_total{reason=\"%s\"}", reasons[r]);
        int rc = v->host->metric(v->inst, MST_METRIC_COUNTER, name, "requests refused, by reason",
                                 &v->refused[r]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

cJSON *vote_body_json(struct vote *v, mst_http_request *req)
{
    size_t len = 0;
    const char *body = v->host->http_body(req, &len);
    cJSON *j = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        vote_refuse(v, VOTE_R_REQUEST, "a body that is not a JSON object");
        vote_respond_error(v, req, 400, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

static void budget_entry(struct vote *v, const struct vote_budget *b, cJSON *out)
{
    cJSON_AddStringToObject(out, "id", b->id);
    cJSON_AddStringToObject(out, "name", b->name);
    cJSON_AddStringToObject(out, "district", b->district);
    cJSON_AddNumberToObject(out, "amount", b->rules.amount);
    cJSON_AddStringToObject(out, "currency", b->currency);
    cJSON_AddStringToObject(out, "phase", vote_phase_name(b->phase));
    vote_dates_json(b, out);
    char *rules = vote_rules_json(b);
    cJSON *r = rules ? cJSON_Parse(rules) : NULL;
    free(rules);
    if (r)
        cJSON_AddItemToObject(out, "ballot", r);
}

static void on_budgets(void *arg, mst_http_request *req)
{
    struct vote *v = arg;
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "budgets");
    for (size_t i = 0; i < v->n_budgets && list; i++) {
        cJSON *b = cJSON_CreateObject();
        budget_entry(v, &v->budgets[i], b);
        cJSON_AddItemToArray(list, b);
    }
    vote_respond_json(v, req, 200, out);
}

/* Splits "<id>/<rest>" of a request's subpath: the budget, and rest ("" if none). */
static struct vote_budget *budget_of(struct vote *v, mst_http_request *req, const char **rest)
{
    const char *sub = v->host->http_subpath(req);
    const char *slash = strchr(sub, '/');
    size_t len = slash ? (size_t)(slash - sub) : strlen(sub);
    *rest = slash ? slash + 1 : "";
    struct vote_budget *b = vote_budget_find(v, sub, len);
    if (!b) {
        cJSON *ids = cJSON_CreateArray();
        for (size_t i = 0; i < v->n_budgets; i++)
            cJSON_AddItemToArray(ids, cJSON_CreateString(v->budgets[i].id));
        char *list = cJSON_PrintUnformatted(ids);
        cJSON_Delete(ids);
        vote_respond_error(v, req, 404, "no budget \"%.*s\"; the budgets are %s", (int)(len > 64 ? 64 : len), sub,
                           list ? list : "?");
        free(list);
    }
    return b;
}

static void on_public_get(void *arg, mst_http_request *req)
{
    struct vote *v = arg;
    const char *rest;
    struct vote_budget *b = budget_of(v, req, &rest);
    if (!b)
        return;
    if (!*rest) {
        cJSON *out = cJSON_CreateObject();
        budget_entry(v, b, out);
        vote_respond_json(v, req, 200, out);
    } else if (strcmp(rest, "proposals") == 0) {
        vote_proposals_get(v, b, req, 0);
    } else {
        vote_results_get(v, b, rest, req);
    }
}

static void on_public_post(void *arg, mst_http_request *req)
{
    struct vote *v = arg;
    const char *rest;
    struct vote_budget *b = budget_of(v, req, &rest);
    if (!b)
        return;
    if (strcmp(rest, "proposals") == 0)
        vote_proposals_post(v, b, req);
    else if (strcmp(rest, "ballots") == 0)
        vote_ballots_post(v, b, req);
    else
        vote_respond_error(v, req, 404, "POST budgets/%s/ takes proposals or ballots", b->id);
}

static void phase_post(struct vote *v, struct vote_budget *b, mst_http_request *req)
{
    cJSON *body = vote_body_json(v, req);
    if (!body)
        return;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "phase"));
    enum vote_phase to;
    char why[300];
    if (!name || vote_phase_parse(name, &to) != 0) {
        vote_respond_error(v, req, 400, "\"phase\" must be one of proposals, review, voting, counting");
    } else if (vote_phase_set(v, b, to, why, sizeof why) != 0) {
        vote_refuse(v, VOTE_R_PHASE, "%s", why);
        vote_respond_error(v, req, 409, "%s", why);
    } else {
        cJSON *out = cJSON_CreateObject();
        budget_entry(v, b, out);
        vote_respond_json(v, req, 200, out);
    }
    cJSON_Delete(body);
}

static void on_manage(void *arg, mst_http_request *req)
{
    struct vote *v = arg;
    const char *rest, *method = v->host->http_method(req);
    struct vote_budget *b = budget_of(v, req, &rest);
    if (!b)
        return;
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (get && !*rest) {
        cJSON *entry = cJSON_CreateObject();
        budget_entry(v, b, entry);
        vote_status_get(v, b, entry, req);
    } else if (get && strcmp(rest, "proposals") == 0) {
        vote_proposals_get(v, b, req, 1);
    } else if (post && strcmp(rest, "phase") == 0) {
        phase_post(v, b, req);
    } else if (post && strcmp(rest, "register") == 0) {
        vote_register_post(v, b, req);
    } else if (post && strcmp(rest, "codes") == 0) {
        vote_codes_post(v, b, req);
    } else if (post && strcmp(rest, "paper") == 0) {
        vote_paper_post(v, b, req);
    } else if (post && strncmp(rest, "review/", 7) == 0) {
        vote_proposal_review(v, b, rest + 7, req);
    } else if (!get && !post && strncmp(rest, "proposals/", 10) == 0) {
        vote_proposal_put(v, b, rest + 10, req);
    } else {
        vote_respond_error(v, req, 404, "%s manage/%s/%s: no such operation (see docs/plugins/voting.md)", method,
                           b->id, rest);
    }
}

int vote_routes(struct vote *v)
{
    const struct mst_host *h = v->host;
    int rc = h->http_route(v->inst, "GET", "budgets", MST_ROLE_PUBLIC, on_budgets, v);
    if (rc == 0)
        rc = h->http_route(v->inst, "GET", "budgets/*", MST_ROLE_PUBLIC, on_public_get, v);
    if (rc == 0)
        rc = h->http_route(v->inst, "POST", "budgets/*", MST_ROLE_PUBLIC, on_public_post, v);
    static const char *const manage[] = {"GET", "POST", "PUT"};
    for (size_t i = 0; rc == 0 && i < sizeof manage / sizeof manage[0]; i++)
        rc = h->http_route(v->inst, manage[i], "manage/*", MST_ROLE_OPERATOR, on_manage, v);
    return rc;
}
