/* finish.c - uplinks after their dedup window.  A job takes the due
 * entries to a worker thread, which decrypts, decodes and writes the
 * `lora/uplink` and `reading` batches; back on the loop the job publishes
 * them, sends ACKs and counts.  One job at a time: the Lua decoders and the
 * worker's crypto contexts are used by one thread at a time. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cayenne.h"
#include "gwmp.h"
#include "lora.h"
#include "text.h"

struct decode_error {
    uint64_t dev_eui;
    char decoder[80];
    char message[200];
};

/* A batch's uplinks and readings go on the bus in arrays of about this
 * size, far below the bus's limit (bus.max_message, 4 MiB by default)
 * however many uplinks a batch holds after a stall. */
#define LORA_MESSAGE_BYTES (256u << 10)

struct finish_job {
    struct lora *l;
    struct pending *list;
    struct json_arrays uplinks, readings; /* what is published, in bus messages of about 256 KiB at most */
    struct decode_error *errors;
    size_t n_errors;
    uint64_t done_ns;
    char counters_error[160]; /* the frame counters could not be written: nothing is published */
};

/* What a decoder made of the payload (fixed-size, on the worker's stack). */
struct decoded {
    struct lpp_value values[64];
    char names[64][48];
    char units[64][48];
    int n;
    char *object; /* JSON text for "decoded" */
    char error[200]; /* "" if none */
};

