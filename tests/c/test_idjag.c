/*
 * The C test of libidjag: a C11 program built with -Wall -Wextra -Werror -pedantic against the
 * committed include/idjag.h and the installed library (pkg-config idjag). It starts
 * `idjag-testkit serve --json`, gets a token and uses it on the MCP server, answers 401 and
 * 403 challenges, receives HTTP events and notices, verifies ID-JAGs (also with two verifiers
 * sharing one Redis: IDJAG_TEST_REDIS_URL), replays the shared vectors (tests/vectors/: the
 * verifier cases, the WWW-Authenticate cases, both legs and the request shapes of `prepare`
 * against a loopback stub), and checks the error code and fields for bad input.
 * tests/c/run.sh also runs it under AddressSanitizer + UndefinedBehaviorSanitizer and under
 * valgrind.
 *
 * usage: test_idjag <path to idjag-testkit> <path to tests/vectors>
 */
#define _POSIX_C_SOURCE 200809L
#include <idjag.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/kit.h"
#include "support/stub.h"

static int checks_failed;
static int checks_run;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks_run++;                                                                 \
        if (!(cond)) {                                                                \
            checks_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

#define CHECK_STR(got, want) CHECK((got) != NULL && strcmp((got), (want)) == 0)

/* Checks a call succeeded; prints the error otherwise (and frees it). */
#define CHECK_OK(call)                                                                    \
    do {                                                                                  \
        idjag_error *check_err_ = NULL;                                                   \
        idjag_result check_rc_ = (call);                                                  \
        CHECK(check_rc_ == IDJAG_OK);                                                     \
        if (check_rc_ != IDJAG_OK)                                                        \
            fprintf(stderr, "  -> %s: %s\n", idjag_result_code(check_rc_),               \
                    check_err_ ? idjag_error_message(check_err_) : "(no error object)"); \
        idjag_error_free(check_err_);                                                     \
    } while (0)
/* The error out-pointer of CHECK_OK calls. */
#define ERR (&check_err_)

static kit *KIT;
static const char *VECTORS;

static const char *mcp_url(void) { return kit_get(KIT, "mcp_url"); }

/* A session for the kit's default user; NULL on failure. */
static idjag_session *new_session(idjag_event_callback cb, void *userdata) {
    char *id_token = kit_id_token(KIT, "alice");
    char *config = kit_session_config(KIT, id_token);
    idjag_session *s = NULL;
    CHECK_OK(idjag_session_new(config, cb, userdata, &s, ERR));
    free(config);
    free(id_token);
    return s;
}

/* Calls the MCP tool `tool` with `authorization`; returns the HTTP status (the response in *r). */
static long call_tool(const char *authorization, const char *tool, http_response *r) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"%s\",\"arguments\":{}}}",
             tool);
    if (http_request("POST", mcp_url(), authorization, body, r) != 0) return -1;
    return r->status;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_version_and_results(void) {
    CHECK_STR(idjag_version(), IDJAG_VERSION);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", IDJAG_VERSION_MAJOR, IDJAG_VERSION_MINOR,
             IDJAG_VERSION_PATCH);
    CHECK_STR(idjag_version(), v);
    CHECK_STR(idjag_result_code(IDJAG_OK), "ok");
    CHECK_STR(idjag_result_code(IDJAG_INVALID_ARGUMENT), "invalid_argument");
    CHECK_STR(idjag_result_code(IDJAG_CONFIGURATION), "configuration");
    CHECK_STR(idjag_result_code(IDJAG_VERIFICATION_FAILED), "verification_failed");
    CHECK_STR(idjag_result_code(IDJAG_INTERNAL), "internal");
    CHECK_STR(idjag_result_code(IDJAG_NULL_PARAMETER), "null_parameter");
    CHECK_STR(idjag_result_code(IDJAG_INVALID_UTF8), "invalid_utf8");
    CHECK_STR(idjag_result_code(IDJAG_BUFFER_TOO_SMALL), "buffer_too_small");
    CHECK_STR(idjag_result_code(IDJAG_PANIC), "panic");
    CHECK(IDJAG_INTERNAL == 16 && IDJAG_NULL_PARAMETER == 100 && IDJAG_PANIC == 103);
    CHECK(idjag_result_code(17) == NULL);
    CHECK(idjag_result_code(0xffffffffu) == NULL);
}

struct events {
    pthread_mutex_t lock;
    int count;
    int as_grants;
    int notices;          /* "type": "notice" documents */
    int credentials_used; /* ... of kind credentials_first_use, for the kit's AS */
    int bad_json;
    int reentrant_hits; /* re-entrant cached_token calls that found the token */
    idjag_session *session;
};

static void on_event(void *userdata, const char *event_json) {
    struct events *ev = userdata;
    cJSON *e = cJSON_Parse(event_json);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(e, "step");
    const int http = type && strcmp(type, "http") == 0;
    const int notice = type && strcmp(type, "notice") == 0;
    /* HTTP events: step, url, timing, note; notices: kind, issuer, client_id, message. */
    const int ok =
        cJSON_IsString(step) &&
        (http ? cJSON_GetObjectItemCaseSensitive(e, "url") &&
                    cJSON_GetObjectItemCaseSensitive(e, "duration_ms") &&
                    cJSON_GetObjectItemCaseSensitive(e, "note")
              : notice && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "kind")) &&
                    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")));
    const int as_grant = ok && http && strcmp(step->valuestring, "as_grant") == 0;
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "kind"));
    const char *issuer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "issuer"));
    const int used = ok && notice && kind && strcmp(kind, "credentials_first_use") == 0 &&
                     issuer && strcmp(issuer, kit_get(KIT, "as_issuer")) == 0;
    cJSON_Delete(e);
    /* Back into the same session from inside its callback: no lock is held, the flight that
     * produced the event is over, so the token is already cached. */
    idjag_token *t = NULL;
    int hit = 0;
    if (ev->session &&
        idjag_session_cached_token(ev->session, mcp_url(), &t, NULL) == IDJAG_OK && t)
        hit = 1;
    idjag_token_free(t);
    pthread_mutex_lock(&ev->lock);
    ev->count++;
    ev->as_grants += as_grant;
    ev->notices += ok && notice;
    ev->credentials_used += used;
    ev->bad_json += !ok;
    ev->reentrant_hits += hit;
    pthread_mutex_unlock(&ev->lock);
}

