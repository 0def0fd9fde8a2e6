/* simulate.c - `mestys-lora-simulate` (run as `mestys simulate lora`):
 * gateways and devices in one process, sending real PUSH_DATA with valid MICs and encrypted payloads
 * (the lora plugin's own LoRaWAN code), answering Join-accepts. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gwmp.h"
#include "lorawan.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "mestys simulate lora: out of memory\n");
        exit(1);
    }
    return p;
}


struct sim_device {
    uint64_t dev_eui;
    uint32_t dev_addr;
    uint8_t nwk[16], app[16], app_key[16];
    uint32_t fcnt;
    int otaa, joined;
    uint16_t dev_nonce;
};

struct sim {
    int gateways, devices, otaa, batch;
    double rate;
    long count;
    double seconds;
    const char *to;
    const char *devices_out;
    const char *gateways_out;
    int progress;
    struct sockaddr_in server;
    int *sock;
    struct sim_device *dev;
    struct lw_crypto *crypto;
};

static void key_for(uint64_t eui, uint8_t salt, uint8_t out[16])
{
    /* deterministic, so a config written once fits every run */
    for (int i = 0; i < 16; i++)
        out[i] = (uint8_t)((eui >> (8 * (i % 8))) ^ (salt * 31u) ^ (uint8_t)(i * 17));
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_devices(struct sim *s)
{
    FILE *f = strcmp(s->devices_out, "-") == 0 ? stdout : fopen(s->devices_out, "w");
    if (!f)
        return -1;
    fprintf(f, "[\n");
    for (int i = 0; i < s->devices; i++) {
        struct sim_device *d = &s->dev[i];
        char a[33], b[33];
        if (d->otaa) {
            hex(d->app_key, 16, a);
            fprintf(f, "  {\"dev_eui\": \"%016" PRIX64 "\", \"join_eui\": \"70B3D57ED0000000\", \"app_key\": \"%s\", "
                       "\"decoder\": \"lua:decoders/temperature-humidity.lua\"}%s\n",
                    d->dev_eui, a, i + 1 < s->devices ? "," : "");
        } else {
            hex(d->nwk, 16, a);
            hex(d->app, 16, b);
            fprintf(f, "  {\"dev_eui\": \"%016" PRIX64 "\", \"dev_addr\": \"%08" PRIX32 "\", \"nwk_skey\": \"%s\", "
                       "\"app_skey\": \"%s\", \"decoder\": \"lua:decoders/temperature-humidity.lua\"}%s\n",
                    d->dev_eui, d->dev_addr, a, b, i + 1 < s->devices ? "," : "");
        }
    }
    fprintf(f, "]\n");
    return f == stdout ? 0 : fclose(f);
}

/* Gateway g's EUI: the forwarders' gateway_ID. */
static uint64_t gateway_eui(int g)
{
    return 0xAA555A0000000000ull + (uint64_t)g;
}

/* The gateways, for the config's "gateways" (or POST /api/<lora>/gateways). */
static int write_gateways(struct sim *s)
{
    FILE *f = strcmp(s->gateways_out, "-") == 0 ? stdout : fopen(s->gateways_out, "w");
    if (!f)
        return -1;
    fprintf(f, "[\n");
    for (int g = 0; g < s->gateways; g++)
        fprintf(f, "  {\"gateway\": \"%016" PRIX64 "\", \"name\": \"simulated gateway %d\"}%s\n", gateway_eui(g), g,
                g + 1 < s->gateways ? "," : "");
    fprintf(f, "]\n");
    return f == stdout ? 0 : fclose(f);
}

static size_t push_header(uint8_t *out, int gw)
{
    static uint16_t token;
    token++;
    out[0] = 2, out[1] = (uint8_t)(token >> 8), out[2] = (uint8_t)token, out[3] = GWMP_PUSH_DATA;
    uint64_t eui = gateway_eui(gw);
    for (int i = 0; i < 8; i++)
        out[4 + i] = (uint8_t)(eui >> (56 - 8 * i));
    return 12;
}

