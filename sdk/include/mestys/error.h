/*
 * mestys/error.h - error codes shared by the daemon and its plugins.
 *
 * Every function in the SDK returns 0 on success or a negative MST_E* code.
 * A call that fails never calls its callback.  The X-macro keeps the enum,
 * the names and the messages in one list so they cannot drift apart.
 *
 * MST_EACCES is the daemon's own refusal (a topic the plugin did not
 * declare, a role); the operating system's refusals are MST_EPERM and
 * MST_EADDRINUSE, logged where they happen with the file or address and
 * the system's own words.  Codes are only ever appended.
 */
#ifndef MESTYS_ERROR_H
#define MESTYS_ERROR_H

#define MST_ERRNO_MAP(XX)                                                     \
    XX(EINVAL, 1, "invalid argument")                                         \
    XX(ENOMEM, 2, "out of memory")                                            \
    XX(ENOENT, 3, "not found")                                                \
    XX(EEXIST, 4, "already exists")                                           \
    XX(EACCES, 5, "not allowed by the plugin's declared topics or role")      \
    XX(EAGAIN, 6, "queue full, try again later")                              \
    XX(ETIMEDOUT, 7, "timed out")                                             \
    XX(EIO, 8, "input/output error")                                          \
    XX(ECONFIG, 9, "configuration error")                                     \
    XX(EABI, 10, "incompatible plugin ABI")                                   \
    XX(ENOTPLUGIN, 11, "not a mestys plugin")                                 \
    XX(ECLOSED, 12, "already closed or shutting down")                        \
    XX(ETOOBIG, 13, "message or body too large")                              \
    XX(ENOTSUP, 14, "not supported")                                          \
    XX(ENOSERVER, 15, "no one serves this topic")                             \
    XX(EPLUGIN, 16, "the plugin reported an error")                           \
    XX(EDB, 17, "database error")                                             \
    XX(EADDRINUSE, 18, "address already in use")                              \
    XX(EPERM, 19, "permission denied by the operating system")               \
    XX(ETRUST, 20, "refused by the trust policy (signature, files or revocation)")

enum mst_errno {
    MST_OK = 0,
#define MST__ERR_ENUM(name, num, msg) MST_##name = -(num),
    MST_ERRNO_MAP(MST__ERR_ENUM)
#undef MST__ERR_ENUM
};

/* Header-only so that plugins need no daemon symbol to print an error. */
static inline const char *mst_strerror(int err)
{
    switch (err) {
    case 0: return "success";
#define MST__ERR_MSG(name, num, msg) case -(num): return msg;
    MST_ERRNO_MAP(MST__ERR_MSG)
#undef MST__ERR_MSG
    default: return "unknown error";
    }
}

static inline const char *mst_err_name(int err)
{
    switch (err) {
    case 0: return "MST_OK";
#define MST__ERR_NAME(name, num, msg) case -(num): return "MST_" #name;
    MST_ERRNO_MAP(MST__ERR_NAME)
#undef MST__ERR_NAME
    default: return "MST_EUNKNOWN";
    }
}

#endif /* MESTYS_ERROR_H */