static void test_token_on_the_mcp_server(void) {
    kit_reset(KIT);
    struct events ev;
    memset(&ev, 0, sizeof ev);
    pthread_mutex_init(&ev.lock, NULL);
    idjag_session *s = new_session(on_event, &ev);
    ev.session = s;
    idjag_token *t = NULL;
    CHECK_OK(idjag_session_access_token(s, mcp_url(), &t, ERR));
    if (!t) goto out;
    const char *bare = idjag_token_access_token(t);
    const char *authz = idjag_token_authorization(t);
    CHECK(bare && authz && strncmp(authz, "Bearer ", 7) == 0 && strcmp(authz + 7, bare) == 0);
    CHECK(idjag_token_expires_at(t) > 1700000000);
    CHECK_STR(idjag_token_resource(t), mcp_url());
    CHECK_STR(idjag_token_authorization_server(t), kit_get(KIT, "as_issuer"));
    CHECK(strstr(idjag_token_json(t), bare) == NULL);

    /* The token works on the MCP server. */
    http_response r;
    CHECK(call_tool(authz, "whoami", &r) == 200);
    CHECK(strstr(r.body, "alice") != NULL);
    http_response_free(&r);

    /* Events: discovery, leg 1, leg 2, and one notice (the client's first use at the AS);
     * each callback re-entered the session. */
    CHECK(ev.count >= 4);
    CHECK(ev.as_grants == 1);
    CHECK(ev.notices == 1 && ev.credentials_used == 1);
    CHECK(ev.bad_json == 0);
    CHECK(ev.reentrant_hits == ev.count);
    CHECK(kit_requests(KIT, "idp_token") == 1);
    CHECK(kit_requests(KIT, "as_token") == 1);

    /* Cached: same token, no I/O, no event. */
    int before = ev.count;
    idjag_token *c = NULL;
    CHECK_OK(idjag_session_cached_token(s, mcp_url(), &c, ERR));
    CHECK(c && strcmp(idjag_token_access_token(c), bare) == 0);
    idjag_token_free(c);
    CHECK(ev.count == before);

    /* A caller buffer: too small first (needed length reported, buffer untouched). */
    char small[4] = "###";
    size_t n = 0;
    idjag_error *e = NULL;
    CHECK(idjag_token_copy_access_token(t, small, sizeof small, &n, &e) ==
          IDJAG_BUFFER_TOO_SMALL);
    CHECK(n == strlen(bare) && strcmp(small, "###") == 0);
    CHECK_STR(idjag_error_code(e), "invalid_argument");
    CHECK(idjag_error_result(e) == IDJAG_BUFFER_TOO_SMALL);
    idjag_error_free(e);
    char *buf = malloc(n + 1);
    size_t n2 = 0;
    CHECK_OK(idjag_token_copy_access_token(t, buf, n + 1, &n2, ERR));
    CHECK(n2 == n && strcmp(buf, bare) == 0);
    free(buf);

    /* Discovery as JSON. */
    idjag_json *d = NULL;
    CHECK_OK(idjag_session_discover(s, mcp_url(), &d, ERR));
    char *res = json_string(idjag_json_str(d), "resource");
    char *aud = json_string(idjag_json_str(d), "audience");
    char *as = json_string(idjag_json_str(d), "authorization_server.issuer");
    char *te = json_string(idjag_json_str(d), "authorization_server.token_endpoint");
    CHECK_STR(res, mcp_url());
    CHECK_STR(aud, kit_get(KIT, "as_issuer"));
    CHECK_STR(as, kit_get(KIT, "as_issuer"));
    CHECK(te && strncmp(te, kit_get(KIT, "as_issuer"), strlen(kit_get(KIT, "as_issuer"))) == 0);
    free(res);
    free(aud);
    free(as);
    free(te);
    idjag_json_free(d);
out:
    idjag_token_free(t);
    idjag_session_free(s);
    pthread_mutex_destroy(&ev.lock);
}

static void test_challenges(void) {
    kit_reset(KIT);
    idjag_session *s = new_session(NULL, NULL);
    idjag_token *t = NULL;
    CHECK_OK(idjag_session_access_token(s, mcp_url(), &t, ERR));
    if (!t) goto out;

    /* 401: the AS revoked every token; the MCP server says invalid_token. */
    free(kit_admin(KIT, "revoke_access_tokens", "{}"));
    http_response r;
    CHECK(call_tool(idjag_token_authorization(t), "whoami", &r) == 401);
    CHECK(r.www_authenticate && strstr(r.www_authenticate, "invalid_token"));
    idjag_token *fresh = NULL;
    CHECK_OK(idjag_session_handle_challenge(s, mcp_url(), 401, r.www_authenticate,
                                            idjag_token_access_token(t), &fresh, ERR));
    http_response_free(&r);
    if (fresh) {
        CHECK(strcmp(idjag_token_access_token(fresh), idjag_token_access_token(t)) != 0);
        CHECK(call_tool(idjag_token_authorization(fresh), "whoami", &r) == 200);
        http_response_free(&r);

        /* 403 insufficient_scope: step up to mcp:admin. */
        CHECK(call_tool(idjag_token_authorization(fresh), "admin_reset", &r) == 403);
        CHECK(r.www_authenticate && strstr(r.www_authenticate, "insufficient_scope"));
        idjag_token *admin = NULL;
        CHECK_OK(idjag_session_handle_challenge(s, mcp_url(), 403, r.www_authenticate,
                                                idjag_token_access_token(fresh), &admin, ERR));
        http_response_free(&r);
        if (admin) {
            CHECK(idjag_token_scope(admin) && strstr(idjag_token_scope(admin), "mcp:admin"));
            CHECK(call_tool(idjag_token_authorization(admin), "admin_reset", &r) == 200);
            http_response_free(&r);
        }
        idjag_token_free(admin);
    }
    idjag_token_free(fresh);
    CHECK(kit_requests(KIT, "as_token") == 3);
out:
    idjag_token_free(t);
    idjag_session_free(s);
}

