/* metrics.h - counters, gauges and histograms, rendered in the Prometheus
 * text format at /metrics.  Series live as long as the daemon, so a counter
 * never goes backwards when an instance is reloaded. */
#ifndef MST__METRICS_H
#define MST__METRICS_H

#include <mestys/host.h>

#include "list.h"
#include "strmap.h"
#include "util.h"

#define MST__HIST_BUCKETS 14

struct mst_metric {
    struct mst__list link; /* in its family */
    char *labels;          /* `a="x",b="y"` or "" */
    enum mst_metric_kind kind;
    double value;
    double sum;
    uint64_t count;
    uint64_t buckets[MST__HIST_BUCKETS];
};

struct mst__metric_family {
    struct mst__list link;
    struct mst__list series;
    char *name;
    char *help;
    enum mst_metric_kind kind;
};

struct mst__metrics {
    struct mst__list families;
    struct mst__strmap by_name;   /* family name -> family */
    struct mst__strmap by_series; /* "name{labels}" -> metric */
};

void mst__metrics_init(struct mst__metrics *r);
void mst__metrics_free(struct mst__metrics *r);

/* Returns the series `name{labels}`, creating it (and its family) if new.
 * Fails with MST_EINVAL if the family exists with another kind. */
int mst__metrics_get(struct mst__metrics *r, enum mst_metric_kind kind, const char *name,
                     const char *help, const char *labels, struct mst_metric **out);

void mst__metric_add(struct mst_metric *m, double delta);
void mst__metric_set(struct mst_metric *m, double value);
void mst__metric_observe(struct mst_metric *m, double value);

void mst__metrics_render(struct mst__metrics *r, struct mst__buf *out);

#endif
