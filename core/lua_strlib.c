/* lua_strlib.c - string.find, match, gmatch, gsub and rep for the sandbox.
 *
 * The instruction budget is a count hook, and the hook never runs inside a
 * C function: Lua's own matcher backtracks exponentially on a pattern like
 * ("a*"):rep(40).."b" and its plain search is O(n*m), all in one call, and
 * string.rep("", 1 << 40) loops 2^40 times copying nothing.  Watchdog
 * threads cannot stop C code safely, and a static bound on patterns would
 * refuse ordinary ones, so the sandbox has its own matcher, with Lua 5.4's
 * pattern language and results, that charges every step (one pattern item
 * tried at one place in the subject, one character of a %b scan or of a
 * back-reference) to the running call's instruction budget and raises the
 * budget error when it is spent: one step costs what one VM instruction
 * does.  Plain search is memmem (linear).  The other string functions do
 * work in proportion to the size of their result, which the allocator
 * charges to the budget (lua_sandbox.c); the table functions that move
 * elements are in lua_tablib.c.  Others leave this open: Luau's matcher
 * (VM/src/lstrlib.cpp) bounds only its recursion and keeps the O(n*m)
 * plain search, and its interrupt, like Redis' script time limit (a count
 * hook), runs between instructions only. */
#include <ctype.h>
#include <string.h>

#include "lua_vm.h"

#define ESC '%'
#define SPECIALS "^$*+?.([%-"
#define MAX_CAPTURES 32
#define MAX_DEPTH 200 /* C recursion of the matcher */
#define CAP_OPEN (-1)
#define CAP_POSITION (-2)

struct matcher {
    const char *src, *src_end; /* the subject */
    const char *pat_end;
    lua_State *L;
    struct mst__lua_vm *vm;
    int depth; /* recursion left */
    int level; /* captures so far */
    struct {
        const char *init;
        ptrdiff_t len; /* or CAP_OPEN, CAP_POSITION */
    } capture[MAX_CAPTURES];
};

static const char *match(struct matcher *m, const char *s, const char *p);

/* Inline: it runs once per step; only a spent budget leaves this file. */
static inline void step(struct matcher *m, int64_t n)
{
    m->vm->left -= n;
    if (m->vm->left <= 0)
        mst__lua_vm_charge(m->L, m->vm, 0);
}

static void start(struct matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    m->L = L;
    m->vm = mst__lua_vm_of(L);
    m->src = s;
    m->src_end = s + ls;
    m->pat_end = p + lp;
}

static void restart(struct matcher *m)
{
    m->level = 0;
    m->depth = MAX_DEPTH;
}

/* --- one character against one class --------------------------------------- */

static int class_has(int c, int cl)
{
    int in;
    switch (tolower(cl)) {
    case 'a': in = isalpha(c); break;
    case 'c': in = iscntrl(c); break;
    case 'd': in = isdigit(c); break;
    case 'g': in = isgraph(c); break;
    case 'l': in = islower(c); break;
    case 'p': in = ispunct(c); break;
    case 's': in = isspace(c); break;
    case 'u': in = isupper(c); break;
    case 'w': in = isalnum(c); break;
    case 'x': in = isxdigit(c); break;
    default: return cl == c;
    }
    return isupper(cl) ? !in : in != 0;
}

/* The end of the single-character class that starts at p. */
static const char *class_end(struct matcher *m, const char *p)
{
    char c = *p++;
    if (c == ESC) {
        if (p >= m->pat_end)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c != '[')
        return p;
    if (*p == '^')
        p++;
    do { /* the first character of a set may be ']' itself */
        if (p >= m->pat_end)
            luaL_error(m->L, "malformed pattern (missing ']')");
        if (*p++ == ESC && p < m->pat_end)
            p++;
    } while (*p != ']');
    return p + 1;
}

/* Is c in the set [ ... ] from p (at '[') to last (at ']')? */
static int set_has(int c, const char *p, const char *last)
{
    int yes = 1;
    p++;
    if (*p == '^') {
        yes = 0;
        p++;
    }
    for (; p < last; p++) {
        if (*p == ESC) {
            p++;
            if (class_has(c, (unsigned char)*p))
                return yes;
        } else if (p[1] == '-' && p + 2 < last) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return yes;
            p += 2;
        } else if ((unsigned char)*p == c)
            return yes;
    }
    return !yes;
}

