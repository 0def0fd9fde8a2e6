/* test_web.c - the web plugin's checks alone: colours and their WCAG
 * contrast, the tile URL and the origin the CSP gets, the logo's type from
 * its first bytes. */
#include "harness.h"

#include <math.h>

#include "../../plugins/web/web.h"

static struct web_color color(const char *text)
{
    struct web_color c = {0};
    assert_int_equal(web_color_parse(text, &c), 0);
    return c;
}

static void colours_and_contrast(void **state)
{
    (void)state;
    char out[8];
    web_color_format(color("#ABC"), out);
    assert_string_equal(out, "#aabbcc");
    web_color_format(color("#0b3D2e"), out);
    assert_string_equal(out, "#0b3d2e");
    struct web_color c;
    const char *bad[] = {"", "#", "abc", "#ab", "#abcd", "#abcdefa", "#ggg", "# abcdef", "#12345g", "red"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (web_color_parse(bad[i], &c) != MST_EINVAL)
            fail_msg("%s was taken as a colour", bad[i]);
    assert_int_equal(web_color_parse(NULL, &c), MST_EINVAL);
    /* the figures WCAG's own examples and every contrast checker give */
    assert_true(fabs(web_contrast(color("#000"), color("#fff")) - 21.0) < 1e-9);
    assert_true(fabs(web_contrast(color("#fff"), color("#fff")) - 1.0) < 1e-9);
    assert_true(fabs(web_contrast(color("#777777"), color("#ffffff")) - 4.478) < 0.001);
    assert_true(web_contrast(color("#767676"), color("#ffffff")) >= 4.5);
    /* symmetric */
    assert_true(web_contrast(color("#1f4e79"), color("#fff")) == web_contrast(color("#fff"), color("#1f4e79")));
}

static void tile_origin(void **state)
{
    (void)state;
    char origin[256], why[256];
    struct {
        const char *url, *origin;
    } good[] = {
        {"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"},
        {"https://{s}.tiles.example.org/base/{z}/{x}/{y}{r}.png", "https://*.tiles.example.org"},
        {"https://tiles.example.org:8443/{z}/{x}/{y}.png?key=abc", "https://tiles.example.org:8443"},
        {"http://127.0.0.1:8111/{z}/{x}/{y}.png", "http://127.0.0.1:8111"},
        {"http://localhost/{z}/{x}/{y}.png", "http://localhost"},
        {"http://[::1]:80/t/{z}/{x}/{y}.png", "http://[::1]:80"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        if (web_tiles_origin(good[i].url, origin, sizeof origin, why, sizeof why) != 0)
            fail_msg("%s refused: %s", good[i].url, why);
        assert_string_equal(origin, good[i].origin);
    }
    const char *bad[] = {
        "tile.openstreetmap.org/{z}/{x}/{y}.png",     /* no scheme */
        "http://tiles.example.org/{z}/{x}/{y}.png",   /* http to another machine */
        "http://localhost.example.org/{z}/{x}/{y}.png",
        "http://127.0.0.1.example.org/{z}/{x}/{y}.png",
        "http://[::1]x/{z}/{x}/{y}.png",
        "https://tiles.example.org/{z}/{x}.png",      /* no {y} */
        "https://tiles.example.org/{z}/{x}/{y}.png?k={key}",
        "https://tiles.example.org/{z}/{x}/{y.png",
        "https://tile-{s}.example.org/{z}/{x}/{y}.png", /* {s} not a whole first label */
        "https://a.{s}.example.org/{z}/{x}/{y}.png",
        "https://{z}.example.org/{z}/{x}/{y}.png",
        "https://tiles.example.org;script-src/{z}/{x}/{y}.png", /* would add a CSP directive */
        "https://tiles.example.org\"/{z}/{x}/{y}.png",
        "https://tiles.example.org /{z}/{x}/{y}.png",
        "https://tiles.example.org", "https:///{z}/{x}/{y}.png", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (web_tiles_origin(bad[i], origin, sizeof origin, why, sizeof why) != MST_EINVAL)
            fail_msg("%s taken, origin %s", bad[i], origin);
}

static void logo_type_from_content(void **state)
{
    (void)state;
    assert_string_equal(web_logo_sniff((const unsigned char *)"\x89PNG\r\n\x1a\n....", 12), "image/png");
    assert_string_equal(web_logo_sniff((const unsigned char *)"\xff\xd8\xff\xe0", 4), "image/jpeg");
    assert_string_equal(web_logo_sniff((const unsigned char *)"RIFF\x10\0\0\0WEBPVP8 ", 16), "image/webp");
    const char *svg = "<?xml version=\"1.0\"?>\n<!-- the arms -->\n<SVG xmlns=\"http://www.w3.org/2000/svg\"/>";
    assert_string_equal(web_logo_sniff((const unsigned char *)svg, strlen(svg)), "image/svg+xml");
    assert_null(web_logo_sniff((const unsigned char *)"GIF89a......", 12));
    assert_null(web_logo_sniff((const unsigned char *)"<html><body>svg</body>", 22));
    assert_null(web_logo_sniff((const unsigned char *)"<svg\0", 5)); /* a NUL byte: not text */
    assert_null(web_logo_sniff((const unsigned char *)"", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(colours_and_contrast),
        cmocka_unit_test(tile_origin),
        cmocka_unit_test(logo_type_from_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
