/* See kit.h. POSIX (fork, exec, pipes), libcurl and cJSON. */
#define _POSIX_C_SOURCE 200809L
#include "kit.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct kit {
    pid_t pid;
    FILE *to_kit;   /* the kit's stdin */
    FILE *from_kit; /* the kit's stdout */
    char *line;     /* its JSON line */
    cJSON *info;
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static const cJSON *lookup(const cJSON *root, const char *path) {
    char buf[256];
    const cJSON *node = root;
    size_t n = strlen(path);
    if (n >= sizeof buf) return NULL;
    memcpy(buf, path, n + 1);
    for (char *save = NULL, *part = strtok_r(buf, ".", &save); part && node;
         part = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(node)) {
            char *end = NULL;
            long i = strtol(part, &end, 10);
            node = (end && *end == '\0') ? cJSON_GetArrayItem(node, (int)i) : NULL;
        } else {
            node = cJSON_GetObjectItemCaseSensitive(node, part);
        }
    }
    return node;
}

kit *kit_start(const char *binary) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
        perror("pipe");
        return NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return NULL;
    }
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execl(binary, binary, "serve", "--json", (char *)NULL);
        perror("exec idjag-testkit");
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    kit *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->pid = pid;
    k->to_kit = fdopen(in[1], "w");
    k->from_kit = fdopen(out[0], "r");
    size_t cap = 0;
    if (!k->to_kit || !k->from_kit || getline(&k->line, &cap, k->from_kit) <= 0) {
        fprintf(stderr, "kit: idjag-testkit printed no JSON line\n");
        kit_stop(k);
        return NULL;
    }
    k->info = cJSON_Parse(k->line);
    if (!k->info) {
        fprintf(stderr, "kit: not JSON: %s\n", k->line);
        kit_stop(k);
        return NULL;
    }
    return k;
}

