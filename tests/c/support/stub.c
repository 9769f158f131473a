/* See stub.h. */
#define _POSIX_C_SOURCE 200809L
#include "stub.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_REQUEST (1024 * 1024)

struct stub {
    int fd;
    int stopping;
    pthread_t thread;
    pthread_mutex_t lock;
    char base[64];
    /* the response */
    long status;
    char *headers;
    char *body;
    size_t body_len;
    /* the requests */
    int count;
    char *method, *path, *req_headers, *req_body;
    char header_value[4096];
};

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

/* Serves one connection: one request, one response. */
static void serve(stub *s, int c) {
    struct timeval tv = {5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char *buf = malloc(MAX_REQUEST + 1);
    if (!buf) return;
    size_t len = 0, head = 0, need = 0;
    for (;;) {
        if (len == MAX_REQUEST) break;
        ssize_t r = recv(c, buf + len, MAX_REQUEST - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
        buf[len] = '\0';
        if (!head) {
            char *end = strstr(buf, "\r\n\r\n");
            if (!end) continue;
            head = (size_t)(end - buf) + 4;
            const char *cl = NULL;
            for (char *l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
                if (strncasecmp(l + 2, "content-length:", 15) == 0) cl = l + 2 + 15;
            need = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
        }
        if (head && len >= head + need) break;
    }
    if (head) {
        char *sp1 = strchr(buf, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        char *eol = strstr(buf, "\r\n");
        pthread_mutex_lock(&s->lock);
        free(s->method);
        free(s->path);
        free(s->req_headers);
        free(s->req_body);
        s->method = sp1 ? dup_n(buf, (size_t)(sp1 - buf)) : NULL;
        s->path = sp2 ? dup_n(sp1 + 1, (size_t)(sp2 - sp1 - 1)) : NULL;
        /* "\r\n" + header lines, so that every header starts after a "\r\n". */
        s->req_headers = eol ? dup_n(eol, head - 2 - (size_t)(eol - buf)) : NULL;
        s->req_body = dup_n(buf + head, len - head < need ? len - head : need);
        s->count++;
        char top[256];
        int n = snprintf(top, sizeof top, "HTTP/1.1 %ld Stub\r\n", s->status);
        char *extra = s->headers ? s->headers : "";
        char tail[128];
        int m = snprintf(tail, sizeof tail, "content-length: %zu\r\nconnection: close\r\n\r\n",
                         s->body_len);
        char *body = s->body_len ? dup_n(s->body, s->body_len) : NULL;
        char *hdrs = strdup(extra);
        size_t body_len = s->body_len;
        pthread_mutex_unlock(&s->lock);
        send_all(c, top, (size_t)n);
        if (hdrs) send_all(c, hdrs, strlen(hdrs));
        send_all(c, tail, (size_t)m);
        if (body) send_all(c, body, body_len);
        free(body);
        free(hdrs);
    }
    free(buf);
}

static void *run(void *arg) {
    stub *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        pthread_mutex_lock(&s->lock);
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->lock);
        if (stopping) {
            if (c >= 0) close(c);
            return NULL;
        }
        if (c < 0) continue;
        serve(s, c);
        shutdown(c, SHUT_RDWR);
        close(c);
    }
}

stub *stub_start(void) {
    stub *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->lock, NULL);
    s->status = 500;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0) {
        perror("stub");
        free(s);
        return NULL;
    }
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", ntohs(a.sin_port));
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        close(s->fd);
        free(s);
        return NULL;
    }
    return s;
}

void stub_stop(stub *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_mutex_unlock(&s->lock);
    /* Wake the accept() with one last connection. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    if (c >= 0) {
        connect(c, (struct sockaddr *)&a, sizeof a);
        close(c);
    }
    pthread_join(s->thread, NULL);
    close(s->fd);
    stub_reset(s, 0, NULL, NULL, 0);
    free(s->headers);
    free(s->body);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *stub_base(const stub *s) { return s->base; }

void stub_reset(stub *s, long status, const char *headers, const char *body, size_t body_len) {
    pthread_mutex_lock(&s->lock);
    free(s->headers);
    free(s->body);
    free(s->method);
    free(s->path);
    free(s->req_headers);
    free(s->req_body);
    s->method = s->path = s->req_headers = s->req_body = NULL;
    s->count = 0;
    s->status = status;
    s->headers = headers ? strdup(headers) : NULL;
    s->body = body_len ? dup_n(body, body_len) : NULL;
    s->body_len = body_len;
    pthread_mutex_unlock(&s->lock);
}

int stub_count(stub *s) {
    pthread_mutex_lock(&s->lock);
    int n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

const char *stub_method(stub *s) { return s->method; }
const char *stub_path(stub *s) { return s->path; }
const char *stub_body(stub *s) { return s->req_body; }

const char *stub_header(stub *s, const char *name) {
    char *value = s->header_value;
    if (!s->req_headers) return NULL;
    size_t nl = strlen(name);
    for (const char *l = strstr(s->req_headers, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ' || *v == '\t') v++;
            const char *e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= sizeof s->header_value) n = sizeof s->header_value - 1;
            memcpy(value, v, n);
            value[n] = '\0';
            return value;
        }
    }
    return NULL;
}
