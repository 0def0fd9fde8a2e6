/* station.c - registered charge points in memory: registration from the
 * config or the API, their connectors, and whether they are alive.
 *
 * A town has tens to hundreds of charge points; they are a list searched by
 * id only at a handshake or an API call (a message arrives on a connection
 * that already points at its station). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "charging.h"

int64_t chg_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct chg_station *chg_station_find(const struct charging *c, const char *id)
{
    for (struct chg_station *st = c->stations; st; st = st->next)
        if (strcmp(st->id, id) == 0)
            return st;
    return NULL;
}

int chg_station_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > CHG_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                 ch == '_' || ch == ':' || ch == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

const char *chg_station_liveness(const struct charging *c, const struct chg_station *st)
{
    if (!st->conn)
        return "offline";
    uint64_t now = c->host->now_ms(c->inst);
    uint64_t allowed = (uint64_t)(c->heartbeat_s + c->grace_s) * 1000;
    return now - st->last_contact <= allowed ? "online" : "unknown";
}

void chg_station_heard(struct charging *c, struct chg_station *st)
{
    st->last_contact = c->host->now_ms(c->inst);
    st->last_contact_wall = chg_wall_ms();
}

void chg_station_free(struct chg_station *st)
{
    if (!st)
        return;
    free(st->connectors_json);
    free(st->tariff_json);
    free(st->name);
    free(st->password);
    free(st->site);
    free(st->vendor);
    free(st->model);
    free(st->serial);
    free(st->firmware);
    free(st);
}

static int add_string(cJSON *o, const char *key, const char *v)
{
    return v ? cJSON_AddStringToObject(o, key, v) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

/* The connectors reported, and those registered that were not (yet): a
 * driver sees a station's plugs and power before it was ever heard from. */
