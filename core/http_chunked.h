/* http_chunked.h - a chunked request body (RFC 9112 section 7.1) decoded
 * as it arrives.  libwebsockets 4.1 hands such a body over raw, framing
 * and all, and never says it has ended. */
#ifndef MST__HTTP_CHUNKED_H
#define MST__HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct mst__chunked {
    int state;
    uint64_t left; /* bytes of the current chunk still to come */
    int digits;    /* hex digits of its size read so far */
};

/* Feeds the next len bytes; the chunks' data is appended to body, which
 * may not grow past limit.  Returns 1 once the last chunk and the trailer
 * are in (bytes after that are ignored), 0 when more is needed,
 * MST_ETOOBIG past the limit, MST_EINVAL for broken framing. */
int mst__chunked_feed(struct mst__chunked *c, const void *in, size_t len, struct mst__buf *body,
                      size_t limit);

#endif
