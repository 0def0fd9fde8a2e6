#include "gwmp.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gwmp_parse(const uint8_t *buf, size_t len, struct gwmp_packet *p, const char **why)
{
    memset(p, 0, sizeof *p);
    if (len < 4) {
        *why = "datagram shorter than 4 bytes";
        return -1;
    }
    p->version = buf[0];
    if (p->version != 1 && p->version != 2) {
        *why = "unknown protocol version";
        return -1;
    }
    p->token = (uint16_t)(buf[1] << 8 | buf[2]);
    p->kind = (enum gwmp_kind)buf[3];
    switch (p->kind) {
    case GWMP_PUSH_DATA:
    case GWMP_PULL_DATA:
    case GWMP_TX_ACK:
        if (len < 12) {
            *why = "datagram too short for its gateway EUI";
            return -1;
        }
        for (int i = 0; i < 8; i++)
            p->gateway_eui = p->gateway_eui << 8 | buf[4 + i];
        p->json = (const char *)buf + 12;
        p->json_len = len - 12;
        if (p->kind == GWMP_PUSH_DATA && p->json_len == 0) {
            *why = "PUSH_DATA without JSON";
            return -1;
        }
        return 0;
    case GWMP_PUSH_ACK:
    case GWMP_PULL_ACK:
    case GWMP_PULL_RESP:
        return 0;
    }
    *why = "unknown packet kind";
    return -1;
}

size_t gwmp_ack(const struct gwmp_packet *p, uint8_t out[4])
{
    out[0] = p->version;
    out[1] = (uint8_t)(p->token >> 8);
    out[2] = (uint8_t)p->token;
    out[3] = p->kind == GWMP_PUSH_DATA ? GWMP_PUSH_ACK : GWMP_PULL_ACK;
    return 4;
}

int gwmp_base64_decode(const char *in, uint8_t *out, size_t out_len)
{
    size_t n = strlen(in);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > out_len + 2)
        return -1;
    uint8_t *tmp = malloc(n / 4 * 3);
    if (!tmp)
        return -1;
    int len = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
    if (len >= 0) {
        /* EVP_DecodeBlock counts padding as zero bytes */
        if (in[n - 1] == '=')
            len--;
        if (in[n - 2] == '=')
            len--;
        if ((size_t)len > out_len)
            len = -1;
        else
            memcpy(out, tmp, (size_t)len);
    }
    free(tmp);
    return len;
}

