/* bundle.h - a signed plugin bundle's parts that need no key: the manifest
 * (format 1, read strictly, written reproducibly), semantic versions and
 * PGXN-style host ranges, and a bundle folder checked against its manifest.
 *
 * A bundle is a folder NAME/VERSION/ holding manifest.json, its signatures
 * (manifest.json.minisig, manifest.json.<signer>.minisig) and the plugin's
 * files.  The signatures and keys are trust.c's; this file knows only what
 * the manifest says and whether the folder agrees. */
#ifndef MST__BUNDLE_H
#define MST__BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MST__MANIFEST_FORMAT 1
#define MST__MANIFEST_NAME "manifest.json"
/* What a bundle may hold: at most this many files, this deep, this long. */
#define MST__BUNDLE_MAX_FILES 4096
#define MST__BUNDLE_MAX_DEPTH 16
#define MST__BUNDLE_MAX_PATH 1024

struct mst__manifest {
    int format, abi;
    char *name, *version, *kind, *host, *arch;
    size_t n_files;
    char **paths;      /* sorted bytewise (strcmp), '/'-separated, relative */
    uint8_t (*sha)[32]; /* sha[i] is the SHA-256 of paths[i] */
};

/* Reads a manifest strictly: every key present once with its type, no
 * other key, a valid name, semver version, kind, host range, arch, and
 * file paths; refuses with a sentence in why (MST_EINVAL), leaving m
 * zeroed (mst__manifest_free on it is harmless); on success free m with
 * mst__manifest_free. */
int mst__manifest_parse(const char *json, size_t n, struct mst__manifest *m, struct mst__buf *why);
void mst__manifest_free(struct mst__manifest *m);
/* Hashes every regular file under dir (but manifest.json and its
 * signatures), and writes the manifest for meta's name, version, kind,
 * host, arch and abi to out: keys sorted, 2-space indent, one trailing LF,
 * nothing of the file system's (no mtime, owner or readdir order).
 * MST_EINVAL with a sentence for bad meta or a folder a bundle cannot be
 * (a symlink, device, bad name, no entry point), MST_EIO when it cannot be
 * read. */
int mst__manifest_write(const char *dir, const struct mst__manifest *meta, struct mst__buf *out,
                        struct mst__buf *why);
/* The same emitter for a complete manifest (paths sorted, as parse leaves
 * them); parse(emit(m)) == m. */
void mst__manifest_emit(const struct mst__manifest *m, struct mst__buf *out);
/* Checks meta's fields as the parser does (all but files). */
int mst__manifest_check_meta(const struct mst__manifest *m, struct mst__buf *why);

/* Semantic Versioning 2.0.0: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], no
 * leading zeros; at most 64 bytes. */
int mst__semver_valid(const char *v);
/* <0, 0, >0 by semver precedence (prerelease below its release, build
 * ignored).  An invalid version sorts below every valid one; two invalid
 * ones by strcmp. */
int mst__semver_cmp(const char *a, const char *b);

/* A host range as PGXN writes it: comma-separated clauses, all of which
 * must hold; a clause is OP VERSION with OP one of == != < <= > >=, or a
 * bare VERSION meaning >= VERSION; "0" alone means any version. */
enum mst__range_op { MST__RANGE_ANY, MST__RANGE_EQ, MST__RANGE_NE, MST__RANGE_LT, MST__RANGE_LE,
                     MST__RANGE_GT, MST__RANGE_GE };
struct mst__range_clause {
    enum mst__range_op op;
    char version[65]; /* empty for MST__RANGE_ANY */
};
#define MST__RANGE_MAX_CLAUSES 8
/* Parses range into at most MST__RANGE_MAX_CLAUSES clauses; the count, or
 * MST_EINVAL with a sentence. */
int mst__range_parse(const char *range, struct mst__range_clause *out, size_t max, struct mst__buf *why);
const char *mst__range_op_text(enum mst__range_op op);
/* 1 if version is in range, 0 if not (why says which clause fails), <0
 * for a bad range or version (why says what is wrong). */
int mst__range_contains(const char *range, const char *version, struct mst__buf *why);

/* Checks the folder dirfd against m: every listed file there, nothing
 * unlisted (but manifest.json and its signatures), every SHA-256 equal.
 * 0; MST_EPERM naming the first file missing, unlisted or changed (the
 * bundle was modified); MST_EINVAL for what no bundle may hold (a symlink,
 * a device, a FIFO, a bad name, too deep or too many); MST_EIO when a file
 * cannot be read.  dirfd stays open and its offset is not used. */
int mst__bundle_check_files(int dirfd, const struct mst__manifest *m, struct mst__buf *why);
/* What the folder dirfd holds: files' paths (sorted) and SHA-256 in
 * out->n_files, paths, sha (the rest of out untouched); the same refusals
 * as mst__bundle_check_files but MST_EPERM. */
int mst__bundle_scan(int dirfd, struct mst__manifest *out, struct mst__buf *why);
/* A relative bundle path: '/'-separated segments of [A-Za-z0-9._+@-], none
 * empty, "." or "..", at most MST__BUNDLE_MAX_PATH bytes and
 * MST__BUNDLE_MAX_DEPTH deep. */
int mst__bundle_path_valid(const char *path);
/* The highest valid semver among the folders of name_dir (entries that are
 * not folders or not semver are ignored); 0 and a malloc'd version,
 * MST_ENOENT if there is none, MST_EIO if name_dir cannot be read. */
int mst__bundle_latest(const char *name_dir, char **version_out);
/* 1 if a top-level name of a bundle is manifest.json or one of its
 * signatures (manifest.json.minisig, manifest.json.SIGNER.minisig). */
int mst__bundle_is_meta_file(const char *name);

#endif
