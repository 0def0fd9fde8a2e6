/* http_chunked.c - the chunked transfer coding, decoded byte by byte. */
#include "http_chunked.h"

#include <mestys/error.h>

enum {
    SIZE,       /* hex digits of the chunk size */
    EXTENSION,  /* ";name=value" after the size: ignored up to CR */
    SIZE_LF,    /* the LF after the size line's CR */
    DATA,       /* the chunk's bytes */
    DATA_CR,    /* CRLF after the chunk's bytes */
    DATA_LF,
    TRAILER,    /* start of a trailer line, or the final CRLF */
    TRAILER_LINE,
    TRAILER_LF, /* LF ending a trailer line */
    END_LF,     /* LF of the final CRLF */
    DONE,
};

int mst__chunked_feed(struct mst__chunked *c, const void *in, size_t len, struct mst__buf *body,
                      size_t limit)
{
    const unsigned char *p = in, *end = p + len;
    while (p < end && c->state != DONE) {
        unsigned char ch = *p;
        switch (c->state) {
        case SIZE:
            if (mst__hex_value(ch) >= 0) {
                if (++c->digits > 15) /* 16^15 bytes: no body is that large */
                    return MST_EINVAL;
                c->left = c->left * 16 + (uint64_t)mst__hex_value(ch);
            } else if (c->digits && (ch == ';' || ch == ' ' || ch == '\t')) {
                c->state = EXTENSION;
            } else if (c->digits && ch == '\r') {
                c->state = SIZE_LF;
            } else {
                return MST_EINVAL;
            }
            p++;
            break;
        case EXTENSION:
            if (ch == '\r')
                c->state = SIZE_LF;
            else if (ch == '\n')
                return MST_EINVAL;
            p++;
            break;
        case SIZE_LF:
            if (ch != '\n')
                return MST_EINVAL;
            c->state = c->left ? DATA : TRAILER;
            if (c->left > limit || body->len + c->left > limit)
                return MST_ETOOBIG;
            p++;
            break;
        case DATA: {
            size_t n = (size_t)(end - p) < c->left ? (size_t)(end - p) : (size_t)c->left;
            mst__buf_append(body, p, n);
            p += n;
            c->left -= n;
            if (!c->left)
                c->state = DATA_CR;
            break;
        }
        case DATA_CR:
        case TRAILER_LINE:
            if (c->state == DATA_CR && ch != '\r')
                return MST_EINVAL;
            if (ch == '\r')
                c->state = c->state == DATA_CR ? DATA_LF : TRAILER_LF;
            p++;
            break;
        case DATA_LF:
            if (ch != '\n')
                return MST_EINVAL;
            c->state = SIZE;
            c->digits = 0;
            p++;
            break;
        case TRAILER:
            c->state = ch == '\r' ? END_LF : TRAILER_LINE;
            p++;
            break;
        case TRAILER_LF:
        case END_LF:
            if (ch != '\n')
                return MST_EINVAL;
            c->state = c->state == END_LF ? DONE : TRAILER;
            p++;
            break;
        }
    }
    return c->state == DONE;
}
