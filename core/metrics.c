#include "metrics.h"

#include <mestys/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double bucket_bounds[MST__HIST_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,    0.25,  0.5,    1,     2.5,  5};

void mst__metrics_init(struct mst__metrics *r)
{
    memset(r, 0, sizeof *r);
    mst__list_init(&r->families);
}

void mst__metrics_free(struct mst__metrics *r)
{
    struct mst__list *fp, *ft, *sp, *st;
    mst__list_foreach_safe(fp, ft, &r->families)
    {
        struct mst__metric_family *f = mst__container_of(fp, struct mst__metric_family, link);
        mst__list_foreach_safe(sp, st, &f->series)
        {
            struct mst_metric *m = mst__container_of(sp, struct mst_metric, link);
            free(m->labels);
            free(m);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    mst__strmap_free(&r->by_name, NULL);
    mst__strmap_free(&r->by_series, NULL);
    mst__list_init(&r->families);
}

int mst__metrics_get(struct mst__metrics *r, enum mst_metric_kind kind, const char *name,
                     const char *help, const char *labels, struct mst_metric **out)
{
    char *key = mst__xasprintf("%s{%s}", name, labels ? labels : "");
    struct mst_metric *m = mst__strmap_get(&r->by_series, key);
    if (m) {
        free(key);
        if (m->kind != kind)
            return MST_EINVAL;
        *out = m;
        return 0;
    }
    struct mst__metric_family *f = mst__strmap_get(&r->by_name, name);
    if (f && f->kind != kind) {
        free(key);
        return MST_EINVAL;
    }
    if (!f) {
        f = mst__xcalloc(1, sizeof *f);
        f->name = mst__xstrdup(name);
        f->help = mst__xstrdup(help ? help : name);
        f->kind = kind;
        mst__list_init(&f->series);
        mst__list_push(&r->families, &f->link);
        mst__strmap_put(&r->by_name, name, f);
    }
    m = mst__xcalloc(1, sizeof *m);
    m->labels = mst__xstrdup(labels ? labels : "");
    m->kind = kind;
    mst__list_push(&f->series, &m->link);
    mst__strmap_put(&r->by_series, key, m);
    free(key);
    *out = m;
    return 0;
}

void mst__metric_add(struct mst_metric *m, double delta)
{
    if (m)
        m->value += delta;
}

void mst__metric_set(struct mst_metric *m, double value)
{
    if (m)
        m->value = value;
}

void mst__metric_observe(struct mst_metric *m, double value)
{
    if (!m)
        return;
    int i = 0;
    while (i < MST__HIST_BUCKETS - 1 && value > bucket_bounds[i])
        i++;
    m->buckets[i]++;
    m->sum += value;
    m->count++;
}

static void series_name(struct mst__buf *out, const char *name, const char *suffix,
                        const char *labels, const char *extra)
{
    mst__buf_printf(out, "%s%s", name, suffix);
    int has = labels[0] != '\0';
    if (has || extra) {
        mst__buf_printf(out, "{%s%s%s}", labels, has && extra ? "," : "", extra ? extra : "");
    }
}

void mst__metrics_render(struct mst__metrics *r, struct mst__buf *out)
{
    static const char *const types[] = {"", "counter", "gauge", "histogram"};
    struct mst__list *fp, *ft, *sp, *st;
    mst__list_foreach_safe(fp, ft, &r->families)
    {
        struct mst__metric_family *f = mst__container_of(fp, struct mst__metric_family, link);
        mst__buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, types[f->kind]);
        mst__list_foreach_safe(sp, st, &f->series)
        {
            struct mst_metric *m = mst__container_of(sp, struct mst_metric, link);
            if (m->kind != MST_METRIC_HISTOGRAM) {
                series_name(out, f->name, "", m->labels, NULL);
                mst__buf_printf(out, " %.17g\n", m->value);
                continue;
            }
            uint64_t cum = 0;
            for (int i = 0; i < MST__HIST_BUCKETS; i++) {
                char le[48];
                cum += m->buckets[i];
                if (i < MST__HIST_BUCKETS - 1)
                    snprintf(le, sizeof le, "le=\"%g\"", bucket_bounds[i]);
                else
                    snprintf(le, sizeof le, "le=\"+Inf\"");
                series_name(out, f->name, "_bucket", m->labels, le);
                mst__buf_printf(out, " %llu\n", (unsigned long long)cum);
            }
            series_name(out, f->name, "_sum", m->labels, NULL);
            mst__buf_printf(out, " %.17g\n", m->sum);
            series_name(out, f->name, "_count", m->labels, NULL);
            mst__buf_printf(out, " %llu\n", (unsigned long long)m->count);
        }
    }
}
