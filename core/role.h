/* role.h - what a caller may do (public < operator < admin, the values of
 * enum mst_role) and the bearer tokens that grant a role.  The config reads
 * tokens; the HTTP server checks them; the Lua API names roles. */
#ifndef MST__ROLE_H
#define MST__ROLE_H

/* "public", "operator", "admin", then NULL (for luaL_checkoption). */
extern const char *const mst__role_names[];

const char *mst__role_name(int role);
/* The role's number, or -1 if `name` is not one. */
int mst__role_parse(const char *name);

struct mst__token {
    const char *name;
    const char *token;
    int role;
};

#endif
