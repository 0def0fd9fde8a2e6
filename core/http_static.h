/* http_static.h - the answer for a file of a mounted folder (GET, HEAD),
 * and the headers every page the daemon serves carries. */
#ifndef MST__HTTP_STATIC_H
#define MST__HTTP_STATIC_H

#include "http.h"

/* Answers req if its path falls in a mounted folder: the file, 304, 301 to
 * the folder's slash, 404, or 405 for a method other than GET/HEAD.
 * Returns 1 when it answered, 0 when no mount takes the path. */
int mst__static_serve(struct mst__http *h, mst_http_request *req);
/* Content-Security-Policy, X-Content-Type-Options and Referrer-Policy:
 * for every page, the core's front page too. */
void mst__static_page_headers(struct mst__http *h, mst_http_request *req);
/* GET /api/pages (public): the mounts, for the pages' navigation. */
void mst__static_pages_route(void *arg, mst_http_request *req);

#endif
