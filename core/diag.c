#include "diag.h"

#include <stdarg.h>

void mst__diag_add(struct mst__diag *d, int is_error, const cJSON *node, enum mst__diag_at at,
                   const char *path, const char *fmt, ...)
{
    int line = 0, col = 0;
    int found = at == MST__AT_KEY ? mst__jsonpos_key(d->pos, node, &line, &col)
                                  : mst__jsonpos_value(d->pos, node, &line, &col);
    if (found == 0)
        mst__buf_printf(&d->text, "%s:%d:%d: ", d->file, line, col);
    else
        mst__buf_printf(&d->text, "%s: ", d->file);
    mst__buf_puts(&d->text, is_error ? "error: " : "warning: ");
    if (path && path[0])
        mst__buf_printf(&d->text, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    mst__buf_vprintf(&d->text, fmt, ap);
    va_end(ap);
    mst__buf_puts(&d->text, "\n");
    if (is_error)
        d->errors++;
    else
        d->warnings++;
}

void mst__diag_free(struct mst__diag *d)
{
    mst__buf_free(&d->text);
}
