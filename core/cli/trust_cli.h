/* cli/trust_cli.h - `mestys trust status|update FILE`: what the town trusts
 * (the trust folder's keys and scopes, the region's revocation list, its
 * serial and expiry, the plugin floors), and a newer revocation list
 * installed as the daemon would accept it (rollback refused). */
#ifndef MST__CLI_TRUST_H
#define MST__CLI_TRUST_H

#include "trust.h"
#include "util.h"

/* argv[0] is "status" or "update"; the exit status. */
int mst__cli_trust(int argc, char **argv);

/* The trust settings of a config file (trust.*, node.state_dir, with the
 * core schema's defaults, relative paths against the config's folder), as
 * mestysd reads them, opened with mst__trust_open; no plugin is loaded.
 * *dir_out (if not NULL) gets the trust folder's path, to free.
 * 0; 2 (a config problem, printed); 1 (the trust folder refused, printed). */
int mst__cli_trust_open(const char *config, struct mst__trust **t, char **dir_out);

#endif
