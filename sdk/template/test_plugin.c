/* Unit test of TEMPLATE_NAME against the SDK's mock host. */
#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mestys/mock.h>

extern const struct mst_plugin mestys_plugin;

int main(void)
{
    struct mst_mock *m = mst_mock_new(&mestys_plugin, "{\"greeting\": \"nazdar\"}");
    assert(m && mst_mock_init(m) == 0 && mst_mock_start(m) == 0);
    assert(mst_mock_deliver(m, "TEMPLATE_NAME/in", "Lhota", 5) == 0);
    size_t len;
    const char *out = mst_mock_last_published(m, "TEMPLATE_NAME/out", &len);
    assert(out && strcmp(out, "nazdar, Lhota") == 0);
    int status;
    char *body = NULL;
    assert(mst_mock_http(m, "GET", "hello", MST_ROLE_PUBLIC, NULL, 0, &status, &body, NULL) == 0);
    assert(status == 200 && strstr(body, "\"greeted\":1"));
    free(body);
    mst_mock_free(m);
    printf("1 passed, 0 failed\n");
    return 0;
}