/* The callback frees its own session at the first event: the outer call still returns its
 * token, and no further event arrives (AddressSanitizer and valgrind watch the memory). */
struct freeing {
    idjag_session *s;
    int events;
};

static void free_on_first_event(void *userdata, const char *event_json) {
    struct freeing *f = userdata;
    (void)event_json;
    f->events++;
    if (f->events == 1) idjag_session_free(f->s);
}

static void test_callback_frees_its_session(void) {
    struct freeing f = {NULL, 0};
    f.s = new_session(free_on_first_event, &f);
    idjag_token *t = NULL;
    CHECK_OK(idjag_session_access_token(f.s, mcp_url(), &t, ERR));
    CHECK(t != NULL);
    CHECK(f.events == 1);
    idjag_token_free(t);
}

static void test_reauthentication(void) {
    char *config = kit_session_config(KIT, "not-an-id-token");
    idjag_session *s = NULL;
    CHECK_OK(idjag_session_new(config, NULL, NULL, &s, ERR));
    free(config);
    idjag_token *t = (idjag_token *)&t; /* a sentinel: outputs are untouched on error */
    idjag_error *e = NULL;
    CHECK(idjag_session_access_token(s, mcp_url(), &t, &e) == IDJAG_REAUTHENTICATION_REQUIRED);
    CHECK(t == (idjag_token *)&t);
    CHECK_STR(idjag_error_code(e), "reauthentication_required");
    CHECK_STR(idjag_error_action(e), "reauthenticate");
    CHECK_STR(idjag_error_step(e), "idp_exchange");
    CHECK_STR(idjag_error_oauth_error(e), "invalid_grant");
    CHECK(idjag_error_status(e) == 400);
    CHECK(idjag_error_reason(e) == NULL);
    idjag_error_free(e);
    /* The user signs in again. */
    char *id_token = kit_id_token(KIT, "alice");
    CHECK_OK(idjag_session_set_subject_token(s, id_token, "id_token", NULL, ERR));
    free(id_token);
    t = NULL;
    CHECK_OK(idjag_session_access_token(s, mcp_url(), &t, ERR));
    idjag_token_free(t);
    idjag_session_free(s);
}

static void test_bad_input(void) {
    idjag_error *e = NULL;
    idjag_session *s = (idjag_session *)&e;

    /* Bad configuration: the message names the key, never a value. */
    const char *cfg = "{\"idp\": {\"issuer\": \"https://idp.example\", \"client_id\": \"c\","
                      " \"client_secret\": \"planted-secret\"}, \"colour\": \"blue\"}";
    CHECK(idjag_session_new(cfg, NULL, NULL, &s, &e) == IDJAG_CONFIGURATION);
    CHECK(s == (idjag_session *)&e);
    CHECK(idjag_error_result(e) == IDJAG_CONFIGURATION);
    CHECK_STR(idjag_error_code(e), "configuration");
    CHECK_STR(idjag_error_step(e), "config");
    CHECK_STR(idjag_error_action(e), "reconfigure");
    CHECK(strstr(idjag_error_message(e), "colour") != NULL);
    CHECK(strstr(idjag_error_json(e), "planted") == NULL);
    CHECK(json_number(idjag_error_json(e), "number", 0) == IDJAG_CONFIGURATION);
    CHECK(idjag_error_status(e) == 0 && idjag_error_oauth_error(e) == NULL);
    idjag_error_free(e);
    e = NULL;
    CHECK(idjag_session_new("{", NULL, NULL, &s, NULL) == IDJAG_CONFIGURATION);

    /* Unreachable MCP server: a transport error to retry. */
    s = new_session(NULL, NULL);
    idjag_token *t = NULL;
    CHECK(idjag_session_access_token(s, "http://127.0.0.1:1/mcp", &t, &e) == IDJAG_TRANSPORT);
    CHECK(t == NULL);
    CHECK_STR(idjag_error_code(e), "transport");
    CHECK_STR(idjag_error_action(e), "retry");
    CHECK(idjag_error_message(e) && strlen(idjag_error_message(e)) > 0);
    idjag_error_free(e);
    e = NULL;

    /* NULL arguments and invalid UTF-8. */
    CHECK(idjag_session_access_token(s, NULL, &t, &e) == IDJAG_NULL_PARAMETER);
    CHECK_STR(idjag_error_code(e), "invalid_argument");
    CHECK(strstr(idjag_error_message(e), "server_url") != NULL);
    idjag_error_free(e);
    e = NULL;
    CHECK(idjag_session_access_token(NULL, mcp_url(), &t, NULL) == IDJAG_NULL_PARAMETER);
    CHECK(idjag_session_access_token(s, mcp_url(), NULL, NULL) == IDJAG_NULL_PARAMETER);
    CHECK(idjag_session_access_token(s, "http://\xff\xfe/", &t, &e) == IDJAG_INVALID_UTF8);
    CHECK(idjag_error_result(e) == IDJAG_INVALID_UTF8);
    idjag_error_free(e);
    e = NULL;
    CHECK(idjag_session_handle_challenge(s, mcp_url(), 500, NULL, NULL, &t, NULL) ==
          IDJAG_INVALID_ARGUMENT);
    CHECK(idjag_session_set_subject_token(s, "x", "password", NULL, NULL) ==
          IDJAG_INVALID_ARGUMENT);
    CHECK(t == NULL);
    idjag_session_free(s);

    /* Every _free accepts NULL; accessors answer NULL / 0. */
    idjag_session_free(NULL);
    idjag_verifier_free(NULL);
    idjag_token_free(NULL);
    idjag_error_free(NULL);
    idjag_json_free(NULL);
    CHECK(idjag_token_access_token(NULL) == NULL && idjag_token_expires_at(NULL) == 0);
    CHECK(idjag_error_code(NULL) == NULL && idjag_error_status(NULL) == 0);
    CHECK(idjag_json_str(NULL) == NULL);
}

