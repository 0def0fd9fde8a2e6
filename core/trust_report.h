/* trust_report.h - the trust's decisions in /metrics and /health. */
#ifndef MST__TRUST_REPORT_H
#define MST__TRUST_REPORT_H

#include <stdint.h>

#include "daemon.h"

/* After a config is in place (start, reload): mestys_plugin_trust per
 * instance, mestys_trust_verify_seconds, and the list's gauges. */
void mst__trust_report_loaded(struct mst__daemon *d);
/* The list's gauges at now_s (before each /metrics). */
void mst__trust_report_metrics(struct mst__daemon *d, int64_t now_s);
/* ,"trust":"signed","trust_reason":"..." of a running instance. */
void mst__trust_report_instance(const struct mst_instance *inst, struct mst__buf *b);
/* ,"refused":[...],"reasons":[...] of the node; 1 if that makes it degraded. */
int mst__trust_report_node(const struct mst__daemon *d, struct mst__buf *b, int64_t now_s);

#endif
