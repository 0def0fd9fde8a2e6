#include "role.h"

#include <string.h>

const char *const mst__role_names[] = {"public", "operator", "admin", NULL};

const char *mst__role_name(int role)
{
    return role >= 0 && role <= 2 ? mst__role_names[role] : "?";
}

int mst__role_parse(const char *name)
{
    for (int i = 0; mst__role_names[i]; i++)
        if (strcmp(name, mst__role_names[i]) == 0)
            return i;
    return -1;
}