static idjag_verifier *new_verifier(void) {
    char *config = kit_verifier_config(KIT);
    idjag_verifier *v = NULL;
    CHECK_OK(idjag_verifier_new(config, &v, ERR));
    free(config);
    return v;
}

static void test_verifier(void) {
    idjag_verifier *v = new_verifier();
    if (!v) return;
    CHECK_STR(idjag_verifier_issuer(v), kit_get(KIT, "as_issuer"));
    CHECK_OK(idjag_verifier_prefetch_keys(v, ERR));
    char *id_jag = kit_id_jag(KIT, "alice");
    const char *client = kit_get(KIT, "clients.as.client_id");
    idjag_json *g = NULL;
    CHECK_OK(idjag_verifier_verify(v, id_jag, client, NULL, &g, ERR));
    if (g) {
        char *sub = json_string(idjag_json_str(g), "sub");
        char *res = json_string(idjag_json_str(g), "resource.0");
        CHECK_STR(sub, "alice");
        CHECK_STR(res, mcp_url());
        free(sub);
        free(res);
    }
    idjag_json_free(g);

    /* The same assertion again: rejected as replayed, answered with a generic invalid_grant. */
    idjag_error *e = NULL;
    g = (idjag_json *)&e;
    CHECK(idjag_verifier_verify(v, id_jag, client, NULL, &g, &e) == IDJAG_VERIFICATION_FAILED);
    CHECK(g == (idjag_json *)&e);
    CHECK_STR(idjag_error_code(e), "verification_failed");
    CHECK_STR(idjag_error_reason(e), "replayed");
    CHECK_STR(idjag_error_step(e), "verify");
    uint16_t status = 0;
    idjag_json *body = NULL;
    CHECK_OK(idjag_error_token_response(e, &status, &body, ERR));
    CHECK(status == 400);
    char *oauth = body ? json_string(idjag_json_str(body), "error") : NULL;
    CHECK_STR(oauth, "invalid_grant");
    free(oauth);
    idjag_json_free(body);
    idjag_error_free(e);
    e = NULL;

    /* A rejected assertion: not even a JWT. */
    CHECK(idjag_verifier_verify(v, "a.b.c", client, NULL, &g, &e) == IDJAG_VERIFICATION_FAILED);
    CHECK_STR(idjag_error_reason(e), "malformed");
    idjag_error_free(e);
    e = NULL;
    free(id_jag);

    /* Inspection of an ID-JAG (unverified). */
    id_jag = kit_id_jag(KIT, "bob");
    idjag_json *i = NULL;
    CHECK_OK(idjag_inspect(id_jag, &i, ERR));
    char *kind = i ? json_string(idjag_json_str(i), "kind") : NULL;
    char *sub = i ? json_string(idjag_json_str(i), "claims.sub") : NULL;
    CHECK_STR(kind, "id_jag");
    CHECK_STR(sub, "bob");
    free(kind);
    free(sub);
    idjag_json_free(i);
    free(id_jag);
    CHECK(idjag_inspect("nope", &i, NULL) == IDJAG_INVALID_ARGUMENT);

    /* A bad verifier configuration. */
    idjag_verifier *bad = (idjag_verifier *)&e;
    CHECK(idjag_verifier_new("{\"issuer\": \"x\"}", &bad, &e) == IDJAG_CONFIGURATION);
    CHECK(bad == (idjag_verifier *)&e);
    CHECK_STR(idjag_error_code(e), "configuration");
    idjag_error_free(e);
    idjag_verifier_free(v);
}

/* ---- the Redis replay store ------------------------------------------------------------------ */

/* A verifier of the kit's AS recording used jtis in the Redis at `url` under `prefix`. */
static idjag_verifier *redis_verifier(const char *url, const char *prefix) {
    char *base = kit_verifier_config(KIT);
    cJSON *cfg = cJSON_Parse(base);
    free(base);
    cJSON *replay = cJSON_AddObjectToObject(cfg, "replay");
    cJSON_AddStringToObject(replay, "redis_url", url);
    cJSON_AddStringToObject(replay, "key_prefix", prefix);
    char *config = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    idjag_verifier *v = NULL;
    CHECK_OK(idjag_verifier_new(config, &v, ERR));
    free(config);
    return v;
}

struct race {
    idjag_verifier *v;
    const char *id_jag;
    const char *client;
    pthread_barrier_t *start;
    idjag_result rc;
    int replayed;
};

static void *race_verify(void *arg) {
    struct race *r = arg;
    idjag_json *g = NULL;
    idjag_error *e = NULL;
    pthread_barrier_wait(r->start);
    r->rc = idjag_verifier_verify(r->v, r->id_jag, r->client, NULL, &g, &e);
    r->replayed = e && idjag_error_reason(e) && !strcmp(idjag_error_reason(e), "replayed");
    idjag_json_free(g);
    idjag_error_free(e);
    return NULL;
}

/* Two verifiers (two replicas of one AS) sharing one real redis-server accept an ID-JAG
 * exactly once: 8 threads, 4 on each, present the same ID-JAG at once; then a fresh ID-JAG
 * accepted by one replica is `replayed` at the other. run.sh starts the redis-server and sets
 * IDJAG_TEST_REDIS_URL; without it this test fails (unless IDJAG_ALLOW_NO_REDIS=1). */