int64_t lora_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t lora_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void lora_iso_time(int64_t ms, char out[32])
{
    /* thousands of uplinks share a second: format it once per thread (the
     * loop and the finishing worker both write times) */
    static _Thread_local time_t cached = -1;
    static _Thread_local char prefix[24];
    time_t s = (time_t)(ms / 1000);
    if (s != cached) {
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S", &tm);
        cached = s;
    }
    int frac = (int)(ms % 1000);
    memcpy(out, prefix, 19);
    out[19] = '.';
    out[20] = (char)('0' + frac / 100);
    out[21] = (char)('0' + frac / 10 % 10);
    out[22] = (char)('0' + frac % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

struct decoder *lora_decoder(struct lora *l, const char *name)
{
    struct decoder *d;
    for (d = l->decoders; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    if (!(d = calloc(1, sizeof *d)))
        return NULL;
    if (!(d->name = strdup(name))) {
        free(d);
        return NULL;
    }
    if (l->host->script_open(l->inst, name + 4, &d->script) != 0)
        d->script = NULL; /* logged by the host; every uplink for it counts as a decoder failure */
    d->next = l->decoders;
    l->decoders = d;
    return d;
}

static void decode_cayenne(struct pending *p, struct decoded *out)
{
    const char *why = NULL;
    out->n = lpp_decode(p->payload, p->payload_len, out->values, 64, &why);
    if (out->n < 0) {
        out->n = 0;
        snprintf(out->error, sizeof out->error, "%s", why);
        return;
    }
    struct text t = {0};
    PUT(&t, "{");
    for (int i = 0; i < out->n; i++) {
        snprintf(out->names[i], sizeof out->names[i], "%s_%u", out->values[i].metric, out->values[i].channel);
        out->values[i].metric = out->names[i];
        if (i)
            PUT(&t, ",");
        put_json_string(&t, out->names[i]);
        put(&t, ":%.10g", out->values[i].value);
    }
    PUT(&t, "}");
    if (t.failed) {
        free(t.p);
        snprintf(out->error, sizeof out->error, "out of memory");
        return;
    }
    out->object = t.p;
}

static void decode_lua(struct lora *l, struct pending *p, const char *time, struct decoded *out)
{
    if (!p->decoder->script) {
        snprintf(out->error, sizeof out->error, "the decoder could not be loaded (see the log)");
        return;
    }
    struct text in = {0};
    PUT(&in, "{\"fPort\":");
    put_uint(&in, p->fport);
    PUT(&in, ",\"recvTime\":\"");
    put_str(&in, time);
    PUT(&in, "\",\"bytes\":[");
    for (size_t i = 0; i < p->payload_len; i++) {
        if (i)
            PUT(&in, ",");
        put_uint(&in, p->payload[i]);
    }
    PUT(&in, "]}");
    if (in.failed) {
        free(in.p);
        snprintf(out->error, sizeof out->error, "out of memory");
        return;
    }
    char *result = NULL;
    /* from this worker thread: the script is used by one job at a time */
    int rc = l->host->script_call(p->decoder->script, "decodeUplink", in.p, in.len, &result);
    free(in.p);
    cJSON *r = cJSON_Parse(result ? result : "null");
    l->host->free(result);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
    const cJSON *errors = cJSON_GetObjectItemCaseSensitive(r, "errors");
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(r, "units");
    if (rc != 0 || !cJSON_IsObject(data) || (cJSON_IsArray(errors) && cJSON_GetArraySize(errors) > 0)) {
        const cJSON *e = rc != 0 ? cJSON_GetObjectItemCaseSensitive(r, "error") : cJSON_GetArrayItem(errors, 0);
        snprintf(out->error, sizeof out->error, "%s",
                 cJSON_IsString(e) ? e->valuestring : "the decoder returned no \"data\" object");
        cJSON_Delete(r);
        return;
    }
    struct text obj = {0};
    PUT(&obj, "{");
    const cJSON *v;
    cJSON_ArrayForEach(v, data)
    {
        if (out->n == 64 || !(cJSON_IsNumber(v) || cJSON_IsBool(v)))
            continue;
        if (out->n)
            PUT(&obj, ",");
        put_json_string(&obj, v->string);
        if (cJSON_IsBool(v))
            put_str(&obj, cJSON_IsTrue(v) ? ":true" : ":false");
        else
            put(&obj, ":%.10g", v->valuedouble);
        struct lpp_value *x = &out->values[out->n];
        snprintf(out->names[out->n], sizeof out->names[out->n], "%s", v->string);
        x->metric = out->names[out->n];
        x->value = cJSON_IsBool(v) ? (double)cJSON_IsTrue(v) : v->valuedouble;
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(units, v->string);
        snprintf(out->units[out->n], sizeof out->units[out->n], "%s", cJSON_IsString(u) ? u->valuestring : "1");
        x->unit = out->units[out->n];
        x->channel = 0;
        out->n++;
    }
    PUT(&obj, "}");
    cJSON_Delete(r);
    if (obj.failed) {
        free(obj.p);
        snprintf(out->error, sizeof out->error, "out of memory");
        return;
    }
    out->object = obj.p;
}

static void add_reading(struct finish_job *j, const struct pending *p, const char *time, const struct lpp_value *v)
{
    struct text *t = json_arrays_next(&j->readings);
    if (!t)
        return;
    PUT(t, "{\"sensor\":\"");
    put_hex(t, p->dev_eui, 16);
    PUT(t, "\",\"metric\":");
    put_json_string(t, v->metric);
    put(t, ",\"value\":%.10g,\"unit\":", v->value);
    put_json_string(t, v->unit);
    PUT(t, ",\"time\":\"");
    put_str(t, time);
    PUT(t, "\",\"source\":\"lora\"");
    if (v->channel) {
        PUT(t, ",\"channel\":");
        put_uint(t, v->channel);
    }
    if (p->has_location)
        put(t, ",\"lat\":%.6f,\"lon\":%.6f", p->lat, p->lon);
    if (p->tags[0]) {
        PUT(t, ",\"tags\":");
        put_str(t, p->tags); /* cJSON's text of the device's tags */
    }
    PUT(t, "}");
}

static void add_uplink(struct finish_job *j, const struct pending *p, const char *time, const struct decoded *dec)
{
    struct text *t = json_arrays_next(&j->uplinks);
    if (!t)
        return;
    char *b64 = gwmp_base64_encode(p->payload, p->payload_len);
    if (!b64)
        t->failed = 1; /* never an uplink without its payload */
    PUT(t, "{\"dev_eui\":\"");
    put_hex(t, p->dev_eui, 16);
    PUT(t, "\",\"dev_addr\":\"");
    put_hex(t, p->dev_addr, 8);
    PUT(t, "\",\"fcnt\":");
    put_uint(t, p->fcnt);
    put_str(t, p->mtype == LW_CONFIRMED_UP ? ",\"confirmed\":true," : ",\"confirmed\":false,");
    if (p->has_port) {
        PUT(t, "\"fport\":");
        put_uint(t, p->fport);
        PUT(t, ",");
    }
    PUT(t, "\"payload\":\"");
    put_str(t, b64 ? b64 : "");
    PUT(t, "\",\"time\":\"");
    put_str(t, time);
    PUT(t, "\",\"gateways\":[");
    free(b64);
    for (int i = 0; i < p->n_gw; i++) {
        put_str(t, i ? ",{\"gateway\":\"" : "{\"gateway\":\"");
        put_hex(t, p->gw[i].eui, 16);
        put(t, "\",\"rssi\":%d,\"snr\":%.1f,\"freq\":%.6f,\"datr\":\"", p->gw[i].rssi, p->gw[i].snr, p->gw[i].freq);
        put_str(t, p->gw[i].datr);
        PUT(t, "\"}");
    }
    PUT(t, "]");
    if (p->name[0]) {
        PUT(t, ",\"name\":");
        put_json_string(t, p->name);
    }
    if (dec->object) {
        PUT(t, ",\"decoded\":");
        put_str(t, dec->object);
    }
    if (dec->error[0]) {
        PUT(t, ",\"decode_error\":");
        put_json_string(t, dec->error);
    }
    PUT(t, "}");
}

static void finish_one(struct finish_job *j, struct pending *p)
{
    struct lora *l = j->l;
    if (p->has_port && p->payload_len)
        lw_crypt_payload(l->worker_crypto, p->fport == 0 ? p->nwk_skey : p->app_skey, p->payload, p->payload_len,
                         p->dev_addr, p->fcnt, 0);
    char time[32];
    lora_iso_time(p->received_at_ms, time);
    struct decoded dec = {0};
    int decode = p->has_port && p->fport > 0 && (p->decoder || p->cayenne);
    if (decode && p->decoder)
        decode_lua(l, p, time, &dec);
    else if (decode)
        decode_cayenne(p, &dec);
    struct decode_error *errors = dec.error[0] ? realloc(j->errors, (j->n_errors + 1) * sizeof *j->errors) : NULL;
    if (errors) { /* without memory the uplink still says decode_error; only the log line is lost */
        j->errors = errors;
        struct decode_error *e = &j->errors[j->n_errors++];
        e->dev_eui = p->dev_eui;
        snprintf(e->decoder, sizeof e->decoder, "%s", p->decoder ? p->decoder->name : "cayenne");
        snprintf(e->message, sizeof e->message, "%s", dec.error);
    }
    status_find_battery(p, dec.values, dec.n);
    add_uplink(j, p, time, &dec);
    for (int i = 0; i < dec.n; i++)
        add_reading(j, p, time, &dec.values[i]);
    free(dec.object);
}

/* Before anything of a batch is published, its frame counters are durable
 * (and, in the same transaction, when each device was heard and its battery:
 * the batch is decoded by then). */
static int save_counters(struct finish_job *j)
{
    struct fcnt_writer *w = &j->l->fcnt;
    int rc = fcnt_writer_begin(w);
    for (struct pending *p = j->list; rc == 0 && p; p = p->next) {
        char eui[17];
        snprintf(eui, sizeof eui, "%016" PRIX64, p->dev_eui);
        rc = fcnt_writer_put(w, p->dev_eui, p->dev_addr, p->fcnt);
        if (rc == 0)
            rc = status_write(w, eui, p->received_at_ms, p->has_battery ? &p->battery : NULL, p->battery_unit);
    }
    if (rc != 0)
        snprintf(j->counters_error, sizeof j->counters_error, "%s", sqlite3_errmsg(w->db));
    return fcnt_writer_end(w, rc);
}

static void job_work(void *arg)
{
    struct finish_job *j = arg;
    for (struct pending *p = j->list; p; p = p->next)
        finish_one(j, p);
    json_arrays_end(&j->uplinks);
    json_arrays_end(&j->readings);
    save_counters(j); /* nothing is published if it fails (publish_batch) */
    j->done_ns = lora_mono_ns();
}

static void start_job(struct lora *l, int all);
static struct finish_job *take(struct lora *l, int all);

/* Publishes the batch, or says why it cannot be. */
static void publish_batch(struct finish_job *j, int status)
{
    struct lora *l = j->l;
    const struct mst_host *h = l->host;
    size_t n = 0;
    for (struct pending *p = j->list; p; p = p->next)
        n++;
    if (j->counters_error[0]) {
        /* published, they could be replayed after a crash: refused instead */
        lora_reject_n(l, REJ_COUNTER_WRITE, n,
                      "%zu uplink(s) not published: their frame counters could not be written: %s", n,
                      j->counters_error);
        return;
    }
    if (j->uplinks.failed || j->readings.failed) {
        lora_reject_n(l, REJ_NO_MEMORY, n, "%zu uplink(s) not published: out of memory", n);
        return;
    }
    for (size_t i = 0; i < j->uplinks.n; i++) {
        const struct json_array *a = &j->uplinks.v[i];
        int rc = h->publish(l->inst, "lora/uplink", a->text.p, a->text.len);
        if (rc != 0 && status == 0)
            h->log(l->inst, MST_LOG_WARN, "%zu uplinks not published: %s", a->records, mst_strerror(rc));
    }
    for (size_t i = 0; i < j->readings.n; i++) {
        const struct json_array *a = &j->readings.v[i];
        int rc = h->publish(l->inst, "reading", a->text.p, a->text.len);
        if (rc == 0)
            h->metric_add(l->readings_metric, (double)a->records);
        else if (status == 0)
            h->log(l->inst, MST_LOG_WARN, "%zu readings not published: %s", a->records, mst_strerror(rc));
    }
    for (size_t i = 0; i < j->n_errors; i++)
        lora_reject(l, REJ_DECODER, "device %016" PRIX64 " (%s): %s", j->errors[i].dev_eui, j->errors[i].decoder,
                    j->errors[i].message);
    h->metric_add(l->uplinks, (double)j->uplinks.records);
}

static void job_done(void *arg, int status)
{
    struct finish_job *j = arg;
    struct lora *l = j->l;
    const struct mst_host *h = l->host;
    publish_batch(j, status);
    int published = !j->counters_error[0] && !j->uplinks.failed && !j->readings.failed;
    while (j->list) {
        struct pending *p = j->list;
        j->list = p->next;
        h->metric_observe(l->latency, (double)(j->done_ns - p->received_ns) / 1e9);
        struct device *d = status == 0 && published ? registry_by_eui(&l->reg, p->dev_eui) : NULL;
        if (d)
            status_heard(d, p);
        if (p->mtype == LW_CONFIRMED_UP && d && d->has_session && d->dev_addr == p->dev_addr)
            lora_send_ack(l, p, d);
        p->next = l->spare;
        l->spare = p;
    }
    free(j->errors);
    json_arrays_free(&j->uplinks);
    json_arrays_free(&j->readings);
    free(j);
    l->finishing = 0;
    if (status == 0) {
        start_job(l, 0); /* what fell due meanwhile goes at once, not at the next tick */
    } else {
        /* the instance stopped while this job ran: finish the rest here */
        struct finish_job *rest = take(l, 1);
        if (rest) {
            l->finishing = 1;
            job_work(rest);
            job_done(rest, status);
        }
    }
}

/* Takes the due entries (all of them if `all`) off the dedup queue. */
static struct finish_job *take(struct lora *l, int all)
{
    uint64_t now = l->host->now_ms(l->inst);
    if (!l->head || (!all && l->head->deadline_ms > now))
        return NULL;
    /* the job first: without memory for it, the entries wait for the next tick */
    struct finish_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->uplinks.limit = j->readings.limit = LORA_MESSAGE_BYTES;
    struct pending *first = NULL, **tail = &first;
    while (l->head && (all || l->head->deadline_ms <= now)) {
        struct pending *p = l->head;
        l->head = p->next;
        u64map_del(&l->pending_by_key, p->key); /* later copies are now replays */
        p->next = NULL;
        *tail = p;
        tail = &p->next;
    }
    if (!l->head)
        l->tail = NULL;
    j->l = l;
    j->list = first;
    return j;
}

static void start_job(struct lora *l, int all)
{
    if (l->finishing)
        return;
    struct finish_job *j = take(l, all);
    if (!j)
        return;
    l->finishing = 1;
    if (l->host->queue_work(l->inst, job_work, job_done, j) != 0) {
        job_work(j); /* the instance is stopping: finish here */
        job_done(j, 0);
    }
}

void lora_flush_pending(void *arg)
{
    start_job(arg, 0);
}

void lora_finish_all(struct lora *l)
{
    /* at stop: a job in flight finishes on its own; the rest, here */
    if (l->finishing)
        return;
    struct finish_job *j = take(l, 1);
    if (j) {
        l->finishing = 1;
        job_work(j);
        job_done(j, 0);
    }
}

void lora_drop_all_pending(struct lora *l)
{
    while (l->head) {
        struct pending *p = l->head;
        l->head = p->next;
        free(p);
    }
    while (l->spare) {
        struct pending *p = l->spare;
        l->spare = p->next;
        free(p);
    }
    l->tail = NULL;
    u64map_free(&l->pending_by_key);
}
