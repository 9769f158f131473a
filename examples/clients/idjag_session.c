/*
 * Test driver: libidjag's session (idjag_session_access_token: PRM discovery, AS metadata,
 * leg 1 at the IdP, leg 2 at the AS) gets an access token for an MCP server and prints
 * {"access_token": ..., "authorization_server": ...} on stdout for the calling test to use.
 * The session configuration (JSON, docs/GUIDE.md) comes on stdin, never in arguments.
 *
 *   idjag_session <server_url> < config.json
 *
 * Built by examples/prepare.sh (prepare_c) against the libidjag scripts/install-c.sh
 * installs; used by the example AS tests and tests/keycloak. Exit status: 0, or 1 with the
 * library's message (no secret) on stderr.
 */
#include <idjag.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <server_url> < config.json\n", argv[0]);
        return 2;
    }
    size_t cap = 1 << 16, len = 0;
    char *config = malloc(cap + 1);
    if (!config) return 1;
    size_t n;
    while ((n = fread(config + len, 1, cap - len, stdin)) > 0) {
        len += n;
        if (len == cap) {
            fprintf(stderr, "configuration larger than %zu bytes\n", cap);
            free(config);
            return 1;
        }
    }
    config[len] = '\0';

    idjag_session *s = NULL;
    idjag_token *t = NULL;
    idjag_error *err = NULL;
    int rc = 1;
    if (idjag_session_new(config, NULL, NULL, &s, &err) != IDJAG_OK) goto done;
    if (idjag_session_access_token(s, argv[1], &t, &err) != IDJAG_OK) goto done;
    /* A token carries no quote or backslash (the core checks it is header-safe), and the
     * issuer is a URL the core parsed, so both go into JSON as they are. */
    printf("{\"access_token\": \"%s\", \"authorization_server\": \"%s\"}\n", idjag_token_access_token(t),
           idjag_token_authorization_server(t));
    rc = 0;
done:
    if (err) fprintf(stderr, "%s\n", idjag_error_message(err));
    idjag_error_free(err);
    idjag_token_free(t);
    idjag_session_free(s);
    memset(config, 0, len); /* the configuration holds the subject token and secrets */
    free(config);
    return rc;
}
