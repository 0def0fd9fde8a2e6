/* http_mime.h - the Content-Type of a static file, from its extension. */
#ifndef MST__HTTP_MIME_H
#define MST__HTTP_MIME_H

struct mst__mime {
    const char *type; /* the Content-Type header's value */
    int text;         /* compressible text: gzip'ed when the client takes it */
};

/* The type for a file name (by its last extension, case-insensitive);
 * application/octet-stream, not text, for anything unknown. */
const struct mst__mime *mst__mime_of(const char *name);

#endif