static void test_redis_replay(void) {
    const char *url = getenv("IDJAG_TEST_REDIS_URL");
    if (!url || !*url) {
        const char *allow = getenv("IDJAG_ALLOW_NO_REDIS");
        if (allow && !strcmp(allow, "1")) {
            fprintf(stderr, "  SKIPPED: IDJAG_TEST_REDIS_URL unset and IDJAG_ALLOW_NO_REDIS=1\n");
            return;
        }
        fprintf(stderr, "  IDJAG_TEST_REDIS_URL is not set (tests/c/run.sh starts redis-server)\n");
        CHECK(url != NULL);
        return;
    }
    /* A prefix of this process: the shared, static, sanitizer and valgrind runs share one
     * Redis. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "idjag-c-test-%ld:jti:", (long)getpid());
    idjag_verifier *a = redis_verifier(url, prefix), *b = redis_verifier(url, prefix);
    if (!a || !b) goto out;
    const char *client = kit_get(KIT, "clients.as.client_id");
    char *id_jag = kit_id_jag(KIT, "alice");
    enum { N = 8 };
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N);
    struct race races[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        races[i] = (struct race){i % 2 ? b : a, id_jag, client, &start, IDJAG_INTERNAL, 0};
        pthread_create(&threads[i], NULL, race_verify, &races[i]);
    }
    int accepted = 0, replayed = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        accepted += races[i].rc == IDJAG_OK;
        replayed += races[i].rc == IDJAG_VERIFICATION_FAILED && races[i].replayed;
    }
    pthread_barrier_destroy(&start);
    CHECK(accepted == 1);
    CHECK(replayed == N - 1);
    free(id_jag);

    char *fresh = kit_id_jag(KIT, "bob");
    idjag_json *g = NULL;
    CHECK_OK(idjag_verifier_verify(a, fresh, client, NULL, &g, ERR));
    idjag_json_free(g);
    g = NULL;
    idjag_error *e = NULL;
    CHECK(idjag_verifier_verify(b, fresh, client, NULL, &g, &e) == IDJAG_VERIFICATION_FAILED);
    CHECK_STR(idjag_error_reason(e), "replayed");
    CHECK(g == NULL);
    idjag_error_free(e);
    free(fresh);
out:
    idjag_verifier_free(a);
    idjag_verifier_free(b);
}

/* ---- shared vectors ------------------------------------------------------------------------ */

static int same_string(const cJSON *want, const char *got) {
    if (cJSON_IsNull(want) || !want) return got == NULL;
    return cJSON_IsString(want) && got && strcmp(want->valuestring, got) == 0;
}

/* tests/vectors/verify.json through idjag_verifier_verify (clock fixed at `now`). */
static void test_verify_vectors(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/verify.json", VECTORS);
    char *text = read_file(path);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *configs = cJSON_GetObjectItemCaseSensitive(doc, "configs");
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    const double now = cJSON_GetObjectItemCaseSensitive(doc, "now")->valuedouble;
    enum { MAX = 8 };
    const char *names[MAX];
    idjag_verifier *vs[MAX];
    int nv = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, configs) {
        if (nv == MAX) break;
        char *json = cJSON_PrintUnformatted(c);
        names[nv] = c->string;
        vs[nv] = NULL;
        CHECK_OK(idjag_verifier_new_insecure_fixed_clock(json, (int64_t)now, &vs[nv], ERR));
        free(json);
        nv++;
    }
    int replayed = 0, total = 0;
    cJSON_ArrayForEach(c, cases) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        const char *config = cJSON_GetObjectItemCaseSensitive(c, "config")->valuestring;
        const cJSON *scope = cJSON_GetObjectItemCaseSensitive(c, "requested_scope");
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
        idjag_verifier *v = NULL;
        for (int i = 0; i < nv; i++)
            if (strcmp(names[i], config) == 0) v = vs[i];
        CHECK(v != NULL);
        idjag_json *g = NULL;
        idjag_error *e = NULL;
        idjag_result rc = idjag_verifier_verify(
            v, cJSON_GetObjectItemCaseSensitive(c, "assertion")->valuestring,
            cJSON_GetObjectItemCaseSensitive(c, "client_id")->valuestring,
            cJSON_IsString(scope) ? scope->valuestring : NULL, &g, &e);
        const char *result = cJSON_GetObjectItemCaseSensitive(expect, "result")->valuestring;
        int ok;
        if (strcmp(result, "accepted") == 0) {
            ok = rc == IDJAG_OK && g != NULL;
            cJSON *got = g ? cJSON_Parse(idjag_json_str(g)) : NULL;
            static const char *const fields[] = {"iss",   "sub", "client_id", "resource",
                                                 "resource_defaulted", "scope", "jti",
                                                 "exp",   "iat"};
            for (size_t f = 0; ok && f < sizeof fields / sizeof *fields; f++) {
                const cJSON *w = cJSON_GetObjectItemCaseSensitive(expect, fields[f]);
                const cJSON *h = cJSON_GetObjectItemCaseSensitive(got, fields[f]);
                ok = cJSON_Compare(w, h, 1);
                if (!ok) fprintf(stderr, "  vector %s: field %s differs\n", name, fields[f]);
            }
            cJSON_Delete(got);
        } else {
            ok = rc == IDJAG_VERIFICATION_FAILED &&
                 same_string(cJSON_GetObjectItemCaseSensitive(expect, "error"),
                             idjag_error_code(e)) &&
                 same_string(cJSON_GetObjectItemCaseSensitive(expect, "reason"),
                             idjag_error_reason(e));
            replayed += ok && idjag_error_reason(e) && !strcmp(idjag_error_reason(e), "replayed");
        }
        if (!ok)
            fprintf(stderr, "  vector %s: got %s (%s)\n", name, idjag_result_code(rc),
                    e ? idjag_error_message(e) : "-");
        CHECK(ok);
        total++;
        idjag_json_free(g);
        idjag_error_free(e);
    }
    CHECK(total >= 40);
    CHECK(replayed >= 1);
    for (int i = 0; i < nv; i++) idjag_verifier_free(vs[i]);
    cJSON_Delete(doc);
}

/* tests/vectors/client.json `www_authenticate` cases through idjag_parse_www_authenticate. */
static void test_challenge_vectors(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/client.json", VECTORS);
    char *text = read_file(path);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "www_authenticate")) {
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
        idjag_json *j = NULL;
        CHECK_OK(idjag_parse_www_authenticate(
            cJSON_GetObjectItemCaseSensitive(c, "header")->valuestring, &j, ERR));
        cJSON *got = j ? cJSON_Parse(idjag_json_str(j)) : NULL;
        const cJSON *w;
        cJSON_ArrayForEach(w, expect) {
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(got, w->string);
            CHECK(cJSON_Compare(w, h, 1));
        }
        cJSON_Delete(got);
        idjag_json_free(j);
        n++;
    }
    CHECK(n >= 5);
    cJSON_Delete(doc);
}

