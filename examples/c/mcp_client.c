/*
 * mcp_client: a small MCP client in C on libidjag (authorization) and libcurl (HTTP). It
 * connects to an MCP server protected by MCP Enterprise-Managed Authorization (SEP-990),
 * initializes an MCP session and lists the server's tools.
 *
 *   mcp_client <server_url>
 *
 * Configuration, first found:
 * - $MCP_CONFORMANCE_CONTEXT: the JSON context of the MCP conformance suite, as
 *   `npx @modelcontextprotocol/conformance client` passes it (tests/conformance/run.sh):
 *   - a user (SEP-990 enterprise-managed authorization): `client_id`, `client_secret`,
 *     `idp_client_id`, `idp_client_secret`?, `idp_id_token`, `idp_issuer`,
 *     `idp_token_endpoint` (also what `idjag-testkit serve --json` prints under "context");
 *   - a workload (SEP-1933 workload identity federation, `auth/wif-jwt-bearer`): `client_id`
 *     and `valid_jwt` (the context's `wrong_audience_jwt` and `expired_jwt` are for the
 *     suite's AS to reject: sending them fails the scenario, so they are not used);
 * - $IDJAG_CONFIG: the path of an idjag session configuration (JSON, see docs/GUIDE.md).
 *
 * Everything about tokens is libidjag's job: idjag_session_access_token gives the
 * Authorization header (discovering, exchanging and redeeming on first use, from the cache
 * afterwards), and a 401/403 answer goes to idjag_session_handle_challenge, which returns the
 * token to retry with. Build: `make` (pkg-config idjag libcurl libcjson).
 */
#define _POSIX_C_SOURCE 200809L
#include <idjag.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROTOCOL_VERSION "2025-11-25"
/* At most this many answers to 401/403 challenges per request. */
#define MAX_CHALLENGES 3

struct response {
    long status;
    char *body;
    size_t len;
    char *www_authenticate;
    char *session_id;
    char *content_type;
};

static void response_free(struct response *r) {
    free(r->body);
    free(r->www_authenticate);
    free(r->session_id);
    free(r->content_type);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    struct response *r = ud;
    size_t add = size * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b) return 0;
    memcpy(b + r->len, p, add);
    r->len += add;
    b[r->len] = '\0';
    r->body = b;
    return add;
}

