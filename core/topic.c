#include "topic.h"

#include <stddef.h>
#include <string.h>

static int ends_with_wildcard(const char *pattern, size_t len)
{
    return len >= 2 && pattern[len - 1] == '#' && pattern[len - 2] == '/';
}

/* A topic of at most `n` bytes (the whole string when n is (size_t)-1). */
static int valid_topic_n(const char *topic, size_t n)
{
    size_t len = strnlen(topic, n);
    if (len == 0 || len > 200 || topic[0] == '/' || topic[len - 1] == '/')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)topic[i];
        if (c <= ' ' || c == '#' || c == '+' || c >= 0x7f)
            return 0;
        if (c == '/' && i + 1 < len && topic[i + 1] == '/')
            return 0;
    }
    return 1;
}

int mst__valid_topic(const char *topic)
{
    return valid_topic_n(topic, (size_t)-1);
}

int mst__valid_pattern(const char *pattern)
{
    size_t len = strlen(pattern);
    if (len == 1 && pattern[0] == '#')
        return 1;
    if (ends_with_wildcard(pattern, len))
        return valid_topic_n(pattern, len - 2);
    return mst__valid_topic(pattern);
}

int mst__topic_matches(const char *pattern, const char *topic)
{
    size_t pl = strlen(pattern);
    if (pl == 1 && pattern[0] == '#')
        return 1;
    if (ends_with_wildcard(pattern, pl))
        return strncmp(pattern, topic, pl - 1) == 0 && topic[pl - 1] != '\0';
    return strcmp(pattern, topic) == 0;
}

int mst__topic_declared(const char *const *list, const char *topic)
{
    for (size_t i = 0; list && list[i]; i++)
        if (mst__topic_matches(list[i], topic))
            return 1;
    return 0;
}

int mst__pattern_declared(const char *const *list, const char *pattern)
{
    size_t len = strlen(pattern);
    if (len == 0 || pattern[len - 1] != '#')
        return mst__topic_declared(list, pattern);
    for (size_t i = 0; list && list[i]; i++) {
        const char *d = list[i];
        size_t dl = strlen(d);
        if (strcmp(d, "#") == 0 || strcmp(d, pattern) == 0)
            return 1;
        if (ends_with_wildcard(d, dl) && strncmp(d, pattern, dl - 1) == 0)
            return 1;
    }
    return 0;
}