/* One device's next frame as base64 PHYPayload: temperature-humidity. */
static char *next_frame(struct sim *s, struct sim_device *d, uint8_t *phy, size_t *phy_len)
{
    uint8_t payload[4];
    int t = 1500 + (int)(d->fcnt % 1000);
    payload[0] = (uint8_t)(t >> 8), payload[1] = (uint8_t)t, payload[2] = (uint8_t)(60 + d->fcnt % 60);
    payload[3] = 50;
    d->fcnt++;
    int n = lw_data_frame(s->crypto, d->nwk, d->app, LW_UNCONFIRMED_UP, d->dev_addr, d->fcnt, 0, 1, payload, 4, phy, 64);
    *phy_len = (size_t)n;
    return gwmp_base64_encode(phy, (size_t)n);
}

static void drain(struct sim *s, long *acks)
{
    uint8_t buf[2048];
    for (int g = 0; g < s->gateways; g++)
        while (recv(s->sock[g], buf, sizeof buf, MSG_DONTWAIT) > 0)
            if (buf[3] == GWMP_PUSH_ACK)
                (*acks)++;
}

static int join_all(struct sim *s)
{
    int pending = 0;
    for (int i = 0; i < s->devices; i++) {
        struct sim_device *d = &s->dev[i];
        if (!d->otaa)
            continue;
        uint8_t rnd[2];
        EVP_Digest(&d->dev_eui, 8, rnd, NULL, EVP_md5(), NULL); /* any two bytes that differ per device */
        d->dev_nonce = (uint16_t)(rnd[0] | rnd[1] << 8 | (uint16_t)time(NULL));
        uint8_t phy[23] = {0};
        uint64_t join_eui = 0x70B3D57ED0000000ull;
        for (int k = 0; k < 8; k++)
            phy[1 + k] = (uint8_t)(join_eui >> (8 * k)), phy[9 + k] = (uint8_t)(d->dev_eui >> (8 * k));
        phy[17] = (uint8_t)d->dev_nonce, phy[18] = (uint8_t)(d->dev_nonce >> 8);
        uint32_t mic;
        lw_join_mic(s->crypto, d->app_key, phy, 19, &mic);
        for (int k = 0; k < 4; k++)
            phy[19 + k] = (uint8_t)(mic >> (8 * k));
        char *b64 = gwmp_base64_encode(phy, 23);
        uint8_t dg[512];
        size_t n = push_header(dg, 0);
        n += (size_t)snprintf((char *)dg + n, sizeof dg - n,
                              "{\"rxpk\":[{\"tmst\":%u,\"freq\":868.1,\"chan\":0,\"rfch\":0,\"stat\":1,\"modu\":\"LORA\","
                              "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"rssi\":-50,\"lsnr\":9,\"size\":23,\"data\":\"%s\"}]}",
                              (unsigned)i * 1000u, b64);
        free(b64);
        sendto(s->sock[0], dg, n, 0, (struct sockaddr *)&s->server, sizeof s->server);
        pending++;
    }
    double deadline = now_s() + 10;
    while (pending && now_s() < deadline) {
        struct pollfd p = {s->sock[0], POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        uint8_t buf[2048];
        ssize_t n = recv(s->sock[0], buf, sizeof buf - 1, 0);
        if (n <= 4 || buf[3] != GWMP_PULL_RESP)
            continue;
        buf[n] = '\0';
        cJSON *j = cJSON_Parse((char *)buf + 4);
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "txpk"), "data");
        const cJSON *tmst = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "txpk"), "tmst");
        uint8_t phy[64], plain[32];
        int len = cJSON_IsString(data) ? gwmp_base64_decode(data->valuestring, phy, sizeof phy) : -1;
        if (len == 17 && cJSON_IsNumber(tmst)) {
            struct sim_device *d = &s->dev[((uint32_t)tmst->valuedouble - 5000000u) / 1000u];
            EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
            int m;
            EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, d->app_key, NULL);
            EVP_CIPHER_CTX_set_padding(c, 0);
            EVP_EncryptUpdate(c, plain, &m, phy + 1, 16);
            EVP_CIPHER_CTX_free(c);
            uint32_t app_nonce = plain[0] | plain[1] << 8 | (uint32_t)plain[2] << 16;
            uint32_t net_id = plain[3] | plain[4] << 8 | (uint32_t)plain[5] << 16;
            d->dev_addr = plain[6] | plain[7] << 8 | (uint32_t)plain[8] << 16 | (uint32_t)plain[9] << 24;
            lw_derive_keys(s->crypto, d->app_key, app_nonce, net_id, d->dev_nonce, d->nwk, d->app);
            d->joined = 1;
            d->fcnt = 0;
            pending--;
        }
        cJSON_Delete(j);
    }
    return pending;
}

