/* topic.h - bus topics and subscription patterns: which are valid, which
 * pattern matches which topic, and whether a call stays inside what a plugin
 * declared.  Free of libuv and nng, so the SDK's mock host compiles the same
 * file and a plugin sees the same answers under the mock as in mestysd. */
#ifndef MST__TOPIC_H
#define MST__TOPIC_H

/* Topic patterns: exact topic, "prefix/#", or "#". */
int mst__topic_matches(const char *pattern, const char *topic);
int mst__valid_topic(const char *topic);
int mst__valid_pattern(const char *pattern);

/* Whether `topic` is covered by one of the NULL-terminated patterns. */
int mst__topic_declared(const char *const *list, const char *topic);
/* Whether a subscription pattern stays inside the declared patterns. */
int mst__pattern_declared(const char *const *list, const char *pattern);

#endif
