/* test_gwmp.c - the packet forwarder protocol, every packet type. */
#include "harness.h"

#include "../../plugins/lora/gwmp.h"

static void push_data_and_ack(void **state)
{
    (void)state;
    const char json[] = "{\"rxpk\":[{\"tmst\":3512348611,\"chan\":2,\"rfch\":0,\"freq\":868.500000,\"stat\":1,"
                        "\"modu\":\"LORA\",\"datr\":\"SF7BW125\",\"codr\":\"4/5\",\"rssi\":-35,\"lsnr\":5.1,"
                        "\"size\":17,\"data\":\"QPF9vkkAAgABlUN4disR/w0=\"}]}";
    uint8_t dgram[512] = {0x02, 0xab, 0xcd, 0x00, 0xaa, 0x55, 0x5a, 0x00, 0x00, 0x00, 0x01, 0x01};
    memcpy(dgram + 12, json, sizeof json - 1);
    struct gwmp_packet p;
    const char *why;
    assert_int_equal(gwmp_parse(dgram, 12 + sizeof json - 1, &p, &why), 0);
    assert_int_equal(p.version, 2);
    assert_int_equal(p.token, 0xabcd);
    assert_int_equal(p.kind, GWMP_PUSH_DATA);
    assert_true(p.gateway_eui == 0xaa555a0000000101ull);
    uint8_t ack[4];
    assert_int_equal(gwmp_ack(&p, ack), 4);
    assert_memory_equal(ack, "\x02\xab\xcd\x01", 4);
    cJSON *root = cJSON_ParseWithLength(p.json, p.json_len);
    struct gwmp_rxpk r;
    assert_int_equal(gwmp_parse_rxpk(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "rxpk"), 0), &r, &why), 0);
    assert_int_equal(r.tmst, 3512348611u);
    assert_int_equal(r.rssi, -35);
    assert_float_equal(r.lsnr, 5.1, 1e-9);
    assert_string_equal(r.datr, "SF7BW125");
    assert_int_equal(r.phy_len, 17);
    assert_memory_equal(r.phy, "\x40\xF1\x7D\xBE\x49\x00\x02\x00\x01\x95\x43\x78\x76\x2B\x11\xFF\x0D", 17);
    cJSON_Delete(root);
}

static void pull_data_ack_resp_txack(void **state)
{
    (void)state;
    uint8_t pull[12] = {0x02, 0x12, 0x34, 0x02, 1, 2, 3, 4, 5, 6, 7, 8};
    struct gwmp_packet p;
    const char *why;
    assert_int_equal(gwmp_parse(pull, 12, &p, &why), 0);
    assert_int_equal(p.kind, GWMP_PULL_DATA);
    uint8_t ack[4];
    gwmp_ack(&p, ack);
    assert_memory_equal(ack, "\x02\x12\x34\x04", 4);
    uint8_t resp[128];
    int n = gwmp_pull_resp(2, 0x0102, "{\"txpk\":{}}", resp, sizeof resp);
    assert_int_equal(n, 15);
    assert_memory_equal(resp, "\x02\x01\x02\x03{\"txpk\":{}}", 15);
    uint8_t txack[] = "\x02\x01\x02\x05\x01\x02\x03\x04\x05\x06\x07\x08{\"txpk_ack\":{\"error\":\"NONE\"}}";
    assert_int_equal(gwmp_parse(txack, sizeof txack - 1, &p, &why), 0);
    assert_int_equal(p.kind, GWMP_TX_ACK);
    assert_int_equal(p.json_len, strlen("{\"txpk_ack\":{\"error\":\"NONE\"}}"));
    /* version 1 is answered in kind */
    pull[0] = 1;
    assert_int_equal(gwmp_parse(pull, 12, &p, &why), 0);
    gwmp_ack(&p, ack);
    assert_int_equal(ack[0], 1);
}

