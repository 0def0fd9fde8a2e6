/* fuzz_lora_uplink - LoRaWAN frames through the lora plugin's uplink path, run
 * in-process on the SDK's mock host: GWMP, rxpk, frame parsing, MIC with
 * the rebuilt 32-bit counter, replay checks, dedup, join-requests, then
 * decryption, the Cayenne decoder and the published JSON.
 *
 * An input is a list of records: flags (1 byte), length (1 byte), bytes.
 *   flags & 1  the bytes are a whole UDP datagram from a gateway;
 *              else they are a PHYPayload, sent in a PUSH_DATA rxpk
 *   flags & 2  the MIC is set right first (for the registered device whose
 *              DevAddr the frame names, or the OTAA device's AppKey), so the
 *              fuzzer gets past the CMAC a real device would compute
 *   flags & 4  the dedup window ends after this record (decrypt, decode,
 *              publish); it also ends after the last one
 *   flags & 8  the FRMPayload is plaintext: it is encrypted with the
 *              device's key first (before the MIC), so the fuzzer reaches
 *              the decoders with payloads of its choosing.
 * The devices are those of the LoRaWAN test vectors. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/mock.h>

#include "quiet.h"

#include "lora/gwmp.h"
#include "lora/lora.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct mst_plugin mestys_plugin;

#define ABP_EUI 0x0004A30B001C0530ull
#define OTAA_EUI 0x0004A30B001C0531ull

/* "gateways": the plugin drops datagrams from gateways not registered */
static const char config[] =
    "{\"dedup_ms\": 0, \"net_id\": \"aabbcc\", \"gateways\": [{\"gateway\": \"AA555A0000000001\"}],"
    " \"devices\": ["
    "{\"dev_eui\": \"0004A30B001C0530\", \"dev_addr\": \"26011BDA\","
    " \"nwk_skey\": \"44024241ed4ce9a68c6a8bc055233fd3\", \"app_skey\": \"ec925802ae430ca77fd3dd73cb2cc588\","
    " \"decoder\": \"cayenne\", \"name\": \"vector\", \"lat\": 49.59, \"lon\": 17.25, \"tags\": {\"k\": \"v\"}}]}";
static const char otaa_json[] =
    "{\"dev_eui\": \"0004A30B001C0531\", \"app_key\": \"98929b92c49edba9676d646d3b612456\", \"decoder\": \"cayenne\"}";

static struct mst_mock *mock;
static struct mst_host host; /* the mock's, without its log lines */
static struct lora *lora;
static struct sockaddr_in gateway_addr;

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The MIC the device would have written (and its encryption, with
 * `encrypt`), if the frame is one we have the keys of. */
static void sign(uint8_t *phy, size_t len, int encrypt)
{
    if (lw_mtype_of(phy[0]) == LW_JOIN_REQUEST) {
        struct device *d = registry_by_eui(&lora->reg, OTAA_EUI);
        uint32_t mic;
        if (len == 23 && d && lw_join_mic(lora->crypto, d->app_key, phy, 19, &mic) == 0)
            put_le32(phy + 19, mic);
        return;
    }
    struct lw_frame f;
    const char *why;
    if (lw_parse_data(phy, len, &f, &why) != 0)
        return;
    struct device *d = registry_by_addr(&lora->reg, f.dev_addr);
    if (!d)
        return;
    uint32_t fcnt = d->fcnt_up < 0 ? f.fcnt16 : lw_fcnt_full((uint32_t)d->fcnt_up, f.fcnt16), mic;
    if (encrypt && f.payload_len)
        lw_crypt_payload(lora->crypto, f.has_port && f.fport == 0 ? d->nwk_skey : d->app_skey,
                         phy + (f.payload - phy), f.payload_len, f.dev_addr, fcnt, 0);
    if (lw_data_mic(lora->crypto, d->nwk_skey, phy, len - 4, f.dev_addr, fcnt, 0, &mic) == 0)
        put_le32(phy + len - 4, mic);
}

