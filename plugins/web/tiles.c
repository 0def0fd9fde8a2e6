/* tiles.c - the map's tile URL template ({z}/{x}/{y}, optional {s} and
 * {r}, as Leaflet fills them) and the origin every page's CSP must allow
 * for its images.  https only, except a loopback host (a tile cache on the
 * same machine, the browser tests' stand-in). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "web.h"

static int fail(char *why, size_t why_len, const char *msg)
{
    snprintf(why, why_len, "%s", msg);
    return MST_EINVAL;
}

/* Only Leaflet's placeholders, each closed. */
static int placeholders_ok(const char *url, char *why, size_t why_len)
{
    int z = 0, x = 0, y = 0;
    for (const char *p = strchr(url, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        size_t n = end ? (size_t)(end - p - 1) : 0;
        if (!end || n != 1 || !strchr("zxysr", p[1]))
            return fail(why, why_len, "the tile URL may only hold the placeholders {z}, {x}, {y}, {s} and {r}");
        z += p[1] == 'z', x += p[1] == 'x', y += p[1] == 'y';
    }
    if (!z || !x || !y)
        return fail(why, why_len, "the tile URL needs {z}, {x} and {y}, e.g. https://tile.example.org/{z}/{x}/{y}.png");
    return 0;
}

static int loopback(const char *host, size_t n)
{
    return (n == 9 && !strncmp(host, "localhost", 9)) || (n == 9 && !strncmp(host, "127.0.0.1", 9)) ||
           (n == 5 && !strncmp(host, "[::1]", 5));
}

int web_tiles_origin(const char *url, char *origin, size_t origin_len, char *why, size_t why_len)
{
    const char *scheme = strncmp(url, "https://", 8) == 0 ? "https://" : strncmp(url, "http://", 7) == 0 ? "http://" : NULL;
    if (!scheme)
        return fail(why, why_len, "the tile URL must start with https://");
    if (strpbrk(url, " \t\r\n\"'<>\\"))
        return fail(why, why_len, "the tile URL may not hold spaces, quotes, '<', '>' or '\\'");
    const char *host = url + strlen(scheme);
    size_t host_len = strcspn(host, "/?#");
    size_t name_len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":/?#");
    if (name_len == 0 || host[host_len] != '/')
        return fail(why, why_len, "the tile URL needs a host and a path, e.g. https://tile.example.org/{z}/{x}/{y}.png");
    /* after the name: nothing, or ":" and a port */
    if (name_len < host_len && (host[name_len] != ':' || name_len + 1 == host_len ||
                                strspn(host + name_len + 1, "0123456789") != host_len - name_len - 1))
        return fail(why, why_len, "the tile URL's host is a name, or an address, and a port (:8443) at most");
    if (scheme[4] == ':' && !loopback(host, name_len))
        return fail(why, why_len, "the tile URL must use https:// (http:// only for a tile server on this machine: "
                                  "localhost, 127.0.0.1, [::1])");
    int rc = placeholders_ok(url, why, why_len);
    if (rc != 0)
        return rc;
    /* {s} may only be the host's first label: the CSP says "*.rest" for it */
    const char *s = strstr(host, "{s}");
    int sub = s && s < host + host_len;
    if (sub && (s != host || host[3] != '.'))
        return fail(why, why_len, "{s} may only be the first label of the host ({s}.tile.example.org), "
                                  "so that the pages' Content-Security-Policy can allow it");
    for (size_t i = sub ? 3 : 0; i < host_len; i++)
        if (!isalnum((unsigned char)host[i]) && !strchr(".-:[]", host[i]))
            return fail(why, why_len, "the tile URL's host may hold letters, digits, '.', '-', a port and "
                                      "{s} as its first label, nothing else");
    int n = snprintf(origin, origin_len, "%s%s%.*s", scheme, sub ? "*" : "", (int)(host_len - (sub ? 3 : 0)),
                     host + (sub ? 3 : 0));
    if (n < 0 || (size_t)n >= origin_len)
        return fail(why, why_len, "the tile server's host name is too long");
    return 0;
}