static void bad_datagrams(void **state)
{
    (void)state;
    struct gwmp_packet p;
    const char *why;
    uint8_t short_one[3] = {2, 0, 0};
    assert_int_equal(gwmp_parse(short_one, 3, &p, &why), -1);
    uint8_t v3[4] = {3, 0, 0, 0};
    assert_int_equal(gwmp_parse(v3, 4, &p, &why), -1);
    assert_string_equal(why, "unknown protocol version");
    uint8_t kind9[4] = {2, 0, 0, 9};
    assert_int_equal(gwmp_parse(kind9, 4, &p, &why), -1);
    uint8_t no_eui[8] = {2, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(gwmp_parse(no_eui, 8, &p, &why), -1);
    struct gwmp_rxpk r;
    cJSON *bad = cJSON_Parse("{\"tmst\":1,\"data\":\"not base64!\"}");
    assert_int_equal(gwmp_parse_rxpk(bad, &r, &why), -1);
    assert_non_null(strstr(why, "base64"));
    cJSON_Delete(bad);
    cJSON *nodata = cJSON_Parse("{\"tmst\":1}");
    assert_int_equal(gwmp_parse_rxpk(nodata, &r, &why), -1);
    cJSON_Delete(nodata);
    cJSON *badsize = cJSON_Parse("{\"tmst\":1,\"size\":3,\"data\":\"QPF9vg==\"}");
    assert_int_equal(gwmp_parse_rxpk(badsize, &r, &why), -1);
    cJSON_Delete(badsize);
}

/* Numbers a gateway sends are checked before they are cast: 1e300 in an
 * int is undefined behaviour, and a negative tmst is no counter. */
static void out_of_range_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *member, *why;
    } cases[] = {
        {"\"tmst\":1e300", "rxpk \"tmst\" is not from 0 to 4294967295"},
        {"\"tmst\":-1", "rxpk \"tmst\" is not from 0 to 4294967295"},
        {"\"tmst\":4294967296", "rxpk \"tmst\" is not from 0 to 4294967295"},
        {"\"tmst\":1,\"chan\":-1e300", "rxpk \"chan\" is not from 0 to 255"},
        {"\"tmst\":1,\"rfch\":256", "rxpk \"rfch\" is not from 0 to 255"},
        {"\"tmst\":1,\"rssi\":3e9", "rxpk \"rssi\" is not from -1000 to 1000 dBm"},
        {"\"tmst\":1,\"stat\":1e19", "rxpk \"stat\" is not -1, 0 or 1"},
        {"\"tmst\":1,\"freq\":1e999", "rxpk \"freq\" is not from 0 to 10000 MHz"},
        {"\"tmst\":1,\"lsnr\":-1e308", "rxpk \"lsnr\" is not from -1000 to 1000 dB"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = mst__xasprintf("{%s,\"data\":\"QPF9vg==\"}", cases[i].member);
        cJSON *o = cJSON_Parse(json);
        assert_non_null(o);
        struct gwmp_rxpk r;
        const char *why = NULL;
        assert_int_equal(gwmp_parse_rxpk(o, &r, &why), -1);
        assert_non_null(why);
        assert_string_equal(why, cases[i].why);
        cJSON_Delete(o);
        free(json);
    }
    /* the edges themselves are fine */
    cJSON *edge = cJSON_Parse("{\"tmst\":4294967295,\"chan\":255,\"rssi\":-1000,\"stat\":-1,\"lsnr\":-20.5,"
                              "\"freq\":2425.0,\"data\":\"QPF9vg==\"}");
    struct gwmp_rxpk r;
    const char *why = NULL;
    assert_int_equal(gwmp_parse_rxpk(edge, &r, &why), 0);
    assert_int_equal(r.tmst, 4294967295u);
    assert_int_equal(r.chan, 255);
    assert_int_equal(r.rssi, -1000);
    assert_int_equal(r.stat, -1);
    cJSON_Delete(edge);
}

/* The stat object's numbers too: 1e999 (an infinity) was printed as "inf"
 * into lora/gateway, which is then not JSON. */
static void stat_out_of_range(void **state)
{
    (void)state;
    static const struct {
        const char *stat, *why;
    } cases[] = {
        {"{\"lati\":91,\"long\":17}", "stat \"lati\" is not from -90 to 90"},
        {"{\"lati\":49,\"long\":1e999}", "stat \"long\" is not from -180 to 180"},
        {"{\"lati\":49,\"long\":17,\"alti\":-1e300}", "stat \"alti\" is not from -100000 to 100000 m"},
        {"{\"rxnb\":1e300}", "stat \"rxnb\" is not from 0 to 4294967295"},
        {"{\"rxok\":-1}", "stat \"rxok\" is not from 0 to 4294967295"},
        {"{\"ackr\":100.5}", "stat \"ackr\" is not from 0 to 100 %"},
        {"{\"txnb\":4294967296}", "stat \"txnb\" is not from 0 to 4294967295"},
    };
    struct gwmp_stat st;
    const char *why;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *o = cJSON_Parse(cases[i].stat);
        assert_non_null(o);
        assert_int_equal(gwmp_parse_stat(o, &st, &why), -1);
        assert_non_null(why);
        assert_string_equal(why, cases[i].why);
        cJSON_Delete(o);
    }
    cJSON *ok = cJSON_Parse("{\"time\":\"2026-11-22 10:00:00 GMT\",\"lati\":49.5938,\"long\":-17.25,\"alti\":220,"
                            "\"rxnb\":4294967295,\"rxok\":1,\"rxfw\":1,\"ackr\":100.0,\"dwnb\":0,\"txnb\":2}");
    assert_int_equal(gwmp_parse_stat(ok, &st, &why), 0);
    assert_true(st.has_location);
    assert_float_equal(st.lon, -17.25, 1e-12);
    assert_float_equal(st.rxnb, 4294967295.0, 0);
    assert_float_equal(st.txnb, 2, 0);
    cJSON_Delete(ok);
}

static void base64_round_trip(void **state)
{
    (void)state;
    uint8_t in[7] = {1, 2, 3, 4, 5, 6, 255}, out[16];
    char *b = gwmp_base64_encode(in, 7);
    assert_string_equal(b, "AQIDBAUG/w==");
    assert_int_equal(gwmp_base64_decode(b, out, sizeof out), 7);
    assert_memory_equal(in, out, 7);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(push_data_and_ack),
        cmocka_unit_test(pull_data_ack_resp_txack),
        cmocka_unit_test(bad_datagrams),
        cmocka_unit_test(out_of_range_numbers),
        cmocka_unit_test(stat_out_of_range),
        cmocka_unit_test(base64_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
