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

/* The trust of a config file, as mestysd opens it, no plugin loaded:
 * 0, or 2 with the problem printed (a config error, an unsafe trust
 * folder, a revocation list that does not verify). */
int mst__cli_trust_open(const char *config, struct mst__trust **t);

#endif
