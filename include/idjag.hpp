/*
 * idjag.hpp: header-only C++17 RAII wrappers over the C API of idjag (idjag.h).
 *
 *   idjag::Session session(config_json);                 // throws idjag::Error
 *   idjag::Token token = session.access_token(server_url);
 *   request.set_header("Authorization", token.authorization());
 *   // on a 401/403:
 *   token = session.handle_challenge(server_url, status, www_authenticate, token.access_token());
 *
 *   idjag::Verifier verifier(config_json);              // authorization-server side
 *   std::string grant_json = verifier.verify(assertion, client_id);
 *
 * Every failure throws idjag::Error (a std::runtime_error) carrying the same code, step and
 * action as every other idjag language. Handles are move-only and freed by their destructor.
 * Session and Verifier may be shared by any number of threads (const member functions);
 * Token and Error are immutable. Written by hand (not generated); see docs/C.md.
 */
#ifndef IDJAG_HPP
#define IDJAG_HPP

#include "idjag.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace idjag {

/* An idjag failure: `code()` is the stable snake_case code shared by every idjag language
 * (`configuration`, `transport`, `reauthentication_required`, ...), `result()` the C result
 * (which also tells the C-only results apart), `step()` the protocol step that failed and
 * `action()` what to do (`reauthenticate`, `reconfigure`, `retry`, `denied`). `what()` is a
 * message safe to log: it never contains a token or a secret. Copies share the error object. */
class Error : public std::runtime_error {
  public:
    /* Takes ownership of `e` (may be NULL when the library could not allocate it). */
    Error(idjag_result result, idjag_error *e)
        : std::runtime_error(message_of(result, e)),
          result_(result),
          e_(e, &idjag_error_free) {}

    idjag_result result() const noexcept { return result_; }
    /* The error code, e.g. "configuration". */
    std::string_view code() const noexcept {
        const char *c = idjag_error_code(e_.get());
        return view(c ? c : idjag_result_code(result_));
    }
    std::string_view step() const noexcept { return view(idjag_error_step(e_.get())); }
    std::string_view action() const noexcept { return view(idjag_error_action(e_.get())); }
    /* The server's OAuth `error` (e.g. "invalid_grant"), if any. */
    std::optional<std::string_view> oauth_error() const noexcept {
        return opt(idjag_error_oauth_error(e_.get()));
    }
    std::optional<std::string_view> error_description() const noexcept {
        return opt(idjag_error_description(e_.get()));
    }
    std::optional<std::string_view> error_uri() const noexcept {
        return opt(idjag_error_uri(e_.get()));
    }
    /* The HTTP status of the response that caused the error, 0 if none. */
    std::uint16_t status() const noexcept { return idjag_error_status(e_.get()); }
    /* The verifier's rejection reason (e.g. "replayed"), if any. */
    std::optional<std::string_view> reason() const noexcept {
        return opt(idjag_error_reason(e_.get()));
    }
    /* The whole error as JSON. */
    std::string_view json() const noexcept { return view(idjag_error_json(e_.get())); }
    /* The token endpoint's answer for a verifier error: {HTTP status, JSON body}. */
    std::pair<std::uint16_t, std::string> token_response() const;
    /* The underlying C error (owned by this object), or NULL. */
    const idjag_error *get() const noexcept { return e_.get(); }

  private:
    static std::string message_of(idjag_result r, const idjag_error *e) {
        const char *m = idjag_error_message(e);
        if (m) return m;
        const char *c = idjag_result_code(r);
        return std::string("idjag: ") + (c ? c : "unknown error");
    }
    static std::string_view view(const char *s) noexcept {
        return s ? std::string_view(s) : std::string_view();
    }
    static std::optional<std::string_view> opt(const char *s) noexcept {
        return s ? std::optional<std::string_view>(s) : std::nullopt;
    }

    idjag_result result_;
    std::shared_ptr<idjag_error> e_;
};

namespace detail {

/* Throws an Error for a failed call: `check(idjag_f(..., &e), &e)`. It takes the address of
 * the error pointer, read only once the call has returned (the order in which function
 * arguments are evaluated is unspecified). */
inline void check(idjag_result r, idjag_error *const *e) {
    if (r != IDJAG_OK) throw Error(r, *e);
    idjag_error_free(*e); /* never set on success; freeing NULL is a no-op */
}

inline const char *c_str_or_null(const std::optional<std::string> &s) noexcept {
    return s ? s->c_str() : nullptr;
}

/* Takes a JSON document, returns its text. */
inline std::string take_json(idjag_json *j) {
    std::unique_ptr<idjag_json, decltype(&idjag_json_free)> owned(j, &idjag_json_free);
    const char *s = idjag_json_str(j);
    return s ? std::string(s) : std::string();
}

}  // namespace detail