/* Keeps the value of header `name` (case-insensitive) in *slot. */
static void keep_header(const char *line, size_t len, const char *name, char **slot) {
    size_t nl = strlen(name);
    if (*slot || len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
    char *d = malloc(vl + 1);
    if (!d) return;
    memcpy(d, v, vl);
    d[vl] = '\0';
    *slot = d;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
    struct response *r = ud;
    size_t len = size * n;
    keep_header(p, len, "www-authenticate", &r->www_authenticate);
    keep_header(p, len, "mcp-session-id", &r->session_id);
    keep_header(p, len, "content-type", &r->content_type);
    return len;
}

struct mcp {
    const char *url;
    idjag_session *session;
    idjag_token *token;
    char *session_id;
    char protocol_version[32];
    int next_id;
};

static void report(const char *what, idjag_result rc, const idjag_error *e) {
    /* idjag messages never contain a token or a secret: safe to print. */
    fprintf(stderr, "%s: idjag error [%s/%s/%s]: %s\n", what,
            e ? idjag_error_code(e) : idjag_result_code(rc), e ? idjag_error_step(e) : "-",
            e ? idjag_error_action(e) : "-", e ? idjag_error_message(e) : "");
}

/* POSTs one JSON-RPC message with the session's token; answers 401/403 challenges through
 * idjag and retries (bounded). Returns 0 when an HTTP answer other than 401/403 arrived. */
static int post(struct mcp *m, const char *body, struct response *r) {
    for (int attempt = 0;; attempt++) {
        memset(r, 0, sizeof *r);
        CURL *c = curl_easy_init();
        if (!c) return -1;
        struct curl_slist *h = NULL;
        char line[8192];
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Accept: application/json, text/event-stream");
        snprintf(line, sizeof line, "Authorization: %s", idjag_token_authorization(m->token));
        h = curl_slist_append(h, line);
        if (m->session_id) {
            snprintf(line, sizeof line, "Mcp-Session-Id: %s", m->session_id);
            h = curl_slist_append(h, line);
        }
        if (m->protocol_version[0]) {
            snprintf(line, sizeof line, "MCP-Protocol-Version: %s", m->protocol_version);
            h = curl_slist_append(h, line);
        }
        curl_easy_setopt(c, CURLOPT_URL, m->url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        CURLcode rc = curl_easy_perform(c);
        if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        if (rc != CURLE_OK) {
            fprintf(stderr, "POST %s: %s\n", m->url, curl_easy_strerror(rc));
            return -1;
        }
        if (r->status != 401 && r->status != 403) return 0;
        if (attempt == MAX_CHALLENGES) {
            fprintf(stderr, "POST %s: still %ld after %d challenges\n", m->url, r->status, attempt);
            return -1;
        }
        /* The server refused the token: ask idjag for the one to retry with. */
        idjag_token *next = NULL;
        idjag_error *e = NULL;
        idjag_result ir = idjag_session_handle_challenge(
            m->session, m->url, (uint16_t)r->status, r->www_authenticate,
            idjag_token_access_token(m->token), &next, &e);
        if (ir != IDJAG_OK) {
            report("challenge", ir, e);
            idjag_error_free(e);
            return -1;
        }
        idjag_token_free(m->token);
        m->token = next;
        response_free(r);
    }
}

/* The JSON-RPC message answering `id` in a response (a JSON body, or an SSE stream). */
static cJSON *rpc_result(const struct response *r, int id) {
    if (r->status < 200 || r->status > 299 || !r->body) return NULL;
    if (r->content_type && strncasecmp(r->content_type, "text/event-stream", 17) == 0) {
        /* Each `data:` line of the stream holds one JSON-RPC message. */
        for (char *save = NULL, *l = strtok_r(r->body, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
            if (strncmp(l, "data:", 5) != 0) continue;
            cJSON *msg = cJSON_Parse(l + 5);
            const cJSON *mid = cJSON_GetObjectItemCaseSensitive(msg, "id");
            if (cJSON_IsNumber(mid) && mid->valueint == id) return msg;
            cJSON_Delete(msg);
        }
        return NULL;
    }
    return cJSON_Parse(r->body);
}

/* Sends a request and returns its `result` (owned by *msg), or NULL. */
static const cJSON *request(struct mcp *m, const char *method, cJSON *params, cJSON **msg) {
    int id = ++m->next_id;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "jsonrpc", "2.0");
    cJSON_AddNumberToObject(req, "id", id);
    cJSON_AddStringToObject(req, "method", method);
    cJSON_AddItemToObject(req, "params", params ? params : cJSON_CreateObject());
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    struct response r;
    int rc = post(m, body, &r);
    free(body);
    *msg = NULL;
    if (rc == 0) {
        if (!m->session_id && r.session_id) {
            m->session_id = r.session_id;
            r.session_id = NULL;
        }
        *msg = rpc_result(&r, id);
        if (!*msg) fprintf(stderr, "%s: HTTP %ld: %s\n", method, r.status, r.body ? r.body : "");
    }
    response_free(&r);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(*msg, "result");
    if (*msg && !result) {
        char *text = cJSON_PrintUnformatted(*msg);
        fprintf(stderr, "%s: %s\n", method, text ? text : "no result");
        free(text);
    }
    return result;
}

static int notify(struct mcp *m, const char *method) {
    char body[256];
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"}", method);
    struct response r;
    int rc = post(m, body, &r);
    if (rc == 0 && (r.status < 200 || r.status > 299)) rc = -1;
    response_free(&r);
    return rc;
}

#define CTX(k) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctx, k))
#define CTX_OR_EMPTY(k) (CTX(k) ? CTX(k) : "")

/* A workload (SEP-1933): the workload JWT goes straight to the MCP server's authorization
 * server with the jwt-bearer grant; no IdP, and a public client there. */
static void workload_config(const cJSON *ctx, cJSON *cfg) {
    cJSON *workload = cJSON_AddObjectToObject(cfg, "workload");
    cJSON_AddStringToObject(workload, "assertion", CTX_OR_EMPTY("valid_jwt"));
    cJSON *client = cJSON_AddObjectToObject(cfg, "client");
    cJSON_AddStringToObject(client, "client_id", CTX_OR_EMPTY("client_id"));
    cJSON_AddStringToObject(client, "auth_method", "none");
}

/* A user signed in at an enterprise IdP (SEP-990): token exchange of the ID token at the IdP
 * for an ID-JAG, then the jwt-bearer grant at the authorization server. */
static void user_config(const cJSON *ctx, cJSON *cfg) {
    cJSON *idp = cJSON_AddObjectToObject(cfg, "idp");
    if (CTX("idp_issuer")) cJSON_AddStringToObject(idp, "issuer", CTX("idp_issuer"));
    if (CTX("idp_token_endpoint"))
        cJSON_AddStringToObject(idp, "token_endpoint", CTX("idp_token_endpoint"));
    cJSON_AddStringToObject(idp, "client_id", CTX_OR_EMPTY("idp_client_id"));
    if (CTX("idp_client_secret"))
        cJSON_AddStringToObject(idp, "client_secret", CTX("idp_client_secret"));
    else
        cJSON_AddStringToObject(idp, "auth_method", "none"); /* a public client at the IdP */
    cJSON_AddStringToObject(cfg, "subject_token", CTX_OR_EMPTY("idp_id_token"));
    cJSON_AddStringToObject(cfg, "subject_token_type", "id_token");
    cJSON *client = cJSON_AddObjectToObject(cfg, "client");
    cJSON_AddStringToObject(client, "client_id", CTX_OR_EMPTY("client_id"));
    if (CTX("client_secret")) {
        cJSON_AddStringToObject(client, "client_secret", CTX("client_secret"));
        cJSON_AddStringToObject(client, "auth_method", "client_secret_basic");
    }
    /* A client secret goes only to the authorization servers listed in `client_issuers`. The
     * suite's AS is whatever its MCP server names, unknown in advance: the permissive value,
     * explicitly. A real deployment lists its AS issuers instead. */
    cJSON_AddStringToObject(cfg, "client_issuers", "any");
}

/* An idjag session configuration for a conformance context: a workload when the context
 * carries a workload JWT (`valid_jwt`), otherwise a user with an IdP. */
static char *config_from_context(const char *context) {
    cJSON *ctx = cJSON_Parse(context);
    if (!ctx) return NULL;
    cJSON *cfg = cJSON_CreateObject();
    if (CTX("valid_jwt"))
        workload_config(ctx, cfg);
    else
        user_config(ctx, cfg);
    cJSON_AddNumberToObject(cfg, "timeout_ms", 10000);
    char *text = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    cJSON_Delete(ctx);
    return text;
}
#undef CTX_OR_EMPTY
#undef CTX

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *data = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            char *d = realloc(data, cap);
            if (!d) break;
            data = d;
        }
        n = fread(data + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    if (data) data[len] = '\0';
    return data;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <server_url>\n", argv[0]);
        return 2;
    }
    struct mcp m;
    memset(&m, 0, sizeof m);
    m.url = argv[argc - 1];
    const char *context = getenv("MCP_CONFORMANCE_CONTEXT");
    const char *config_path = getenv("IDJAG_CONFIG");
    char *config = context && *context ? config_from_context(context)
                   : config_path        ? read_file(config_path)
                                        : NULL;
    if (!config) {
        fprintf(stderr, "set MCP_CONFORMANCE_CONTEXT or IDJAG_CONFIG\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int status = 1;
    idjag_error *e = NULL;
    idjag_result rc = idjag_session_new(config, NULL, NULL, &m.session, &e);
    free(config);
    if (rc != IDJAG_OK) {
        report("configuration", rc, e);
        goto out;
    }
    rc = idjag_session_access_token(m.session, m.url, &m.token, &e);
    if (rc != IDJAG_OK) {
        report("access token", rc, e);
        goto out;
    }

    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "protocolVersion", PROTOCOL_VERSION);
    cJSON_AddItemToObject(params, "capabilities", cJSON_CreateObject());
    cJSON *info = cJSON_AddObjectToObject(params, "clientInfo");
    cJSON_AddStringToObject(info, "name", "idjag-c-example");
    cJSON_AddStringToObject(info, "version", idjag_version());
    cJSON *msg = NULL;
    const cJSON *init = request(&m, "initialize", params, &msg);
    const char *version =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(init, "protocolVersion"));
    if (!init || !version) {
        cJSON_Delete(msg);
        goto out;
    }
    snprintf(m.protocol_version, sizeof m.protocol_version, "%s", version);
    cJSON_Delete(msg);
    if (notify(&m, "notifications/initialized") != 0) {
        fprintf(stderr, "notifications/initialized failed\n");
        goto out;
    }
    const cJSON *list = request(&m, "tools/list", NULL, &msg);
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(list, "tools");
    if (cJSON_IsArray(tools)) {
        printf("%d tool(s):", cJSON_GetArraySize(tools));
        const cJSON *t;
        cJSON_ArrayForEach(t, tools) {
            printf(" %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name")));
        }
        printf("\n");
        status = 0;
    }
    cJSON_Delete(msg);
out:
    idjag_error_free(e);
    idjag_token_free(m.token);
    idjag_session_free(m.session);
    free(m.session_id);
    curl_global_cleanup();
    return status;
}
