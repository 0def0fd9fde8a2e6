/* color.c - the town's colours: "#rgb" or "#rrggbb", and their contrast as
 * WCAG 2.1 defines it (relative luminance of sRGB, (L1 + 0.05) / (L2 + 0.05)). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "web.h"

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int web_color_parse(const char *text, struct web_color *out)
{
    if (!text || text[0] != '#')
        return MST_EINVAL;
    size_t n = strlen(text + 1);
    if (n != 3 && n != 6)
        return MST_EINVAL;
    int d[6];
    for (size_t i = 0; i < n; i++)
        if ((d[i] = hex_digit(text[1 + i])) < 0)
            return MST_EINVAL;
    if (n == 3) { /* #abc is #aabbcc */
        out->r = (uint8_t)(d[0] * 17), out->g = (uint8_t)(d[1] * 17), out->b = (uint8_t)(d[2] * 17);
    } else {
        out->r = (uint8_t)(d[0] * 16 + d[1]), out->g = (uint8_t)(d[2] * 16 + d[3]), out->b = (uint8_t)(d[4] * 16 + d[5]);
    }
    return 0;
}

void web_color_format(struct web_color c, char out[8])
{
    snprintf(out, 8, "#%02x%02x%02x", c.r, c.g, c.b);
}

static double channel(uint8_t v)
{
    double c = v / 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double luminance(struct web_color c)
{
    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
}

double web_contrast(struct web_color a, struct web_color b)
{
    double la = luminance(a), lb = luminance(b);
    return la > lb ? (la + 0.05) / (lb + 0.05) : (lb + 0.05) / (la + 0.05);
}