/* `text` with every "{base}" replaced by `base` (malloc'd). */
static char *with_base(const char *text, const char *base) {
    size_t n = 0, bl = strlen(base);
    for (const char *p = strstr(text, "{base}"); p; p = strstr(p + 6, "{base}")) n++;
    char *out = malloc(strlen(text) + n * bl + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = text;;) {
        const char *q = strstr(p, "{base}");
        size_t k = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!q) break;
        memcpy(o, base, bl);
        o += bl;
        p = q + 6;
    }
    *o = '\0';
    return out;
}

/* Sets the stub's answer to a vector's `response`. */
static void stub_answer(stub *st, const cJSON *response) {
    char headers[2048] = "";
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(response, "headers")) {
        size_t used = strlen(headers);
        snprintf(headers + used, sizeof headers - used, "%s: %s\r\n", h->string, h->valuestring);
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(response, "status");
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(response, "body_repeat");
    if (rep) {
        const char *prefix = cJSON_GetObjectItemCaseSensitive(rep, "prefix")->valuestring;
        const char *fill = cJSON_GetObjectItemCaseSensitive(rep, "fill")->valuestring;
        const char *suffix = cJSON_GetObjectItemCaseSensitive(rep, "suffix")->valuestring;
        int count = cJSON_GetObjectItemCaseSensitive(rep, "count")->valueint;
        size_t fl = strlen(fill), n = strlen(prefix) + fl * (size_t)count + strlen(suffix);
        char *body = malloc(n + 1), *o = body;
        strcpy(o, prefix);
        o += strlen(prefix);
        for (int i = 0; i < count; i++, o += fl) memcpy(o, fill, fl);
        strcpy(o, suffix);
        stub_reset(st, cJSON_IsNumber(status) ? status->valueint : 200, headers, body, n);
        free(body);
    } else {
        const char *body = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(response, "body"));
        stub_reset(st, cJSON_IsNumber(status) ? status->valueint : 200, headers, body ? body : "",
                   body ? strlen(body) : 0);
    }
}

/* The recorded request is exactly the expected one. */
static int request_matches(stub *st, const cJSON *expect, const char *name) {
    int ok = stub_count(st) == 1;
    ok = ok && same_string(cJSON_GetObjectItemCaseSensitive(expect, "method"), stub_method(st));
    ok = ok && same_string(cJSON_GetObjectItemCaseSensitive(expect, "path"), stub_path(st));
    ok = ok && same_string(cJSON_GetObjectItemCaseSensitive(expect, "body"), stub_body(st));
    const cJSON *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(expect, "headers")) {
        if (!same_string(h, stub_header(st, h->string))) {
            fprintf(stderr, "  vector %s: header %s: %s\n", name, h->string,
                    stub_header(st, h->string) ? stub_header(st, h->string) : "(absent)");
            ok = 0;
        }
    }
    if (!ok) fprintf(stderr, "  vector %s: request differs (%d seen; body %s)\n", name,
                     stub_count(st), stub_body(st) ? stub_body(st) : "-");
    return ok;
}

/* The error has the expected fields (only those listed). */
static int error_matches(const idjag_error *e, const cJSON *expect, const char *name) {
    static const struct {
        const char *field;
        const char *(*get)(const idjag_error *);
    } fields[] = {{"code", idjag_error_code},
                  {"step", idjag_error_step},
                  {"action", idjag_error_action},
                  {"oauth_error", idjag_error_oauth_error},
                  {"error_description", idjag_error_description},
                  {"error_uri", idjag_error_uri}};
    int ok = e != NULL;
    for (size_t i = 0; ok && i < sizeof fields / sizeof *fields; i++) {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(expect, fields[i].field);
        if (w && !same_string(w, fields[i].get(e))) {
            fprintf(stderr, "  vector %s: %s is %s\n", name, fields[i].field,
                    fields[i].get(e) ? fields[i].get(e) : "NULL");
            ok = 0;
        }
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(expect, "status");
    if (ok && cJSON_IsNumber(status) && idjag_error_status(e) != status->valueint) ok = 0;
    /* Never a secret of the request in what may be logged. */
    if (ok && (strstr(idjag_error_json(e), "eyJ.subject.token") ||
               strstr(idjag_error_json(e), "s3cr") || strstr(idjag_error_json(e), "eyJ.id.jag")))
        ok = 0;
    return ok;
}

typedef idjag_result (*leg_fn)(const idjag_client *, const char *, idjag_json **, idjag_error **);

/* Runs one leg against the stub: the request, and the ok fields or the error. */
static void run_leg(idjag_client *c, stub *st, leg_fn leg, const cJSON *input, const cJSON *kase,
                    const char *secret_field) {
    const char *name = cJSON_GetObjectItemCaseSensitive(kase, "name")->valuestring;
    stub_answer(st, cJSON_GetObjectItemCaseSensitive(kase, "response"));
    char *raw = cJSON_PrintUnformatted(input);
    char *request = with_base(raw, stub_base(st));
    free(raw);
    idjag_json *out = NULL;
    idjag_error *e = NULL;
    idjag_result rc = leg(c, request, &out, &e);
    free(request);
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(kase, "expect");
    const cJSON *ok_fields = cJSON_GetObjectItemCaseSensitive(expect, "ok");
    int ok;
    if (ok_fields) {
        ok = rc == IDJAG_OK &&
             request_matches(st, cJSON_GetObjectItemCaseSensitive(kase, "expect_request"), name);
        cJSON *got = out ? cJSON_Parse(idjag_json_str(out)) : NULL;
        const cJSON *w;
        cJSON_ArrayForEach(w, ok_fields) {
            const cJSON *h = cJSON_GetObjectItemCaseSensitive(got, w->string);
            const cJSON *want = w;
            /* A null expected scope means "the requested one" (SPEC §2.D). */
            if (!strcmp(w->string, "scope") && cJSON_IsNull(w))
                want = cJSON_GetObjectItemCaseSensitive(input, "scope");
            if (!(want ? cJSON_Compare(want, h, 1) : cJSON_IsNull(h))) {
                fprintf(stderr, "  vector %s: %s differs\n", name, w->string);
                ok = 0;
            }
        }
        ok = ok && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(got, secret_field));
        cJSON_Delete(got);
    } else {
        ok = rc != IDJAG_OK && out == NULL &&
             error_matches(e, cJSON_GetObjectItemCaseSensitive(expect, "error"), name);
    }
    if (!ok)
        fprintf(stderr, "  vector %s: got %s (%s)\n", name, idjag_result_code(rc),
                e ? idjag_error_message(e) : "-");
    CHECK(ok);
    idjag_json_free(out);
    idjag_error_free(e);
}

