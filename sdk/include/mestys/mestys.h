/* mestys/mestys.h - everything a plugin needs: include this one header. */
#ifndef MESTYS_MESTYS_H
#define MESTYS_MESTYS_H

#include "error.h"
#include "host.h"
#include "plugin.h"

#define MST_VERSION_MAJOR 0
#define MST_VERSION_MINOR 1
#define MST_VERSION_PATCH 0
#define MST_VERSION_STRING "0.1.0"

#endif /* MESTYS_MESTYS_H */