/* A PUSH_DATA from gateway AA555A0000000001 carrying phy in one rxpk. */
static void push(const uint8_t *phy, size_t len)
{
    char *b64 = gwmp_base64_encode(phy, len);
    char json[512];
    int n = snprintf(json, sizeof json,
                     "{\"rxpk\":[{\"tmst\":3512348611,\"chan\":2,\"rfch\":0,\"freq\":868.5,\"stat\":1,"
                     "\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"rssi\":-35,\"lsnr\":5.1,"
                     "\"size\":%zu,\"data\":\"%s\"}]}",
                     len, b64);
    free(b64);
    uint8_t dgram[12 + sizeof json] = {2, 0x12, 0x34, GWMP_PUSH_DATA, 0xAA, 0x55, 0x5A, 0, 0, 0, 0, 1};
    memcpy(dgram + 12, json, (size_t)n);
    lora_on_datagram(lora, NULL, dgram, 12 + (size_t)n, (const struct sockaddr *)&gateway_addr);
}

/* What the plugin published since the last look is JSON (a number printed
 * as "inf" or "nan" would not be). */
static void published_is_json(void)
{
    static const char *const topics[] = {"lora/uplink", "reading", "lora/gateway"};
    static size_t seen[3];
    for (size_t i = 0; i < 3; i++) {
        size_t n = mst_mock_published_count(mock, topics[i]), len;
        if (n == seen[i])
            continue;
        seen[i] = n;
        const char *body = mst_mock_last_published(mock, topics[i], &len);
        cJSON *j = cJSON_ParseWithLength(body, len);
        if (!j)
            abort();
        cJSON_Delete(j);
    }
}

/* Every input starts from the same devices: no counters, no session. */
static void reset_devices(void)
{
    struct device *abp = registry_by_eui(&lora->reg, ABP_EUI);
    if (abp)
        abp->fcnt_up = -1;
    registry_remove(&lora->reg, OTAA_EUI);
    cJSON *otaa = cJSON_Parse(otaa_json);
    const char *why;
    if (registry_upsert_json(&lora->reg, otaa, &why, NULL) != 0)
        abort();
    cJSON_Delete(otaa);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    mock = quiet_mock(&mestys_plugin, config, &host);
    void *state;
    if (mestys_plugin.init(mst_mock_instance(mock), &host, &state) != 0)
        abort();
    lora = state;
    gateway_addr.sin_family = AF_INET;
    gateway_addr.sin_port = htons(1700);
    gateway_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* the vector frame must come out as an uplink, or this harness only
     * fuzzes the way to a refusal (a gateway or device no longer known) */
    static const uint8_t vector[] = {0x40, 0xda, 0x1b, 0x01, 0x26, 0x00, 0x45, 0x23, 0x02,
                                     0xa0, 0xdf, 0x0f, 0x20, 0x41, 0x24, 0xce, 0x79};
    reset_devices();
    push(vector, sizeof vector);
    lora_finish_all(lora);
    if (mst_mock_published_count(mock, "lora/uplink") != 1) {
        fprintf(stderr, "fuzz_lora_uplink: the test vector frame was not published: fix the harness\n");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reset_devices();
    size_t pos = 0;
    while (pos + 2 <= size) {
        uint8_t flags = data[pos], len = data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = (uint8_t)(size - pos);
        uint8_t buf[256];
        memcpy(buf, data + pos, len);
        pos += len;
        if (flags & 1) {
            lora_on_datagram(lora, NULL, buf, len, (const struct sockaddr *)&gateway_addr);
        } else if (len > 0) {
            if (flags & 2)
                sign(buf, len, flags & 8);
            push(buf, len);
        }
        if (flags & 4)
            lora_finish_all(lora);
        published_is_json();
    }
    lora_finish_all(lora);
    published_is_json();
    return 0;
}