static cJSON *connectors_json(const struct charging *c, const struct chg_station *st)
{
    cJSON *list = cJSON_CreateArray();
    int live = strcmp(chg_station_liveness(c, st), "online") == 0;
    int n = st->n_connectors > st->n_registered ? st->n_connectors : st->n_registered;
    for (int i = 1; list && i <= n; i++) {
        const struct chg_connector *k = &st->connectors[i];
        cJSON *o = cJSON_CreateObject();
        char when[32];
        mst_time_format(k->updated_ms, when);
        /* what a station said before it went silent is not its state now */
        const char *status = !k->status[0] ? "Unknown" : live ? k->status : "Unknown";
        if (!o || !cJSON_AddItemToArray(list, o) || !cJSON_AddNumberToObject(o, "connector", i) ||
            !cJSON_AddStringToObject(o, "status", status) ||
            !cJSON_AddStringToObject(o, "reported_status", k->status[0] ? k->status : "Unknown") ||
            !cJSON_AddStringToObject(o, "error_code", k->error_code[0] ? k->error_code : "NoError") ||
            !add_string(o, "updated", k->updated_ms ? when : NULL) ||
            !cJSON_AddNumberToObject(o, "max_kw", k->max_w / 1000) ||
            !cJSON_AddStringToObject(o, "type", k->type)) {
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

cJSON *chg_station_json(const struct charging *c, const struct chg_station *st, int operator)
{
    cJSON *o = cJSON_CreateObject();
    char when[32];
    mst_time_format(st->last_contact_wall, when);
    cJSON *conns = connectors_json(c, st);
    int ok = o && conns && cJSON_AddStringToObject(o, "id", st->id) && add_string(o, "name", st->name) &&
             cJSON_AddBoolToObject(o, "accepted", st->accepted) && add_string(o, "site", st->site) &&
             cJSON_AddStringToObject(o, "status", chg_station_liveness(c, st)) &&
             add_string(o, "last_contact", st->last_contact_wall ? when : NULL) &&
             add_string(o, "vendor", st->vendor) && add_string(o, "model", st->model) &&
             add_string(o, "firmware", st->firmware);
    cJSON *tariff = ok ? chg_tariff_json(&st->tariff) : NULL;
    ok = ok && tariff && cJSON_AddItemToObject(o, "tariff", tariff);
    if (!ok && tariff && !cJSON_GetObjectItemCaseSensitive(o, "tariff"))
        cJSON_Delete(tariff);
    if (ok && st->has_location)
        ok = cJSON_AddNumberToObject(o, "lat", st->lat) && cJSON_AddNumberToObject(o, "lon", st->lon);
    /* how a station authenticates tells an attacker which ones are weakest */
    if (ok && operator)
        ok = cJSON_AddNumberToObject(o, "security_profile", st->profile) &&
             cJSON_AddBoolToObject(o, "password_set", st->password != NULL);
    if (ok && cJSON_AddItemToObject(o, "connectors", conns))
        return o;
    cJSON_Delete(conns);
    cJSON_Delete(o);
    return NULL;
}

/* --- registration ---------------------------------------------------------- */

/* A registration read from JSON; strings point into the JSON.  What it
 * leaves out stays as it is (has_*, or a NULL cJSON); a JSON null takes the
 * default again. */
struct registration {
    const char *id, *name, *site, *password;
    const cJSON *connectors, *tariff;
    int profile, accepted, has_accepted, has_location, has_profile, has_name, has_site;
    double lat, lon;
};

static const char *optional_string(const cJSON *j, const char *key, const char **out, int *given)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
        return "must be a string";
    *out = cJSON_IsString(v) ? v->valuestring : NULL;
    *given = v != NULL;
    return NULL;
}

/* A connector's plug, as open data names it. */
static int plug_valid(const char *type)
{
    static const char *const plugs[] = {"Type2", "Type2Cable", "CCS2", "CHAdeMO", "Type1", "CCS1", "Schuko"};
    for (size_t i = 0; i < sizeof plugs / sizeof plugs[0]; i++)
        if (strcmp(type, plugs[i]) == 0)
            return 1;
    return 0;
}

/* "connectors": [{"max_kw": 22, "phases": 3, "type": "Type2"}, ...] for
 * connectors 1, 2, ...; null or none: the defaults. */
static int check_connectors(const cJSON *list, const char **why)
{
    const cJSON *k;
    if (!list || cJSON_IsNull(list))
        return 0;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > CHG_MAX_CONNECTORS) {
        *why = "connectors: an array (connector 1, 2, ...) of at most 32 {\"max_kw\", \"phases\"}";
        return MST_EINVAL;
    }
    cJSON_ArrayForEach(k, list)
    {
        const cJSON *kw = cJSON_GetObjectItemCaseSensitive(k, "max_kw");
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(k, "phases");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(k, "type");
        if (!cJSON_IsObject(k) || (kw && !(cJSON_IsNumber(kw) && kw->valuedouble > 0 && kw->valuedouble <= 1000)) ||
            (ph && !(cJSON_IsNumber(ph) && (ph->valuedouble == 1 || ph->valuedouble == 3))) ||
            (ty && !(cJSON_IsString(ty) && plug_valid(ty->valuestring)))) {
            *why = "connectors[]: max_kw a number over 0 up to 1000, phases 1 or 3, type one of Type2, Type2Cable,"
                   " CCS2, CHAdeMO, Type1, CCS1, Schuko";
            return MST_EINVAL;
        }
    }
    return 0;
}

static int parse_registration(const cJSON *j, struct registration *r, const char **why)
{
    memset(r, 0, sizeof *r);
    r->profile = 1;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (!cJSON_IsObject(j) || !cJSON_IsString(id) || !chg_station_id_valid(id->valuestring)) {
        *why = "id: the charge point's identity, 1 to 48 of A-Z a-z 0-9 . _ : -";
        return MST_EINVAL;
    }
    r->id = id->valuestring;
    int given;
    if (optional_string(j, "name", &r->name, &r->has_name) || optional_string(j, "site", &r->site, &r->has_site) ||
        optional_string(j, "password", &r->password, &given)) {
        *why = "name, site, password: strings";
        return MST_EINVAL;
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "security_profile");
    if (p && !(cJSON_IsNumber(p) && (p->valuedouble == 1 || p->valuedouble == 2 || p->valuedouble == 3))) {
        *why = "security_profile: 1 (Basic), 2 (Basic over TLS) or 3 (TLS client certificate)";
        return MST_EINVAL;
    }
    if (p)
        r->profile = (int)p->valuedouble;
    r->has_profile = p != NULL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "accepted");
    if (a && !cJSON_IsBool(a)) {
        *why = "accepted: true or false";
        return MST_EINVAL;
    }
    r->has_accepted = a != NULL;
    r->accepted = cJSON_IsTrue(a);
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(j, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(j, "lon");
    if ((lat || lon) && !(cJSON_IsNumber(lat) && cJSON_IsNumber(lon) && lat->valuedouble >= -90 &&
                          lat->valuedouble <= 90 && lon->valuedouble >= -180 && lon->valuedouble <= 180)) {
        *why = "lat, lon: both, in degrees (WGS84)";
        return MST_EINVAL;
    }
    if (lat) {
        r->lat = lat->valuedouble;
        r->lon = lon->valuedouble;
        r->has_location = 1;
    }
    r->connectors = cJSON_GetObjectItemCaseSensitive(j, "connectors");
    r->tariff = cJSON_GetObjectItemCaseSensitive(j, "tariff");
    if (check_connectors(r->connectors, why) != 0)
        return MST_EINVAL;
    struct chg_tariff t;
    chg_tariff_init(&t);
    if (r->tariff && !cJSON_IsNull(r->tariff) && chg_tariff_from_json(r->tariff, &t, why) != 0)
        return MST_EINVAL;
    size_t pl = r->password ? strlen(r->password) : 0;
    if (r->password && (pl < CHG_PASSWORD_MIN || pl > CHG_PASSWORD_MAX)) {
        *why = "password: 16 to 40 characters (OCPP 1.6 security whitepaper)";
        return MST_EINVAL;
    }
    return 0;
}

struct chg_station *chg_station_new(struct charging *c, const char *id)
{
    struct chg_station *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    snprintf(st->id, sizeof st->id, "%s", id);
    st->profile = 1;
    st->tariff = c->tariff;
    for (int i = 0; i <= CHG_MAX_CONNECTORS; i++) {
        st->connectors[i].max_w = 22000;
        st->connectors[i].phases = 3;
        snprintf(st->connectors[i].type, sizeof st->connectors[i].type, "Type2");
        st->connectors[i].meter_w = st->connectors[i].energy_wh = -1;
    }
    return st;
}

int chg_station_apply(struct charging *c, struct chg_station *st, const char *connectors, const char *tariff,
                      const char **why)
{
    cJSON *k = connectors ? cJSON_Parse(connectors) : NULL, *t = tariff ? cJSON_Parse(tariff) : NULL;
    struct chg_tariff tf = c->tariff;
    int rc = check_connectors(k, why);
    if (rc == 0 && t && chg_tariff_from_json(t, &tf, why) != 0)
        rc = MST_EINVAL;
    if (rc == 0) {
        st->tariff = tf;
        st->n_registered = cJSON_GetArraySize(k);
        for (int i = 1; i <= CHG_MAX_CONNECTORS; i++) {
            const cJSON *one = cJSON_GetArrayItem(k, i - 1);
            const cJSON *kw = cJSON_GetObjectItemCaseSensitive(one, "max_kw");
            const cJSON *ph = cJSON_GetObjectItemCaseSensitive(one, "phases");
            const cJSON *ty = cJSON_GetObjectItemCaseSensitive(one, "type");
            st->connectors[i].max_w = cJSON_IsNumber(kw) ? kw->valuedouble * 1000 : 22000;
            st->connectors[i].phases = cJSON_IsNumber(ph) ? (int)ph->valuedouble : 3;
            snprintf(st->connectors[i].type, sizeof st->connectors[i].type, "%s",
                     cJSON_IsString(ty) ? ty->valuestring : "Type2");
        }
    }
    cJSON_Delete(k);
    cJSON_Delete(t);
    return rc;
}

/* Replaces *slot with a copy of v (NULL stays NULL); MST_ENOMEM leaves it. */
static int replace(char **slot, const char *v)
{
    char *copy = v ? strdup(v) : NULL;
    if (v && !copy)
        return MST_ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

int chg_station_set_password(struct charging *c, struct chg_station *st, const char *password, size_t len,
                             const char **why)
{
    char stored[CHG_PASSWORD_TEXT];
    int rc = chg_password_hash(password, len, (unsigned)c->iterations, stored);
    if (rc == MST_EINVAL)
        *why = "password: 16 to 40 characters (OCPP 1.6 security whitepaper)";
    if (rc == 0)
        rc = replace(&st->password, stored);
    if (rc == 0) {
        st->has_verified = 0; /* the old password no longer counts */
        rc = chg_db_save_station(c, st);
    }
    if (rc != 0 && rc != MST_EINVAL)
        *why = "the password could not be stored";
    return rc;
}

int chg_station_check(const cJSON *j, const char **why)
{
    struct registration r;
    return parse_registration(j, &r, why);
}

/* The JSON text a registration gives for key (NULL if it gives null), or a
 * copy of what the station had if it leaves the key out. */
static int merged_text(const cJSON *given, const char *had, char **out)
{
    if (given)
        *out = cJSON_IsNull(given) ? NULL : cJSON_PrintUnformatted(given);
    else
        *out = had ? strdup(had) : NULL;
    int wanted = given ? !cJSON_IsNull(given) : had != NULL;
    return wanted && !*out ? MST_ENOMEM : 0;
}

int chg_station_register(struct charging *c, const cJSON *j, const char **why)
{
    struct registration r;
    if (parse_registration(j, &r, why) != 0)
        return MST_EINVAL;
    struct chg_station *st = chg_station_find(c, r.id), *fresh = NULL;
    if (!st && !(st = fresh = chg_station_new(c, r.id)))
        return MST_ENOMEM;
    char *connectors = NULL, *tariff = NULL;
    int rc = merged_text(r.connectors, st->connectors_json, &connectors);
    if (rc == 0)
        rc = merged_text(r.tariff, st->tariff_json, &tariff);
    if (rc == 0)
        rc = chg_station_apply(c, st, connectors, tariff, why);
    if (rc == 0) {
        free(st->connectors_json);
        free(st->tariff_json);
        st->connectors_json = connectors;
        st->tariff_json = tariff;
        connectors = tariff = NULL;
        if (r.has_name)
            rc = replace(&st->name, r.name);
    }
    free(connectors);
    free(tariff);
    if (rc == 0 && r.has_site)
        rc = replace(&st->site, r.site);
    if (rc == 0) {
        if (r.has_profile)
            st->profile = r.profile;
        if (r.has_accepted)
            st->accepted = r.accepted;
        if (r.has_location) {
            st->has_location = 1;
            st->lat = r.lat;
            st->lon = r.lon;
        }
        rc = r.password ? chg_station_set_password(c, st, r.password, strlen(r.password), why)
                        : chg_db_save_station(c, st);
    }
    if (rc != 0) {
        if (!*why)
            *why = "the station could not be stored";
        chg_station_free(fresh);
        return rc;
    }
    if (fresh) {
        fresh->next = c->stations;
        c->stations = fresh;
    }
    return 0;
}

int chg_station_delete(struct charging *c, const char *id)
{
    for (struct chg_station **p = &c->stations; *p; p = &(*p)->next) {
        struct chg_station *st = *p;
        if (strcmp(st->id, id) != 0)
            continue;
        int rc = chg_db_delete_station(c, id);
        if (rc != 0)
            return rc;
        *p = st->next;
        if (st->conn) {
            st->conn->st = NULL;
            c->host->ws_close(st->conn->ws);
        }
        chg_station_free(st);
        return 0;
    }
    return MST_ENOENT;
}
