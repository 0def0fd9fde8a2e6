/*
 * mestys/mock.h - a mock host for unit-testing a plugin without the daemon.
 *
 * Link with `pkg-config --cflags --libs mestys-mock` (CMake:
 * mestys::mestys_mock).  Everything runs in the calling thread: publish
 * delivers at once, timers fire when the test advances the clock, queued
 * work runs synchronously, db_open opens a real SQLite file in a fresh
 * temporary state directory.  Config, topics and the declared-topic checks
 * are the daemon's own code, so they answer as mestysd does; so is
 * http_static's mount table (a bad prefix, folder or img_src is
 * MST_EINVAL, a prefix mounted twice MST_EEXIST, a missing absolute folder
 * MST_ENOENT), but a relative folder is only checked for its form (the
 * mock has no www folder) and no file is served.
 *
 *     struct mst_mock *m = mst_mock_new(&mestys_plugin, "{\"interval_ms\": 100}");
 *     assert(mst_mock_init(m) == 0 && mst_mock_start(m) == 0);
 *     mst_mock_advance(m, 250);
 *     assert(mst_mock_published_count(m, "node/heartbeat") == 2);
 *     mst_mock_free(m);
 */
#ifndef MESTYS_MOCK_H
#define MESTYS_MOCK_H

#include <stddef.h>
#include <stdint.h>

#include "mestys.h"

struct mst_mock;

/* config_json: the instance's "config" object (comments allowed), checked
 * against the plugin's schema and completed with its defaults -- nested
 * sections included -- by the daemon's own code, as mestysd does before
 * init.  NULL if it is not a JSON object or breaks the schema; the errors
 * are printed to stderr as `mestys check` prints them. */
struct mst_mock *mst_mock_new(const struct mst_plugin *plugin, const char *config_json);
void mst_mock_free(struct mst_mock *m); /* stops and finis the plugin if needed */

const struct mst_host *mst_mock_host(struct mst_mock *m);
mst_instance *mst_mock_instance(struct mst_mock *m);
const char *mst_mock_state_dir(struct mst_mock *m);

int mst_mock_init(struct mst_mock *m);
int mst_mock_start(struct mst_mock *m);
void mst_mock_stop(struct mst_mock *m);
/* Replaces the config (checked as in mst_mock_new; MST_ECONFIG and the old
 * config kept if it fails) and calls the plugin's reload (MST_ENOTSUP if
 * none). */
int mst_mock_reload(struct mst_mock *m, const char *config_json);

/* Moves the clock on, firing every timer that falls due, in order. */
void mst_mock_advance(struct mst_mock *m, uint64_t ms);

/* Delivers an event to the plugin's matching subscriptions. */
int mst_mock_deliver(struct mst_mock *m, const char *topic, const char *body, size_t len);
/* What the plugin published: the count, and the last body, per topic. */
size_t mst_mock_published_count(struct mst_mock *m, const char *topic);
const char *mst_mock_last_published(struct mst_mock *m, const char *topic, size_t *len);

/* Sends a request to what the plugin serves.  On return *status and the
 * reply (free with free()) hold the answer if the plugin answered at once. */
int mst_mock_request(struct mst_mock *m, const char *topic, const char *body, size_t len,
                     int *status, char **reply, size_t *reply_len);
/* Answers the plugin's own requests to `topic`. */
typedef int (*mst_mock_server)(void *arg, const char *body, size_t len, char **reply,
                               size_t *reply_len);
void mst_mock_serve(struct mst_mock *m, const char *topic, mst_mock_server fn, void *arg);

/* Calls the plugin's HTTP route (path relative to /api/<instance>/, the
 * instance being "mock"), through the daemon's own routing table: an
 * unknown path is 404, a wrong method 405 with Allow, "x/" is "x", and the
 * core's errors have the daemon's JSON body.  `role` is what the caller's
 * token grants (too low: 403).  MST_EAGAIN if the route did not answer at
 * once. */
int mst_mock_http(struct mst_mock *m, const char *method, const char *path, enum mst_role role,
                  const char *body, size_t len, int *status, char **response, size_t *response_len);
/* A header of the last mst_mock_http answer (e.g. "Allow" after a 405, or
 * one the route set); NULL if absent.  Valid until the next call. */
const char *mst_mock_http_header(struct mst_mock *m, const char *name);
/* What the plugin last gave host->health_set (its /health "problem"); NULL
 * if it never did or cleared it. */
const char *mst_mock_health_problem(struct mst_mock *m);

/* Current value of a metric the plugin registered (by the name it gave). */
double mst_mock_metric(struct mst_mock *m, const char *name);

#endif /* MESTYS_MOCK_H */