char *gwmp_base64_encode(const uint8_t *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

static int copy_string(const cJSON *v, char *dst, size_t n)
{
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= n)
        return -1;
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

/* A gateway's number, checked before it is stored: JSON allows 1e300 and
 * -1e300, and casting those to an int is undefined behaviour.  A member
 * that is not a number is ignored, as before; one out of [lo, hi] sets
 * *why. */
static void number_in(const cJSON *v, double lo, double hi, double *out, const char *range, const char **why)
{
    if (!cJSON_IsNumber(v))
        return;
    if (v->valuedouble >= lo && v->valuedouble <= hi)
        *out = v->valuedouble;
    else if (!*why)
        *why = range;
}

static void int_in(const cJSON *v, int lo, int hi, int *out, const char *range, const char **why)
{
    double d = *out;
    number_in(v, lo, hi, &d, range, why);
    *out = (int)d;
}

/* One pass over the members: at a hundred thousand rxpk a second, a
 * lookup per field (each a string compare down the list) added up. */
int gwmp_parse_rxpk(const cJSON *o, struct gwmp_rxpk *r, const char **why)
{
    memset(r, 0, sizeof *r);
    r->stat = 1;
    const cJSON *data = NULL, *tmst = NULL, *size = NULL, *v;
    if (!cJSON_IsObject(o)) {
        *why = "rxpk is not an object";
        return -1;
    }
    int bad = 0;
    const char *range = NULL;
    cJSON_ArrayForEach(v, o)
    {
        const char *k = v->string;
        switch (k[0]) {
        case 'd':
            if (!strcmp(k, "data"))
                data = v;
            else if (!strcmp(k, "datr"))
                bad |= cJSON_IsString(v) && copy_string(v, r->datr, sizeof r->datr);
            break;
        case 't':
            if (!strcmp(k, "tmst"))
                tmst = v;
            else if (!strcmp(k, "time"))
                bad |= cJSON_IsString(v) && copy_string(v, r->time, sizeof r->time);
            break;
        case 'f':
            if (!strcmp(k, "freq"))
                number_in(v, 0, 10000, &r->freq, "rxpk \"freq\" is not from 0 to 10000 MHz", &range);
            break;
        case 'c':
            if (!strcmp(k, "chan"))
                int_in(v, 0, 255, &r->chan, "rxpk \"chan\" is not from 0 to 255", &range);
            else if (!strcmp(k, "codr"))
                bad |= cJSON_IsString(v) && copy_string(v, r->codr, sizeof r->codr);
            break;
        case 'r':
            if (!strcmp(k, "rfch"))
                int_in(v, 0, 255, &r->rfch, "rxpk \"rfch\" is not from 0 to 255", &range);
            else if (!strcmp(k, "rssi"))
                int_in(v, -1000, 1000, &r->rssi, "rxpk \"rssi\" is not from -1000 to 1000 dBm", &range);
            break;
        case 's':
            if (!strcmp(k, "stat"))
                int_in(v, -1, 1, &r->stat, "rxpk \"stat\" is not -1, 0 or 1", &range);
            else if (!strcmp(k, "size"))
                size = v;
            break;
        case 'l':
            if (!strcmp(k, "lsnr"))
                number_in(v, -1000, 1000, &r->lsnr, "rxpk \"lsnr\" is not from -1000 to 1000 dB", &range);
            break;
        default: break;
        }
    }
    if (bad) {
        *why = "rxpk field too long";
        return -1;
    }
    if (range) {
        *why = range;
        return -1;
    }
    if (!cJSON_IsString(data) || !cJSON_IsNumber(tmst)) {
        *why = "rxpk without \"data\" or \"tmst\"";
        return -1;
    }
    /* the concentrator's microsecond counter: 32 bits, wrapping */
    if (!(tmst->valuedouble >= 0 && tmst->valuedouble <= UINT32_MAX)) {
        *why = "rxpk \"tmst\" is not from 0 to 4294967295";
        return -1;
    }
    r->tmst = (uint32_t)tmst->valuedouble;
    int n = gwmp_base64_decode(data->valuestring, r->phy, sizeof r->phy);
    if (n < 0) {
        *why = "rxpk \"data\" is not valid base64 of at most 256 bytes";
        return -1;
    }
    r->phy_len = (size_t)n;
    if (size && (!cJSON_IsNumber(size) || size->valuedouble != (double)n)) {
        *why = "rxpk \"size\" does not match \"data\"";
        return -1;
    }
    return 0;
}

int gwmp_parse_stat(const cJSON *stat, struct gwmp_stat *s, const char **why)
{
    static const struct {
        const char *key;
        size_t offset;
        double lo, hi;
        const char *range;
    } members[] = {
        {"lati", offsetof(struct gwmp_stat, lat), -90, 90, "stat \"lati\" is not from -90 to 90"},
        {"long", offsetof(struct gwmp_stat, lon), -180, 180, "stat \"long\" is not from -180 to 180"},
        {"alti", offsetof(struct gwmp_stat, alt), -100000, 100000, "stat \"alti\" is not from -100000 to 100000 m"},
        {"rxnb", offsetof(struct gwmp_stat, rxnb), 0, UINT32_MAX, "stat \"rxnb\" is not from 0 to 4294967295"},
        {"rxok", offsetof(struct gwmp_stat, rxok), 0, UINT32_MAX, "stat \"rxok\" is not from 0 to 4294967295"},
        {"rxfw", offsetof(struct gwmp_stat, rxfw), 0, UINT32_MAX, "stat \"rxfw\" is not from 0 to 4294967295"},
        {"ackr", offsetof(struct gwmp_stat, ackr), 0, 100, "stat \"ackr\" is not from 0 to 100 %"},
        {"dwnb", offsetof(struct gwmp_stat, dwnb), 0, UINT32_MAX, "stat \"dwnb\" is not from 0 to 4294967295"},
        {"txnb", offsetof(struct gwmp_stat, txnb), 0, UINT32_MAX, "stat \"txnb\" is not from 0 to 4294967295"},
    };
    memset(s, 0, sizeof *s);
    *why = NULL;
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
        number_in(cJSON_GetObjectItemCaseSensitive(stat, members[i].key), members[i].lo, members[i].hi,
                  (double *)((char *)s + members[i].offset), members[i].range, why);
    s->has_location = cJSON_GetObjectItemCaseSensitive(stat, "lati") != NULL;
    return *why ? -1 : 0;
}

int gwmp_pull_resp(uint8_t version, uint16_t token, const char *txpk_json, uint8_t *out, size_t out_len)
{
    size_t n = strlen(txpk_json);
    if (4 + n > out_len)
        return -1;
    out[0] = version;
    out[1] = (uint8_t)(token >> 8);
    out[2] = (uint8_t)token;
    out[3] = GWMP_PULL_RESP;
    memcpy(out + 4, txpk_json, n);
    return (int)(4 + n);
}
