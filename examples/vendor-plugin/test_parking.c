/* test_parking.c - the vendor's unit test, against the SDK's mock host. */
#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/mock.h>

extern const struct mst_plugin mestys_plugin;

int main(void)
{
    struct mst_mock *m = mst_mock_new(&mestys_plugin,
        "{\"lots\": [{\"id\": \"namesti\", \"name\": \"Náměstí\", \"capacity\": 2}]}");
    assert(m && mst_mock_init(m) == 0 && mst_mock_start(m) == 0);
    for (int i = 0; i < 3; i++)
        mst_mock_deliver(m, "parking/event", "{\"lot\":\"namesti\",\"delta\":1}", 27);
    const char *last = mst_mock_last_published(m, "parking/occupancy", NULL);
    assert(last && strstr(last, "\"occupied\":2"));   /* clamped at capacity */
    mst_mock_deliver(m, "parking/event", "{\"lot\":\"nowhere\",\"delta\":1}", 27);
    mst_mock_deliver(m, "parking/event", "not json", 8);
    assert(mst_mock_metric(m, "bad_events_total") == 2);
    int status;
    char *body;
    assert(mst_mock_http(m, "GET", "lots", MST_ROLE_PUBLIC, NULL, 0, &status, &body, NULL) == 0);
    assert(status == 200 && strstr(body, "\"occupied\":2"));
    free(body);
    mst_mock_free(m);
    printf("1 passed, 0 failed\n");
    return 0;
}
