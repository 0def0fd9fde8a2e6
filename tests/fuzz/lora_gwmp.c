/* fuzz_lora_gwmp - a UDP datagram from a packet forwarder: the GWMP header, and
 * for PUSH_DATA every rxpk of its JSON, as uplink.c reads them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lora/gwmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gwmp_packet p;
    const char *why = NULL;
    if (gwmp_parse(data, size, &p, &why) != 0) {
        if (!why)
            abort(); /* a refusal always says why */
        return 0;
    }
    uint8_t ack[4];
    gwmp_ack(&p, ack);
    if (p.kind != GWMP_PUSH_DATA || !p.json)
        return 0;
    cJSON *root = cJSON_ParseWithLength(p.json, p.json_len), *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "rxpk"))
    {
        struct gwmp_rxpk r;
        why = NULL;
        if (gwmp_parse_rxpk(o, &r, &why) != 0) {
            if (!why)
                abort();
            continue;
        }
        if (r.phy_len > sizeof r.phy)
            abort();
        /* what the forwarder sent reads back the same once re-encoded */
        char *b64 = gwmp_base64_encode(r.phy, r.phy_len);
        uint8_t back[256];
        if (r.phy_len && (gwmp_base64_decode(b64, back, sizeof back) != (int)r.phy_len ||
                          memcmp(back, r.phy, r.phy_len) != 0))
            abort();
        free(b64);
    }
    cJSON_Delete(root);
    return 0;
}
