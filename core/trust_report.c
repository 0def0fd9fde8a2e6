/* trust_report.c - what the trust decided, said where the town looks:
 * /metrics (a status per instance, the revocation list's serial and
 * expiry, the time the checks took) and /health (each instance's status
 * and reason, refused plugins, the node degraded while the list is
 * expired). */
#include "trust_report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *use_name(const struct mst__instance_conf *ic)
{
    return ic->module && ic->module->plugin ? ic->module->plugin->name : ic->use;
}

static void set_gauge(struct mst__daemon *d, const char *name, const char *help, const char *labels, double v)
{
    struct mst_metric *m;
    if (mst__metrics_get(&d->metrics, MST_METRIC_GAUGE, name, help, labels, &m) == 0)
        mst__metric_set(m, v);
}

/* Series of instances gone or with another status drop to 0, as a
 * counter never goes away: the ones of this config are 1. */
static void plugin_series(struct mst__daemon *d)
{
    struct mst__metric_family *f = mst__strmap_get(&d->metrics.by_name, "mestys_plugin_trust");
    struct mst__list *pos;
    for (pos = f ? f->series.next : NULL; f && pos != &f->series; pos = pos->next)
        mst__metric_set(mst__container_of(pos, struct mst_metric, link), 0);
    for (size_t i = 0; i < d->cfg->n_instances; i++) {
        const struct mst__instance_conf *ic = &d->cfg->instances[i];
        if (!ic->module && !ic->trust_refused)
            continue;
        enum mst__trust_status st = ic->module ? ic->module->verified.status : ic->trust;
        char *labels = mst__xasprintf("plugin=\"%s\",instance=\"%s\",status=\"%s\"", use_name(ic), ic->name,
                                      mst__trust_status_name(st));
        set_gauge(d, "mestys_plugin_trust",
                  "1 for each plugin instance's trust status (core, signed, unsigned, modified, invalid, revoked, "
                  "incompatible)", labels, 1);
        free(labels);
    }
}

void mst__trust_report_loaded(struct mst__daemon *d)
{
    plugin_series(d);
    struct mst_metric *h;
    if (mst__metrics_get(&d->metrics, MST_METRIC_HISTOGRAM, "mestys_trust_verify_seconds",
                         "time one plugin's trust check took (permission walk, signatures, hashes)", "", &h) != 0)
        return;
    for (size_t i = 0; i < d->cfg->n_instances; i++)
        if (d->cfg->instances[i].module)
            mst__metric_observe(h, d->cfg->instances[i].module->verified.seconds);
    mst__trust_report_metrics(d, (int64_t)time(NULL));
}

void mst__trust_report_metrics(struct mst__daemon *d, int64_t now_s)
{
    int64_t serial = 0, expires = 0;
    int have = mst__trust_list_info(d->cfg->trust, &serial, &expires);
    set_gauge(d, "mestys_trust_revocation_serial", "serial of the revocation list in use (0: none)", "",
              have ? (double)serial : 0);
    set_gauge(d, "mestys_trust_revocation_expires_seconds",
              "seconds until the revocation list in use expires (negative: expired; 0 without a list)", "",
              have ? (double)(expires - now_s) : 0);
    set_gauge(d, "mestys_trust_revocations_expired", "1 while the revocation list in use is expired", "",
              mst__trust_expired(d->cfg->trust, now_s));
}

void mst__trust_report_instance(const struct mst_instance *inst, struct mst__buf *b)
{
    const struct mst__trust_result *v = &inst->module->verified;
    mst__buf_printf(b, ",\"trust\":\"%s\",\"trust_reason\":", mst__trust_status_name(v->status));
    mst__buf_json_string(b, v->reason.data ? v->reason.data : "");
}

int mst__trust_report_node(const struct mst__daemon *d, struct mst__buf *b, int64_t now_s)
{
    int degraded = 0, first = 1;
    mst__buf_puts(b, ",\"refused\":[");
    for (size_t i = 0; i < d->cfg->n_instances; i++) {
        const struct mst__instance_conf *ic = &d->cfg->instances[i];
        if (!ic->trust_refused)
            continue;
        degraded = 1;
        mst__buf_puts(b, first ? "{\"name\":" : ",{\"name\":");
        first = 0;
        mst__buf_json_string(b, ic->name);
        mst__buf_puts(b, ",\"use\":");
        mst__buf_json_string(b, ic->use);
        mst__buf_printf(b, ",\"trust\":\"%s\",\"trust_reason\":", mst__trust_status_name(ic->trust));
        mst__buf_json_string(b, ic->trust_reason ? ic->trust_reason : "");
        mst__buf_puts(b, "}");
    }
    mst__buf_puts(b, "],\"reasons\":[");
    first = 1;
    if (degraded) {
        mst__buf_puts(b, "\"a plugin was refused by the trust check\"");
        first = 0;
    }
    int64_t serial, expires;
    if (mst__trust_expired(d->cfg->trust, now_s) && mst__trust_list_info(d->cfg->trust, &serial, &expires)) {
        char when[32];
        time_t t = (time_t)expires;
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        mst__buf_printf(b, "%s\"revocation list (serial %lld) expired at %s: ask the region for a new one\"",
                        first ? "" : ",", (long long)serial, when);
        degraded = 1;
    }
    mst__buf_puts(b, "]");
    return degraded;
}
