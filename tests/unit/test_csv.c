/* test_csv.c - the lora plugin's device imports, CSV and JSON, alone. */
#include "harness.h"

#include "../../plugins/lora/csv.h"
#include "../../plugins/lora/registry.h"

static cJSON *parse(const char *text, const char **why)
{
    *why = "left over from a previous call";
    return csv_devices(text, strlen(text), why);
}

static void devices_from_csv(void **state)
{
    (void)state;
    const char *why;
    cJSON *list = parse("\xEF\xBB\xBF" "dev_eui,name,lat,lon,relax_fcnt\r\n"
                        "0102030405060708,\"Husova, roh\",49.5938,-17.25,true\r\n"
                        "0102030405060709,\"say \"\"hi\"\"\",,,0\n",
                        &why);
    assert_non_null(list);
    assert_null(why);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    cJSON *a = cJSON_GetArrayItem(list, 0), *b = cJSON_GetArrayItem(list, 1);
    assert_string_equal(cJSON_GetObjectItem(a, "name")->valuestring, "Husova, roh");
    assert_float_equal(cJSON_GetObjectItem(a, "lat")->valuedouble, 49.5938, 1e-12);
    assert_float_equal(cJSON_GetObjectItem(a, "lon")->valuedouble, -17.25, 1e-12);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "relax_fcnt")));
    assert_string_equal(cJSON_GetObjectItem(b, "name")->valuestring, "say \"hi\"");
    assert_null(cJSON_GetObjectItem(b, "lat"));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(b, "relax_fcnt")));
    cJSON_Delete(list);
}

/* Coordinates are numbers in range, not atof's 0 for words or an infinity
 * (which no JSON can carry back out) for 1e999. */
static void bad_coordinates_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *csv, *why;
    } cases[] = {
        {"dev_eui,lat,lon\n01,north,17\n", "lat: a number of degrees from -90 to 90"},
        {"dev_eui,lat,lon\n01,1e999,17\n", "lat: a number of degrees from -90 to 90"},
        {"dev_eui,lat,lon\n01,90.5,17\n", "lat: a number of degrees from -90 to 90"},
        {"dev_eui,lat,lon\n01,49,-180.01\n", "lon: a number of degrees from -180 to 180"},
        {"dev_eui,lat,lon\n01,49,17x\n", "lon: a number of degrees from -180 to 180"},
        {"dev_eui,lat,lon\n01,49,nan\n", "lon: a number of degrees from -180 to 180"},
        {"dev_eui,lat\n01,49,17\n", "a row has more fields than the header"},
        {"dev_eui,name\n01,\"open\n", "a quoted field is not closed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why;
        assert_null(parse(cases[i].csv, &why));
        assert_non_null(why);
        assert_string_equal(why, cases[i].why);
    }
}

/* 33 header columns: before, the 33rd and later were read as a device row. */
static void too_many_columns(void **state)
{
    (void)state;
    char text[512] = "";
    for (int c = 0; c < 33; c++)
        sprintf(text + strlen(text), "%sc%d", c ? "," : "", c);
    strcat(text, "\n");
    const char *why;
    assert_null(parse(text, &why));
    assert_non_null(why);
    assert_string_equal(why, "the header has more than 32 columns");
}

/* Devices given as JSON were stored anywhere, off the globe too; they now
 * get the CSV import's check and its words. */
static void json_coordinates_checked_as_csv(void **state)
{
    (void)state;
    static const struct {
        const char *lat_lon, *csv_lat_lon, *why;
    } cases[] = {
        {"\"lat\": 91, \"lon\": 17", "91,17", "lat: a number of degrees from -90 to 90"},
        {"\"lat\": -90.5, \"lon\": 17", "-90.5,17", "lat: a number of degrees from -90 to 90"},
        {"\"lat\": 1e999, \"lon\": 17", "1e999,17", "lat: a number of degrees from -90 to 90"},
        {"\"lat\": 49, \"lon\": -180.01", "49,-180.01", "lon: a number of degrees from -180 to 180"},
        {"\"lat\": 49, \"lon\": -1e300", "49,-1e300", "lon: a number of degrees from -180 to 180"},
        {"\"lat\": 49", "49,", "lat, lon: both, numbers of degrees (WGS84)"},
        {"\"lat\": \"49\", \"lon\": 17", NULL, "lat, lon: both, numbers of degrees (WGS84)"},
        {"\"lat\": 49, \"lon\": null", NULL, "lat, lon: both, numbers of degrees (WGS84)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"dev_eui\": \"0102030405060708\", \"app_key\": \"%032d\", %s}", 0,
                 cases[i].lat_lon);
        cJSON *dev = cJSON_Parse(text);
        const char *why = NULL;
        assert_non_null(dev);
        assert_int_equal(registry_check_json(dev, &why), MST_EINVAL);
        assert_non_null(why);
        assert_string_equal(why, cases[i].why);
        cJSON_Delete(dev);
        if (!cases[i].csv_lat_lon)
            continue;
        /* the CSV import refuses the same row, or gives the JSON that is refused */
        snprintf(text, sizeof text, "dev_eui,app_key,lat,lon\n0102030405060708,%032d,%s\n", 0, cases[i].csv_lat_lon);
        cJSON *list = parse(text, &why);
        if (list) {
            assert_int_equal(registry_check_json(cJSON_GetArrayItem(list, 0), &why), MST_EINVAL);
            cJSON_Delete(list);
        }
        assert_string_equal(why, cases[i].why);
    }
    cJSON *dev = cJSON_Parse("{\"dev_eui\": \"0102030405060708\", \"app_key\": \"00000000000000000000000000000000\","
                             " \"lat\": -90, \"lon\": 180}");
    const char *why = NULL;
    assert_int_equal(registry_check_json(dev, &why), 0);
    cJSON_Delete(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(devices_from_csv),
        cmocka_unit_test(bad_coordinates_are_refused),
        cmocka_unit_test(too_many_columns),
        cmocka_unit_test(json_coordinates_checked_as_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