/* tests/vectors/client.json: both legs through idjag_client_* against a loopback stub, with
 * the exact request sent and the result or error checked. */
static void test_client_vectors(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/client.json", VECTORS);
    char *text = read_file(path);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    stub *st = stub_start();
    CHECK(st != NULL);
    idjag_client *c = NULL;
    int64_t clock = (int64_t)cJSON_GetObjectItemCaseSensitive(doc, "clock")->valuedouble;
    CHECK_OK(idjag_client_new_insecure_fixed_clock("{\"timeout_ms\": 5000}", clock, &c, ERR));
    if (!st || !c) goto out;
    int n = 0;
    const cJSON *k;
    const cJSON *leg1 = cJSON_GetObjectItemCaseSensitive(doc, "request_id_jag");
    const cJSON *leg2 = cJSON_GetObjectItemCaseSensitive(doc, "redeem_id_jag");
    cJSON_ArrayForEach(k, leg1) {
        run_leg(c, st, idjag_client_request_id_jag, cJSON_GetObjectItemCaseSensitive(k, "input"), k,
                "assertion");
        n++;
    }
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(doc, "id_jag_responses")) {
        run_leg(c, st, idjag_client_request_id_jag,
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(leg1, 0), "input"), k, NULL);
        n++;
    }
    cJSON_ArrayForEach(k, leg2) {
        run_leg(c, st, idjag_client_redeem_id_jag, cJSON_GetObjectItemCaseSensitive(k, "input"), k,
                "access_token");
        n++;
    }
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(doc, "access_token_responses")) {
        run_leg(c, st, idjag_client_redeem_id_jag,
                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(leg2, 0), "input"), k, NULL);
        n++;
    }
    CHECK(n >= 24);
out:
    idjag_client_free(c);
    stub_stop(st);
    cJSON_Delete(doc);
}

/* base64url (no padding) → malloc'd NUL-terminated bytes; NULL on a bad character. */
static char *b64url_decode(const char *s, size_t n) {
    char *out = malloc(n * 3 / 4 + 4), *o = out;
    unsigned acc = 0;
    int bits = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        const char c = s[i];
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-'             ? 62
                : c == '_'             ? 63
                                       : -1;
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *o++ = (char)((acc >> bits) & 0xff);
        }
    }
    *o = '\0';
    return out;
}

/* Part `part` (0 header, 1 claims) of the compact JWT at `jwt` (ending at '&' or NUL). */
static cJSON *jwt_part(const char *jwt, int part) {
    const char *p = jwt;
    for (int i = 0; i < part; i++) {
        p = strchr(p, '.');
        if (!p) return NULL;
        p++;
    }
    size_t n = strcspn(p, ".&");
    char *json = b64url_decode(p, n);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    free(json);
    return o;
}

/* A `prepare` vector's expected body against the body sent. Without a private_key_jwt
 * assertion: byte for byte. With one: everything before it byte for byte, the JOSE header
 * exactly, and every claim except `jti` (random here: C does not fix it) with `aud`'s
 * https://stub.example (the vectors' base inside signed assertions) read as the stub's base. */
static int body_matches(const char *want, const char *got, const char *base, const char *name) {
    if (!got) return 0;
    const char *wa = strstr(want, "client_assertion=");
    if (!wa) return strcmp(want, got) == 0;
    const char *ga = strstr(got, "client_assertion=");
    size_t prefix = (size_t)(wa - want);
    if (!ga || (size_t)(ga - got) != prefix || strncmp(want, got, prefix) != 0) return 0;
    wa += strlen("client_assertion=");
    ga += strlen("client_assertion=");
    cJSON *wh = jwt_part(wa, 0), *gh = jwt_part(ga, 0);
    cJSON *wc = jwt_part(wa, 1), *gc = jwt_part(ga, 1);
    int ok = wh && gh && wc && gc && cJSON_Compare(wh, gh, 1) &&
             cJSON_GetArraySize(wc) == cJSON_GetArraySize(gc);
    const cJSON *w;
    cJSON_ArrayForEach(w, wc) {
        if (!ok) break;
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(gc, w->string);
        if (!strcmp(w->string, "jti")) {
            ok = cJSON_IsString(g) && strlen(g->valuestring) > 0;
        } else if (!strcmp(w->string, "aud") && cJSON_IsString(w) &&
                   !strncmp(w->valuestring, "https://stub.example", 20)) {
            char aud[512];
            snprintf(aud, sizeof aud, "%s%s", base, w->valuestring + 20);
            ok = cJSON_IsString(g) && !strcmp(aud, g->valuestring);
        } else {
            ok = cJSON_Compare(w, g, 1);
        }
        if (!ok) fprintf(stderr, "  vector %s: assertion claim %s differs\n", name, w->string);
    }
    /* Nothing after the assertion, on either side. */
    ok = ok && !strchr(wa, '&') && !strchr(ga, '&');
    cJSON_Delete(wh);
    cJSON_Delete(gh);
    cJSON_Delete(wc);
    cJSON_Delete(gc);
    return ok;
}