static int run(struct sim *s)
{
    long sent = 0, datagrams = 0, acks = 0;
    double start = now_s(), next_progress = start;
    int next_dev = 0;
    uint8_t dg[65000];
    while ((s->count <= 0 || sent < s->count) && (s->seconds <= 0 || now_s() - start < s->seconds)) {
        /* pace: do not run ahead of the rate */
        double due = start + (double)sent / s->rate;
        double now = now_s();
        if (now < due) {
            double wait = due - now;
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
        int k = s->batch;
        if (s->count > 0 && sent + k > s->count)
            k = (int)(s->count - sent);
        char *frames[64];
        for (int i = 0; i < k; i++) {
            struct sim_device *d = &s->dev[next_dev];
            next_dev = (next_dev + 1) % s->devices;
            uint8_t phy[64];
            size_t len;
            frames[i] = d->otaa && !d->joined ? NULL : next_frame(s, d, phy, &len);
        }
        for (int g = 0; g < s->gateways; g++) {
            size_t n = push_header(dg, g);
            n += (size_t)snprintf((char *)dg + n, sizeof dg - n, "{\"rxpk\":[");
            int first = 1;
            for (int i = 0; i < k; i++) {
                if (!frames[i])
                    continue;
                n += (size_t)snprintf((char *)dg + n, sizeof dg - n,
                                      "%s{\"tmst\":%ld,\"freq\":868.1,\"chan\":0,\"rfch\":0,\"stat\":1,\"modu\":\"LORA\","
                                      "\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"rssi\":%d,\"lsnr\":7.5,\"size\":17,\"data\":\"%s\"}",
                                      first ? "" : ",", (sent + i) * 1000L % 4000000000L, -40 - 10 * g, frames[i]);
                first = 0;
            }
            n += (size_t)snprintf((char *)dg + n, sizeof dg - n, "]}");
            if (sendto(s->sock[g], dg, n, 0, (struct sockaddr *)&s->server, sizeof s->server) > 0)
                datagrams++;
        }
        for (int i = 0; i < k; i++)
            free(frames[i]);
        sent += k;
        if (s->progress && now_s() >= next_progress) {
            printf("progress %.6f %ld\n", now_s(), sent);
            fflush(stdout);
            next_progress = now_s() + 0.01;
        }
        drain(s, &acks);
    }
    double elapsed = now_s() - start;
    usleep(200000);
    drain(s, &acks);
    if (s->progress)
        printf("progress %.6f %ld\n", now_s(), sent);
    printf("sent %ld uplinks (x%d gateways) in %ld datagrams over %.2f s: %.0f uplinks/s; %ld PUSH_ACKs\n", sent,
           s->gateways, datagrams, elapsed, (double)sent / elapsed, acks);
    return 0;
}

int main(int argc, char **argv)
{
    struct sim s = {.gateways = 3, .devices = 100, .rate = 100, .count = 0, .seconds = 10, .to = "127.0.0.1:1700",
                    .batch = 8};
    static const struct option opts[] = {
        {"to", required_argument, NULL, 't'},       {"gateways", required_argument, NULL, 'g'},
        {"devices", required_argument, NULL, 'd'},  {"otaa", required_argument, NULL, 'o'},
        {"rate", required_argument, NULL, 'r'},     {"count", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},  {"devices-json", required_argument, NULL, 'j'},
        {"batch", required_argument, NULL, 'b'},    {"progress", no_argument, NULL, 'p'},
        {"gateways-json", required_argument, NULL, 'G'},
        {0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': s.to = optarg; break;
        case 'g': s.gateways = atoi(optarg); break;
        case 'd': s.devices = atoi(optarg); break;
        case 'o': s.otaa = atoi(optarg); break;
        case 'r': s.rate = atof(optarg); break;
        case 'n': s.count = atol(optarg); s.seconds = 0; break;
        case 's': s.seconds = atof(optarg); break;
        case 'j': s.devices_out = optarg; break;
        case 'G': s.gateways_out = optarg; break;
        case 'b': s.batch = atoi(optarg); break;
        case 'p': s.progress = 1; break;
        default: return 2;
        }
    }
    if (s.rate < s.batch)
        s.batch = s.rate < 1 ? 1 : (int)s.rate; /* slow rates: one frame at a time, evenly spaced */
    if (s.gateways < 1 || s.gateways > 64 || s.devices < 1 || s.otaa < 0 || s.otaa > s.devices || s.rate <= 0 ||
        s.batch < 1 || s.batch > 64) {
        fprintf(stderr, "mestys simulate lora: --gateways 1..64, --devices >= 1, --otaa <= devices, --rate > 0, --batch 1..64\n");
        return 2;
    }
    char host[64];
    int port;
    if (sscanf(s.to, "%63[^:]:%d", host, &port) != 2 || inet_pton(AF_INET, host, &s.server.sin_addr) != 1) {
        fprintf(stderr, "mestys simulate lora: --to wants IPv4:port, e.g. 127.0.0.1:1700\n");
        return 2;
    }
    s.server.sin_family = AF_INET;
    s.server.sin_port = htons((uint16_t)port);
    s.crypto = lw_crypto_new();
    s.dev = xcalloc((size_t)s.devices, sizeof *s.dev);
    for (int i = 0; i < s.devices; i++) {
        struct sim_device *d = &s.dev[i];
        d->dev_eui = 0x00AA000000000000ull + (uint64_t)i;
        d->dev_addr = 0x26000000u + (uint32_t)i;
        d->otaa = i < s.otaa;
        key_for(d->dev_eui, 1, d->nwk);
        key_for(d->dev_eui, 2, d->app);
        key_for(d->dev_eui, 3, d->app_key);
    }
    if (s.devices_out || s.gateways_out) {
        int rc = s.devices_out ? write_devices(&s) : 0;
        if (rc == 0 && s.gateways_out)
            rc = write_gateways(&s);
        lw_crypto_free(s.crypto);
        free(s.dev);
        return rc == 0 ? 0 : 1;
    }
    s.sock = xcalloc((size_t)s.gateways, sizeof *s.sock);
    for (int g = 0; g < s.gateways; g++) {
        s.sock[g] = socket(AF_INET, SOCK_DGRAM, 0);
        int size = 4 << 20;
        setsockopt(s.sock[g], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        /* PULL_DATA, so the server has a downlink path for join-accepts */
        uint8_t pull[12] = {2, 0, 1, GWMP_PULL_DATA};
        uint64_t eui = gateway_eui(g);
        for (int i = 0; i < 8; i++)
            pull[4 + i] = (uint8_t)(eui >> (56 - 8 * i));
        sendto(s.sock[g], pull, 12, 0, (struct sockaddr *)&s.server, sizeof s.server);
    }
    usleep(100000);
    long ignored = 0;
    drain(&s, &ignored);
    int rc = 0;
    if (s.otaa && join_all(&s) != 0) {
        fprintf(stderr, "mestys simulate lora: some devices got no Join-accept (devices and gateways registered? "
                        "see --devices-json and --gateways-json)\n");
        rc = 1;
    }
    if (rc == 0)
        rc = run(&s);
    for (int g = 0; g < s.gateways; g++)
        close(s.sock[g]);
    free(s.sock);
    free(s.dev);
    lw_crypto_free(s.crypto);
    return rc;
}