inline std::pair<std::uint16_t, std::string> Error::token_response() const {
    std::uint16_t status = 0;
    idjag_json *body = nullptr;
    idjag_error *err = nullptr;
    detail::check(idjag_error_token_response(e_.get(), &status, &body, &err), &err);
    return {status, detail::take_json(body)};
}

/* An access token for one MCP server. Move-only; its secret is zeroized when destroyed.
 * The string views stay valid as long as the Token. */
class Token {
  public:
    explicit Token(idjag_token *t) noexcept : t_(t) {}
    Token(Token &&o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    Token &operator=(Token &&o) noexcept {
        if (this != &o) {
            idjag_token_free(t_);
            t_ = std::exchange(o.t_, nullptr);
        }
        return *this;
    }
    Token(const Token &) = delete;
    Token &operator=(const Token &) = delete;
    ~Token() { idjag_token_free(t_); }

    /* The bare access token (a secret: never log it). */
    std::string_view access_token() const noexcept { return view(idjag_token_access_token(t_)); }
    /* The Authorization header value, "Bearer <token>" (a secret). */
    std::string_view authorization() const noexcept {
        return view(idjag_token_authorization(t_));
    }
    /* Expiry, Unix seconds. */
    std::int64_t expires_at() const noexcept { return idjag_token_expires_at(t_); }
    std::optional<std::string_view> scope() const noexcept {
        const char *s = idjag_token_scope(t_);
        return s ? std::optional<std::string_view>(s) : std::nullopt;
    }
    std::string_view resource() const noexcept { return view(idjag_token_resource(t_)); }
    std::string_view authorization_server() const noexcept {
        return view(idjag_token_authorization_server(t_));
    }
    /* The non-secret fields as JSON. */
    std::string_view json() const noexcept { return view(idjag_token_json(t_)); }
    const idjag_token *get() const noexcept { return t_; }

  private:
    static std::string_view view(const char *s) noexcept {
        return s ? std::string_view(s) : std::string_view();
    }
    idjag_token *t_;
};

/* The MCP client of one signed-in user (see idjag_session_new for the configuration). Safe to
 * share between threads; move-only. */
class Session {
  public:
    /* Receives each HTTP exchange ({"type": "http", ...}) and each notice ({"type":
     * "notice", "kind": ...}) of the session as JSON (see idjag_event_callback). It runs
     * on the thread that made the call, may call back into the session, and must be safe to
     * call from any thread. Exceptions it throws are caught and dropped. */
    using EventCallback = std::function<void(std::string_view event_json)>;

