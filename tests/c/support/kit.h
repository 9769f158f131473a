/*
 * Test support shared by the C and C++ tests: runs `idjag-testkit serve --json` (an IdP, an
 * MCP authorization server and an MCP server on loopback) as a child process, reads its JSON
 * line, drives its admin API, and makes HTTP requests (libcurl) and JSON lookups (cJSON).
 */
#ifndef IDJAG_TEST_KIT_H
#define IDJAG_TEST_KIT_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kit kit;

/* Starts the testkit binary; NULL (with a message on stderr) if it cannot. */
kit *kit_start(const char *binary);
/* Closes the kit's stdin (it exits on EOF) and waits for it (bounded). */
void kit_stop(kit *k);
/* A string of the kit's JSON line by dotted path ("mcp_url", "clients.idp.client_id"); NULL if
 * absent. Valid until kit_stop. */
const char *kit_get(const kit *k, const char *path);

/* An HTTP exchange. */
typedef struct http_response {
    long status;
    char *body;             /* malloc'd, NUL-terminated (may be empty) */
    char *www_authenticate; /* malloc'd, or NULL */
} http_response;
/* Sends a request (loopback only). `authorization` and `body` may be NULL; a body is sent as
 * application/json. Returns 0 on success (any status), -1 on a transport failure. */
int http_request(const char *method, const char *url, const char *authorization,
                 const char *body, http_response *out);
void http_response_free(http_response *r);

/* POSTs `body` (or GETs when NULL) to the admin API path; returns the malloc'd response body
 * or NULL on failure. */
char *kit_admin(const kit *k, const char *path, const char *body);
/* Requests seen by an endpoint ("idp_token", "as_token", "prm", ...), -1 on failure. */
long kit_requests(const kit *k, const char *endpoint);
/* Resets counters, faults and the request log. */
void kit_reset(const kit *k);
/* A fresh ID token for `user` (malloc'd). */
char *kit_id_token(const kit *k, const char *user);
/* A fresh ID-JAG for `user` signed by the kit's IdP (malloc'd). */
char *kit_id_jag(const kit *k, const char *user);
/* A session configuration (malloc'd JSON) for the kit's default clients and `subject_token`. */
char *kit_session_config(const kit *k, const char *subject_token);
/* A verifier configuration (malloc'd JSON) trusting the kit's IdP for its AS and MCP server. */
char *kit_verifier_config(const kit *k);

/* Reads a whole file (malloc'd, NUL-terminated), NULL on failure. */
char *read_file(const char *path);
/* A string member of a JSON text by dotted path, copied (malloc'd), NULL when absent or not a
 * string. */
char *json_string(const char *json, const char *path);
/* A number/bool member of a JSON text by dotted path as a double; `fallback` when absent. */
double json_number(const char *json, const char *path, double fallback);

#ifdef __cplusplus
}
#endif

#endif