/* tests/vectors/client.json `prepare`: the request shapes (`issuer`, `auth_methods_supported`,
 * private_key_jwt, public clients, the method choice, no method in common) through
 * idjag_client_* against the stub: the exact request sent (an assertion up to its random
 * `jti`), then the result's view and secret or the error. The `refresh_id_token` cases have no
 * C function and are not replayed here. */
static void test_prepare_vectors(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/client.json", VECTORS);
    char *text = read_file(path);
    CHECK(text != NULL);
    if (!text) return;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    stub *st = stub_start();
    idjag_client *c = NULL;
    int64_t clock = (int64_t)cJSON_GetObjectItemCaseSensitive(doc, "clock")->valuedouble;
    CHECK_OK(idjag_client_new_insecure_fixed_clock("{\"timeout_ms\": 5000}", clock, &c, ERR));
    cJSON *refusal = cJSON_Parse("{\"status\": 400, \"headers\": {\"content-type\": "
                                 "\"application/json\"}, \"body\": \"{\\\"error\\\": "
                                 "\\\"invalid_request\\\"}\"}");
    int n = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(doc, "prepare")) {
        if (!st || !c) break;
        const char *name = cJSON_GetObjectItemCaseSensitive(k, "name")->valuestring;
        const char *leg_name = cJSON_GetObjectItemCaseSensitive(k, "leg")->valuestring;
        leg_fn leg = !strcmp(leg_name, "request_id_jag")  ? idjag_client_request_id_jag
                     : !strcmp(leg_name, "redeem_id_jag") ? idjag_client_redeem_id_jag
                                                          : NULL;
        if (!leg) continue;
        const char *secret_field = leg == idjag_client_request_id_jag ? "assertion"
                                                                       : "access_token";
        const cJSON *response = cJSON_GetObjectItemCaseSensitive(k, "response");
        stub_answer(st, response ? response : refusal);
        char *raw = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(k, "input"));
        char *request = with_base(raw, stub_base(st));
        free(raw);
        idjag_json *out = NULL;
        idjag_error *e = NULL;
        idjag_result rc = leg(c, request, &out, &e);
        free(request);
        const cJSON *expect = cJSON_GetObjectItemCaseSensitive(k, "expect");
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(k, "expect_request");
        const cJSON *want_error = cJSON_GetObjectItemCaseSensitive(expect, "error");
        int ok;
        if (!want) {
            /* Refused before anything was sent. */
            ok = rc != IDJAG_OK && stub_count(st) == 0 && error_matches(e, want_error, name);
        } else {
            ok = stub_count(st) == 1 &&
                 same_string(cJSON_GetObjectItemCaseSensitive(want, "method"), stub_method(st)) &&
                 same_string(cJSON_GetObjectItemCaseSensitive(want, "path"), stub_path(st)) &&
                 body_matches(cJSON_GetObjectItemCaseSensitive(want, "body")->valuestring,
                              stub_body(st), stub_base(st), name);
            const cJSON *h;
            cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(want, "headers")) {
                if (!same_string(h, stub_header(st, h->string))) {
                    fprintf(stderr, "  vector %s: header %s\n", name, h->string);
                    ok = 0;
                }
            }
            if (!ok) fprintf(stderr, "  vector %s: request differs (body %s)\n", name,
                             stub_body(st) ? stub_body(st) : "-");
            if (!response) {
                /* Request-only case: the stub's refusal comes back as that OAuth error. */
                ok = ok && rc == IDJAG_OAUTH_ERROR;
            } else if (want_error) {
                ok = ok && rc != IDJAG_OK && out == NULL && error_matches(e, want_error, name);
            } else {
                cJSON *got = out ? cJSON_Parse(idjag_json_str(out)) : NULL;
                const cJSON *secret = cJSON_GetObjectItemCaseSensitive(expect, "secret");
                ok = ok && rc == IDJAG_OK &&
                     same_string(secret, cJSON_GetStringValue(
                                             cJSON_GetObjectItemCaseSensitive(got, secret_field)));
                const cJSON *w;
                cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(expect, "view")) {
                    if (!cJSON_Compare(w, cJSON_GetObjectItemCaseSensitive(got, w->string), 1)) {
                        fprintf(stderr, "  vector %s: %s differs\n", name, w->string);
                        ok = 0;
                    }
                }
                /* The document is the secret plus exactly the core's view. */
                ok = ok && cJSON_GetArraySize(got) ==
                               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(expect, "view")) + 1;
                cJSON_Delete(got);
            }
        }
        if (!ok)
            fprintf(stderr, "  vector %s: got %s (%s)\n", name, idjag_result_code(rc),
                    e ? idjag_error_message(e) : "-");
        CHECK(ok);
        idjag_json_free(out);
        idjag_error_free(e);
        n++;
    }
    CHECK(n >= 6);
    cJSON_Delete(refusal);
    idjag_client_free(c);
    stub_stop(st);
    cJSON_Delete(doc);
}

/* ---- main ---------------------------------------------------------------------------------- */

struct test {
    const char *name;
    void (*run)(void);
};

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <idjag-testkit> <tests/vectors>\n", argv[0]);
        return 2;
    }
    VECTORS = argv[2];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    KIT = kit_start(argv[1]);
    if (!KIT) return 1;
    static const struct test tests[] = {
        {"version_and_results", test_version_and_results},
        {"token_on_the_mcp_server", test_token_on_the_mcp_server},
        {"challenges", test_challenges},
        {"callback_frees_its_session", test_callback_frees_its_session},
        {"reauthentication", test_reauthentication},
        {"bad_input", test_bad_input},
        {"verifier", test_verifier},
        {"redis_replay", test_redis_replay},
        {"verify_vectors", test_verify_vectors},
        {"challenge_vectors", test_challenge_vectors},
        {"client_vectors", test_client_vectors},
        {"prepare_vectors", test_prepare_vectors},
    };
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        int before = checks_failed;
        tests[i].run();
        if (checks_failed == before) {
            passed++;
            printf("ok   %s\n", tests[i].name);
        } else {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        }
    }
    kit_stop(KIT);
    curl_global_cleanup();
    printf("c: %d checks\n", checks_run);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