static int single(struct matcher *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return class_has(c, (unsigned char)p[1]);
    case '[': return set_has(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* --- the items that are not a single character ------------------------------- */

static const char *balance(struct matcher *m, const char *s, const char *p)
{
    if (p + 1 >= m->pat_end)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != p[0])
        return NULL;
    int open = 1;
    for (const char *c = s + 1; c < m->src_end; c++) {
        step(m, 1);
        if (*c == p[1]) {
            if (--open == 0)
                return c + 1;
        } else if (*c == p[0])
            open++;
    }
    return NULL;
}

static const char *greedy(struct matcher *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (single(m, s + n, p, ep)) {
        step(m, 1);
        n++;
    }
    for (; n >= 0; n--) { /* the longest run first, then shorter ones */
        const char *e = match(m, s + n, ep + 1);
        if (e)
            return e;
    }
    return NULL;
}

static const char *lazy(struct matcher *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *e = match(m, s, ep + 1);
        if (e)
            return e;
        if (!single(m, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *open_capture(struct matcher *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= MAX_CAPTURES)
        luaL_error(m->L, "too many captures");
    m->capture[m->level].init = s;
    m->capture[m->level].len = what;
    m->level++;
    const char *e = match(m, s, p);
    if (!e)
        m->level--;
    return e;
}

static const char *close_capture(struct matcher *m, const char *s, const char *p)
{
    int l = m->level - 1;
    while (l >= 0 && m->capture[l].len != CAP_OPEN)
        l--;
    if (l < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->capture[l].len = s - m->capture[l].init;
    const char *e = match(m, s, p);
    if (!e)
        m->capture[l].len = CAP_OPEN;
    return e;
}

static const char *back_reference(struct matcher *m, const char *s, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->capture[l].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    ptrdiff_t len = m->capture[l].len;
    if (len < 0 || m->src_end - s < len)
        return NULL;
    step(m, 1 + len / 16);
    return memcmp(m->capture[l].init, s, (size_t)len) == 0 ? s + len : NULL;
}

static const char *frontier(struct matcher *m, const char *s, const char **p)
{
    const char *set = *p + 2;
    if (*set != '[')
        luaL_error(m->L, "missing '[' after '%%f' in pattern");
    const char *ep = class_end(m, set);
    int before = s == m->src ? 0 : (unsigned char)s[-1];
    int here = s < m->src_end ? (unsigned char)*s : 0;
    *p = ep;
    return !set_has(before, set, ep - 1) && set_has(here, set, ep - 1) ? s : NULL;
}

/* The end of the match of pattern p at s, or NULL. */
static const char *match(struct matcher *m, const char *s, const char *p)
{
    if (m->depth-- == 0)
        luaL_error(m->L, "pattern too complex");
    for (;;) {
        step(m, 1);
        if (p == m->pat_end)
            break;
        if (*p == '(') {
            s = p + 1 < m->pat_end && p[1] == ')' ? open_capture(m, s, p + 2, CAP_POSITION)
                                                   : open_capture(m, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->pat_end) {
            s = s == m->src_end ? s : NULL;
            break;
        }
        if (*p == ESC && p + 1 < m->pat_end && p[1] == 'b') {
            s = balance(m, s, p + 2);
            if (!s)
                break;
            p += 4;
            continue;
        }
        if (*p == ESC && p + 1 < m->pat_end && p[1] == 'f') {
            s = frontier(m, s, &p);
            if (!s)
                break;
            continue;
        }
        if (*p == ESC && p + 1 < m->pat_end && isdigit((unsigned char)p[1])) {
            s = back_reference(m, s, (unsigned char)p[1]);
            if (!s)
                break;
            p += 2;
            continue;
        }
        const char *ep = class_end(m, p);
        if (!single(m, s, p, ep)) {
            if (*ep == '*' || *ep == '?' || *ep == '-') { /* may match nothing */
                p = ep + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (*ep == '?') {
            const char *e = match(m, s + 1, ep + 1);
            if (e) {
                s = e;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (*ep == '+' || *ep == '*') {
            s = greedy(m, *ep == '+' ? s + 1 : s, p, ep);
            break;
        }
        if (*ep == '-') {
            s = lazy(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth++;
    return s;
}

/* --- captures to Lua values ---------------------------------------------------- */

static void push_capture(struct matcher *m, int i, const char *s, const char *e)
{
    if (i >= m->level) {
        if (i != 0)
            luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s)); /* no captures: the whole match */
        return;
    }
    ptrdiff_t len = m->capture[i].len;
    if (len == CAP_OPEN)
        luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, (m->capture[i].init - m->src) + 1);
    else
        lua_pushlstring(m->L, m->capture[i].init, (size_t)len);
}

/* Pushes the captures (or the whole match, when s is given and there are
 * none); returns how many. */
static int push_captures(struct matcher *m, const char *s, const char *e)
{
    int n = m->level == 0 && s ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* --- string.find, string.match ------------------------------------------------- */

/* Lua's rule for a start position: negative counts from the end. */
static size_t start_at(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr(SPECIALS, p[i]))
            return 1;
    return 0;
}

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        /* glibc's memmem is linear (two-way) where Lua's search is O(n*m) */
        mst__lua_vm_charge(L, mst__lua_vm_of(L), 1 + (int64_t)((ls - init) / 16));
        const char *at = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
        if (!at) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (at - s) + 1);
        lua_pushinteger(L, (lua_Integer)((at - s) + lp));
        return 2;
    }
    struct matcher m;
    int anchored = lp > 0 && *p == '^';
    if (anchored)
        p++, lp--;
    start(&m, L, s, ls, p, lp);
    const char *from = s + init;
    do {
        restart(&m);
        const char *e = match(&m, from, p);
        if (e) {
            if (!find)
                return push_captures(&m, from, e);
            lua_pushinteger(L, (from - s) + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (from++ < m.src_end && !anchored);
    luaL_pushfail(L);
    return 1;
}

static int str_find(lua_State *L) { return find_or_match(L, 1); }
static int str_match(lua_State *L) { return find_or_match(L, 0); }

/* --- string.gmatch ---------------------------------------------------------------- */

struct gmatch_state {
    const char *next;       /* where the next search starts */
    const char *last_match; /* the end of the last match: an empty match there is skipped */
    struct matcher m;
};

static int gmatch_next(lua_State *L)
{
    struct gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
    size_t lp;
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    /* the iterator may be called from another coroutine than the one that made it */
    g->m.L = L;
    for (const char *from = g->next; from <= g->m.src_end; from++) {
        restart(&g->m);
        const char *e = match(&g->m, from, p);
        if (e && e != g->last_match) {
            g->next = g->last_match = e;
            return push_captures(&g->m, from, e);
        }
    }
    return 0;
}

static int str_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls)
        init = ls + 1; /* past the end: no match, ever */
    lua_settop(L, 2);
    struct gmatch_state *g = lua_newuserdatauv(L, sizeof *g, 0);
    start(&g->m, L, s, ls, p, lp);
    g->next = s + init;
    g->last_match = NULL;
    lua_pushcclosure(L, gmatch_next, 3); /* the subject and pattern stay alive with it */
    return 1;
}

/* --- string.gsub ------------------------------------------------------------------- */

static void add_template(struct matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    lua_State *L = m->L;
    size_t l;
    const char *t = lua_tolstring(L, 3, &l), *end = t + l, *esc;
    while ((esc = memchr(t, ESC, (size_t)(end - t))) != NULL) {
        luaL_addlstring(b, t, (size_t)(esc - t));
        esc++;
        if (*esc == ESC)
            luaL_addchar(b, ESC);
        else if (*esc == '0')
            luaL_addlstring(b, s, (size_t)(e - s));
        else if (isdigit((unsigned char)*esc)) {
            push_capture(m, *esc - '1', s, e);
            luaL_tolstring(L, -1, NULL); /* a position capture is a number */
            lua_remove(L, -2);
            luaL_addvalue(b);
        } else
            luaL_error(L, "invalid use of '%c' in replacement string", ESC);
        t = esc + 1;
    }
    luaL_addlstring(b, t, (size_t)(end - t));
}

/* Adds the replacement of the match s..e; returns whether it changed. */
static int add_replacement(struct matcher *m, luaL_Buffer *b, const char *s, const char *e, int kind)
{
    lua_State *L = m->L;
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (kind == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the original */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int str_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
                     3, "string/function/table");
    int anchored = lp > 0 && *p == '^';
    if (anchored)
        p++, lp--;
    struct matcher m;
    start(&m, L, s, ls, p, lp);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *from = s, *last_match = NULL;
    lua_Integer n = 0;
    int changed = 0;
    while (n < max) {
        restart(&m);
        const char *e = match(&m, from, p);
        if (e && e != last_match) {
            n++;
            changed |= add_replacement(&m, &b, from, e, kind);
            from = last_match = e;
        } else if (from < m.src_end)
            luaL_addchar(&b, *from++);
        else
            break;
        if (anchored)
            break;
    }
    if (!changed)
        lua_pushvalue(L, 1);
    else {
        luaL_addlstring(&b, from, (size_t)(m.src_end - from));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

/* --- string.rep ------------------------------------------------------------------- */

/* Lua's own, except that nothing repeated is nothing (Lua's loop would run
 * n times) and a result past the memory cap is refused by its size. */
static int str_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    struct mst__lua_vm *vm = mst__lua_vm_of(L);
    size_t room = vm->limit > vm->used ? vm->limit - vm->used : 0;
    if (l > room / (uint64_t)n || (n > 1 && lsep > room / (uint64_t)(n - 1)) ||
        l * (size_t)n + lsep * (size_t)(n - 1) > room) {
        vm->memory_hit = 1;
        return luaL_error(L, "string.rep: the result would not fit in the memory cap of %d MiB",
                          (int)(vm->limit >> 20));
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

void mst__lua_open_strlib(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"find", str_find}, {"match", str_match}, {"gmatch", str_gmatch}, {"gsub", str_gsub}, {NULL, NULL}};
    int t = lua_gettop(L); /* the string table */
    luaL_setfuncs(L, fns, 0);
    lua_getfield(L, t, "rep");
    lua_pushcclosure(L, str_rep, 1);
    lua_setfield(L, t, "rep");
}