    explicit Session(const std::string &config_json, EventCallback on_event = {})
        : cb_(on_event ? std::make_unique<EventCallback>(std::move(on_event)) : nullptr) {
        idjag_error *e = nullptr;
        idjag_session *s = nullptr;
        detail::check(idjag_session_new(config_json.c_str(), cb_ ? &Session::trampoline : nullptr,
                                        cb_.get(), &s, &e),
                      &e);
        s_ = s;
    }
    Session(Session &&o) noexcept : cb_(std::move(o.cb_)), s_(std::exchange(o.s_, nullptr)) {}
    Session &operator=(Session &&o) noexcept {
        if (this != &o) {
            idjag_session_free(s_); /* no callback runs after this returns */
            s_ = std::exchange(o.s_, nullptr);
            cb_ = std::move(o.cb_);
        }
        return *this;
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    /* Frees the session first (after which its callback never runs), then the callback. */
    ~Session() { idjag_session_free(s_); }

    /* An access token for `server_url` (cached, renewed, single-flight). */
    Token access_token(const std::string &server_url) const {
        idjag_error *e = nullptr;
        idjag_token *t = nullptr;
        detail::check(idjag_session_access_token(s_, server_url.c_str(), &t, &e), &e);
        return Token(t);
    }

    /* The token access_token() would return without any I/O, or nothing. */
    std::optional<Token> cached_token(const std::string &server_url) const {
        idjag_error *e = nullptr;
        idjag_token *t = nullptr;
        detail::check(idjag_session_cached_token(s_, server_url.c_str(), &t, &e), &e);
        if (!t) return std::nullopt;
        return Token(t);
    }

    /* The token to retry with after a 401/403 (pass the WWW-Authenticate value and the token
     * that was rejected, when known). */
    Token handle_challenge(const std::string &server_url, std::uint16_t status,
                           const std::optional<std::string> &www_authenticate,
                           const std::optional<std::string> &rejected_token = std::nullopt) const {
        idjag_error *e = nullptr;
        idjag_token *t = nullptr;
        detail::check(idjag_session_handle_challenge(s_, server_url.c_str(), status,
                                                     detail::c_str_or_null(www_authenticate),
                                                     detail::c_str_or_null(rejected_token), &t, &e),
                      &e);
        return Token(t);
    }

    /* Replaces the user's identity assertion (type "id_token", "saml2" or "refresh_token"). */
    void set_subject_token(const std::string &token, const std::string &token_type = "id_token",
                           const std::optional<std::string> &refresh_token = std::nullopt) const {
        idjag_error *e = nullptr;
        detail::check(idjag_session_set_subject_token(s_, token.c_str(), token_type.c_str(),
                                                      detail::c_str_or_null(refresh_token), &e),
                      &e);
    }

    /* Drops the cached tokens and discovery of `server_url`. */
    void invalidate(const std::string &server_url) const {
        idjag_error *e = nullptr;
        detail::check(idjag_session_invalidate(s_, server_url.c_str(), &e), &e);
    }

    /* Discovery for `server_url`, as JSON. */
    std::string discover(const std::string &server_url) const {
        idjag_error *e = nullptr;
        idjag_json *j = nullptr;
        detail::check(idjag_session_discover(s_, server_url.c_str(), &j, &e), &e);
        return detail::take_json(j);
    }

    const idjag_session *get() const noexcept { return s_; }

  private:
    static void trampoline(void *userdata, const char *event_json) noexcept {
        try {
            (*static_cast<EventCallback *>(userdata))(event_json);
        } catch (...) {
            /* An exception must not cross into C: dropped. */
        }
    }

    std::unique_ptr<EventCallback> cb_;
    idjag_session *s_ = nullptr;
};

/* Verifies ID-JAGs for one authorization server (see idjag_verifier_new for the
 * configuration). Safe to share between threads; move-only. */
class Verifier {
  public:
    explicit Verifier(const std::string &config_json) {
        idjag_error *e = nullptr;
        detail::check(idjag_verifier_new(config_json.c_str(), &v_, &e), &e);
    }
    /* A verifier whose clock is frozen at `unix_secs`, for replaying test vectors only
     * (it accepts expired ID-JAGs forever: never in production). */
    static Verifier insecure_fixed_clock(const std::string &config_json, std::int64_t unix_secs) {
        idjag_error *e = nullptr;
        idjag_verifier *v = nullptr;
        detail::check(idjag_verifier_new_insecure_fixed_clock(config_json.c_str(), unix_secs, &v, &e),
                      &e);
        return Verifier(v);
    }
    Verifier(Verifier &&o) noexcept : v_(std::exchange(o.v_, nullptr)) {}
    Verifier &operator=(Verifier &&o) noexcept {
        if (this != &o) {
            idjag_verifier_free(v_);
            v_ = std::exchange(o.v_, nullptr);
        }
        return *this;
    }
    Verifier(const Verifier &) = delete;
    Verifier &operator=(const Verifier &) = delete;
    ~Verifier() { idjag_verifier_free(v_); }

    /* Verifies a jwt-bearer `assertion` presented by the authenticated `client_id`; returns
     * the grant as JSON. A rejection throws an Error with code "verification_failed" and a
     * reason(); use Error::token_response() for the answer to send. */
    std::string verify(const std::string &assertion, const std::string &client_id,
                       const std::optional<std::string> &scope = std::nullopt) const {
        idjag_error *e = nullptr;
        idjag_json *g = nullptr;
        detail::check(idjag_verifier_verify(v_, assertion.c_str(), client_id.c_str(),
                                            detail::c_str_or_null(scope), &g, &e),
                      &e);
        return detail::take_json(g);
    }

    /* Fetches the trusted IdPs' keys now (start-up warm-up). */
    void prefetch_keys() const {
        idjag_error *e = nullptr;
        detail::check(idjag_verifier_prefetch_keys(v_, &e), &e);
    }

    std::string_view issuer() const noexcept {
        const char *s = idjag_verifier_issuer(v_);
        return s ? std::string_view(s) : std::string_view();
    }

    const idjag_verifier *get() const noexcept { return v_; }

  private:
    explicit Verifier(idjag_verifier *v) noexcept : v_(v) {}
    idjag_verifier *v_ = nullptr;
};

/* Decodes a JWT without verifying it (diagnostics only); returns JSON. */
inline std::string inspect(const std::string &jwt) {
    idjag_error *e = nullptr;
    idjag_json *j = nullptr;
    detail::check(idjag_inspect(jwt.c_str(), &j, &e), &e);
    return detail::take_json(j);
}

/* Parses a WWW-Authenticate value; returns JSON. */
inline std::string parse_www_authenticate(const std::string &header) {
    idjag_error *e = nullptr;
    idjag_json *j = nullptr;
    detail::check(idjag_parse_www_authenticate(header.c_str(), &j, &e), &e);
    return detail::take_json(j);
}

/* The version of the loaded library (compare with IDJAG_VERSION). */
inline std::string_view version() noexcept { return idjag_version(); }

}  // namespace idjag

#endif
