/*
 * A loopback HTTP stub for replaying the shared client vectors: it records each request
 * (method, path, headers, body) and answers every request with the response set last.
 * One connection at a time, `Connection: close`, bounded reads. POSIX sockets and threads.
 */
#ifndef IDJAG_TEST_STUB_H
#define IDJAG_TEST_STUB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stub stub;

/* Listens on 127.0.0.1 (a free port); NULL on failure. */
stub *stub_start(void);
void stub_stop(stub *s);
/* "http://127.0.0.1:<port>" */
const char *stub_base(const stub *s);
/* Sets the response to every following request and forgets the requests seen so far.
 * `headers` is "name: value\r\n" lines (may be empty); the body is copied. */
void stub_reset(stub *s, long status, const char *headers, const char *body, size_t body_len);
/* Requests seen since the last reset. */
int stub_count(stub *s);
/* The last request seen (valid until the next reset): NULL if none. Header names are matched
 * case-insensitively; NULL when absent. */
const char *stub_method(stub *s);
const char *stub_path(stub *s);
const char *stub_body(stub *s);
const char *stub_header(stub *s, const char *name);

#ifdef __cplusplus
}
#endif

#endif