void kit_stop(kit *k) {
    if (!k) return;
    if (k->to_kit) fclose(k->to_kit);
    if (k->from_kit) fclose(k->from_kit);
    if (k->pid > 0) {
        /* Bounded wait: 20 s, then kill. */
        int status = 0;
        for (int i = 0; i < 200; i++) {
            pid_t r = waitpid(k->pid, &status, WNOHANG);
            if (r == k->pid || (r < 0 && errno != EINTR)) {
                k->pid = 0;
                break;
            }
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (k->pid > 0) {
            kill(k->pid, SIGKILL);
            waitpid(k->pid, &status, 0);
        }
    }
    cJSON_Delete(k->info);
    free(k->line);
    free(k);
}

const char *kit_get(const kit *k, const char *path) {
    const cJSON *n = lookup(k->info, path);
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

struct buf {
    char *data;
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    struct buf *b = ud;
    size_t add = size * n;
    char *d = realloc(b->data, b->len + add + 1);
    if (!d) return 0;
    memcpy(d + b->len, p, add);
    b->len += add;
    d[b->len] = '\0';
    b->data = d;
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
    char **www = ud;
    size_t len = size * n;
    const char *name = "www-authenticate:";
    size_t nl = strlen(name);
    if (len > nl && strncasecmp(p, name, nl) == 0 && *www == NULL) {
        const char *v = p + nl;
        size_t vl = len - nl;
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        char *d = malloc(vl + 1);
        if (d) {
            memcpy(d, v, vl);
            d[vl] = '\0';
            *www = d;
        }
    }
    return len;
}

int http_request(const char *method, const char *url, const char *authorization,
                 const char *body, http_response *out) {
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    if (!c) return -1;
    struct buf b = {NULL, 0};
    struct curl_slist *h = NULL;
    char *auth = NULL;
    h = curl_slist_append(h, "Accept: application/json, text/event-stream");
    if (body) h = curl_slist_append(h, "Content-Type: application/json");
    if (authorization) {
        size_t n = strlen(authorization) + sizeof "Authorization: ";
        auth = malloc(n);
        if (auth) {
            snprintf(auth, n, "Authorization: %s", authorization);
            h = curl_slist_append(h, auth);
        }
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->www_authenticate);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    free(auth);
    curl_easy_cleanup(c);
    out->body = b.data ? b.data : dup_str("");
    if (rc != CURLE_OK) {
        fprintf(stderr, "http: %s %s: %s\n", method, url, curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

void http_response_free(http_response *r) {
    free(r->body);
    free(r->www_authenticate);
    r->body = NULL;
    r->www_authenticate = NULL;
}

char *kit_admin(const kit *k, const char *path, const char *body) {
    const char *base = kit_get(k, "admin_url");
    if (!base) return NULL;
    char url[512];
    snprintf(url, sizeof url, "%s/%s", base, path);
    http_response r;
    if (http_request(body ? "POST" : "GET", url, NULL, body, &r) != 0 || r.status != 200) {
        fprintf(stderr, "kit: admin %s failed (%ld): %s\n", path, r.status, r.body ? r.body : "");
        http_response_free(&r);
        return NULL;
    }
    free(r.www_authenticate);
    return r.body;
}

long kit_requests(const kit *k, const char *endpoint) {
    char *c = kit_admin(k, "counters", NULL);
    if (!c) return -1;
    char path[128];
    snprintf(path, sizeof path, "endpoints.%s.requests", endpoint);
    long n = (long)json_number(c, path, -1);
    free(c);
    return n;
}

void kit_reset(const kit *k) {
    free(kit_admin(k, "reset", "{}"));
    free(kit_admin(k, "clock", "{\"offset_secs\": 0}"));
}

static char *admin_string(const kit *k, const char *path, const char *body, const char *member) {
    char *r = kit_admin(k, path, body);
    if (!r) return NULL;
    char *v = json_string(r, member);
    free(r);
    return v;
}

char *kit_id_token(const kit *k, const char *user) {
    char body[256];
    snprintf(body, sizeof body, "{\"user\": \"%s\"}", user);
    return admin_string(k, "id_token", body, "id_token");
}

char *kit_id_jag(const kit *k, const char *user) {
    char body[256];
    snprintf(body, sizeof body, "{\"user\": \"%s\"}", user);
    return admin_string(k, "id_jag", body, "id_jag");
}

static char *print(cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *kit_session_config(const kit *k, const char *subject_token) {
    cJSON *o = cJSON_CreateObject();
    cJSON *idp = cJSON_AddObjectToObject(o, "idp");
    cJSON_AddStringToObject(idp, "issuer", kit_get(k, "idp_issuer"));
    cJSON_AddStringToObject(idp, "client_id", kit_get(k, "clients.idp.client_id"));
    cJSON_AddStringToObject(idp, "client_secret", kit_get(k, "clients.idp.client_secret"));
    cJSON *as = cJSON_AddObjectToObject(o, "client");
    cJSON_AddStringToObject(as, "client_id", kit_get(k, "clients.as.client_id"));
    cJSON_AddStringToObject(as, "client_secret", kit_get(k, "clients.as.client_secret"));
    /* The default client's shared secret goes only to the listed authorization servers. */
    cJSON *issuers = cJSON_AddArrayToObject(o, "client_issuers");
    cJSON_AddItemToArray(issuers, cJSON_CreateString(kit_get(k, "as_issuer")));
    if (subject_token) cJSON_AddStringToObject(o, "subject_token", subject_token);
    cJSON_AddNumberToObject(o, "timeout_ms", 10000);
    return print(o);
}

char *kit_verifier_config(const kit *k) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "issuer", kit_get(k, "as_issuer"));
    cJSON *res = cJSON_AddArrayToObject(o, "resources");
    cJSON_AddItemToArray(res, cJSON_CreateString(kit_get(k, "mcp_url")));
    cJSON *idps = cJSON_AddArrayToObject(o, "trusted_idps");
    cJSON *idp = cJSON_CreateObject();
    cJSON_AddStringToObject(idp, "issuer", kit_get(k, "idp_issuer"));
    cJSON_AddStringToObject(idp, "jwks_uri", kit_get(k, "idp_jwks_uri"));
    cJSON_AddItemToArray(idps, idp);
    return print(o);
}

char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *d = realloc(data, cap);
            if (!d) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = d;
        }
        size_t n = fread(data + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) break;
    }
    fclose(f);
    data[len] = '\0';
    return data;
}

char *json_string(const char *json, const char *path) {
    cJSON *root = cJSON_Parse(json);
    const cJSON *n = lookup(root, path);
    char *v = cJSON_IsString(n) ? dup_str(n->valuestring) : NULL;
    cJSON_Delete(root);
    return v;
}

double json_number(const char *json, const char *path, double fallback) {
    cJSON *root = cJSON_Parse(json);
    const cJSON *n = lookup(root, path);
    double v = fallback;
    if (cJSON_IsNumber(n)) v = n->valuedouble;
    if (cJSON_IsBool(n)) v = cJSON_IsTrue(n) ? 1 : 0;
    cJSON_Delete(root);
    return v;
}
