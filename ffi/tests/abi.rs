//! The C boundary itself, without a network: NULL for every pointer argument, `_free(NULL)`,
//! outputs untouched on error, invalid UTF-8, `err` NULL everywhere, error fields, the
//! header's version macros.
#![allow(clippy::undocumented_unsafe_blocks)]

mod common;

use common::*;
use idjag_ffi::*;
use idjag_result::*;
use std::ptr::{null, null_mut};

/// Checks a call failed with `IDJAG_NULL_PARAMETER` naming `arg`, and resets `e`.
fn expect_null(r: idjag_result, e: &mut Error, arg: &str) {
    assert_eq!(r, IDJAG_NULL_PARAMETER, "{arg}");
    assert!(e.is_set(), "{arg}: an error object");
    assert_eq!(e.result(), IDJAG_NULL_PARAMETER);
    assert_eq!(e.code().as_deref(), Some("invalid_argument"));
    assert_eq!(e.step().as_deref(), Some("config"));
    let msg = e.message().expect("message");
    assert!(msg.contains(&format!("`{arg}`")), "{msg}");
    assert_eq!(e.json()["code"], "invalid_argument");
    e.clear();
}

fn expect_utf8(r: idjag_result, e: &mut Error, arg: &str) {
    assert_eq!(r, IDJAG_INVALID_UTF8, "{arg}");
    assert_eq!(e.result(), IDJAG_INVALID_UTF8);
    assert_eq!(e.code().as_deref(), Some("invalid_argument"));
    assert!(e.message().expect("message").contains(&format!("`{arg}`")));
    e.clear();
}

const CONFIG: &str = r#"{"idp": {"token_endpoint": "http://127.0.0.1:9/token", "client_id": "c"},
    "subject_token": "t", "client": {"client_id": "x", "client_secret": "y"},
    "client_issuers": ["http://127.0.0.1:9"]}"#;

fn session() -> *mut idjag_session {
    let mut s = null_mut();
    let r = unsafe { idjag_session_new(cs(CONFIG).as_ptr(), None, null_mut(), &mut s, null_mut()) };
    assert_eq!(r, IDJAG_OK);
    assert!(!s.is_null());
    s
}

const VERIFIER: &str = r#"{"issuer": "https://as.example", "resources": ["https://mcp.example/mcp"],
    "trusted_idps": [{"issuer": "https://idp.example", "jwks_uri": "https://idp.example/jwks"}]}"#;

fn verifier() -> *mut idjag_verifier {
    let mut v = null_mut();
    let r = unsafe { idjag_verifier_new(cs(VERIFIER).as_ptr(), &mut v, null_mut()) };
    assert_eq!(r, IDJAG_OK);
    v
}

#[test]
fn free_accepts_null() {
    unsafe {
        idjag_session_free(null_mut());
        idjag_verifier_free(null_mut());
        idjag_token_free(null_mut());
        idjag_error_free(null_mut());
        idjag_json_free(null_mut());
        idjag_client_free(null_mut());
    }
}

#[test]
fn accessors_answer_null_or_zero_for_null() {
    unsafe {
        assert!(idjag_token_access_token(null()).is_null());
        assert!(idjag_token_authorization(null()).is_null());
        assert!(idjag_token_scope(null()).is_null());
        assert!(idjag_token_resource(null()).is_null());
        assert!(idjag_token_authorization_server(null()).is_null());
        assert!(idjag_token_json(null()).is_null());
        assert_eq!(idjag_token_expires_at(null()), 0);
        assert!(idjag_error_code(null()).is_null());
        assert!(idjag_error_message(null()).is_null());
        assert!(idjag_error_step(null()).is_null());
        assert!(idjag_error_action(null()).is_null());
        assert!(idjag_error_oauth_error(null()).is_null());
        assert!(idjag_error_description(null()).is_null());
        assert!(idjag_error_uri(null()).is_null());
        assert!(idjag_error_reason(null()).is_null());
        assert!(idjag_error_json(null()).is_null());
        assert_eq!(idjag_error_status(null()), 0);
        assert_eq!(idjag_error_result(null()), IDJAG_NULL_PARAMETER);
        assert!(idjag_json_str(null()).is_null());
        assert!(idjag_verifier_issuer(null()).is_null());
    }
}

#[test]
fn session_functions_check_every_pointer() {
    let s = session();
    let url = cs("http://127.0.0.1:9/mcp");
    let mut e = Error::none();
    let mut tok: *mut idjag_token = sentinel();
    let mut doc: *mut idjag_json = sentinel();
    let mut out_s: *mut idjag_session = sentinel();
    unsafe {
        expect_null(
            idjag_session_new(null(), None, null_mut(), &mut out_s, e.out()),
            &mut e,
            "config_json",
        );
        expect_null(
            idjag_session_new(cs(CONFIG).as_ptr(), None, null_mut(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        assert_eq!(out_s, sentinel());

        expect_null(
            idjag_session_access_token(null(), url.as_ptr(), &mut tok, e.out()),
            &mut e,
            "s",
        );
        expect_null(
            idjag_session_access_token(s, null(), &mut tok, e.out()),
            &mut e,
            "server_url",
        );
        expect_null(
            idjag_session_access_token(s, url.as_ptr(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        expect_null(
            idjag_session_cached_token(null(), url.as_ptr(), &mut tok, e.out()),
            &mut e,
            "s",
        );
        expect_null(
            idjag_session_cached_token(s, null(), &mut tok, e.out()),
            &mut e,
            "server_url",
        );
        expect_null(
            idjag_session_cached_token(s, url.as_ptr(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        let h = cs("Bearer error=\"invalid_token\"");
        expect_null(
            idjag_session_handle_challenge(
                null(),
                url.as_ptr(),
                401,
                h.as_ptr(),
                null(),
                &mut tok,
                e.out(),
            ),
            &mut e,
            "s",
        );
        expect_null(
            idjag_session_handle_challenge(s, null(), 401, h.as_ptr(), null(), &mut tok, e.out()),
            &mut e,
            "server_url",
        );
        expect_null(
            idjag_session_handle_challenge(
                s,
                url.as_ptr(),
                401,
                h.as_ptr(),
                null(),
                null_mut(),
                e.out(),
            ),
            &mut e,
            "out",
        );
        let t = cs("tok");
        expect_null(
            idjag_session_set_subject_token(null(), t.as_ptr(), null(), null(), e.out()),
            &mut e,
            "s",
        );
        expect_null(
            idjag_session_set_subject_token(s, null(), null(), null(), e.out()),
            &mut e,
            "token",
        );
        expect_null(
            idjag_session_invalidate(null(), url.as_ptr(), e.out()),
            &mut e,
            "s",
        );
        expect_null(
            idjag_session_invalidate(s, null(), e.out()),
            &mut e,
            "server_url",
        );
        expect_null(
            idjag_session_discover(null(), url.as_ptr(), &mut doc, e.out()),
            &mut e,
            "s",
        );
        expect_null(
            idjag_session_discover(s, null(), &mut doc, e.out()),
            &mut e,
            "server_url",
        );
        expect_null(
            idjag_session_discover(s, url.as_ptr(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        assert_eq!(tok, sentinel(), "outputs untouched on error");
        assert_eq!(doc, sentinel(), "outputs untouched on error");
        idjag_session_free(s);
    }
}

#[test]
fn verifier_and_diagnostics_check_every_pointer() {
    let v = verifier();
    let mut e = Error::none();
    let mut doc: *mut idjag_json = sentinel();
    let mut out_v: *mut idjag_verifier = sentinel();
    let (a, c) = (cs("a.b.c"), cs("client"));
    unsafe {
        expect_null(
            idjag_verifier_new(null(), &mut out_v, e.out()),
            &mut e,
            "config_json",
        );
        expect_null(
            idjag_verifier_new(cs(VERIFIER).as_ptr(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        expect_null(
            idjag_verifier_new_insecure_fixed_clock(null(), 1, &mut out_v, e.out()),
            &mut e,
            "config_json",
        );
        assert_eq!(out_v, sentinel());
        expect_null(
            idjag_verifier_verify(null(), a.as_ptr(), c.as_ptr(), null(), &mut doc, e.out()),
            &mut e,
            "v",
        );
        expect_null(
            idjag_verifier_verify(v, null(), c.as_ptr(), null(), &mut doc, e.out()),
            &mut e,
            "assertion",
        );
        expect_null(
            idjag_verifier_verify(v, a.as_ptr(), null(), null(), &mut doc, e.out()),
            &mut e,
            "client_id",
        );
        expect_null(
            idjag_verifier_verify(v, a.as_ptr(), c.as_ptr(), null(), null_mut(), e.out()),
            &mut e,
            "grant_out",
        );
        expect_null(idjag_verifier_prefetch_keys(null(), e.out()), &mut e, "v");
        expect_null(idjag_inspect(null(), &mut doc, e.out()), &mut e, "jwt");
        expect_null(
            idjag_inspect(a.as_ptr(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        expect_null(
            idjag_parse_www_authenticate(null(), &mut doc, e.out()),
            &mut e,
            "header",
        );
        expect_null(
            idjag_parse_www_authenticate(a.as_ptr(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        let mut status: u16 = 7;
        expect_null(
            idjag_error_token_response(null(), &mut status, &mut doc, e.out()),
            &mut e,
            "e",
        );
        // An error to ask about.
        let mut src = Error::none();
        let r = idjag_verifier_verify(v, a.as_ptr(), c.as_ptr(), null(), &mut doc, src.out());
        assert_eq!(r, IDJAG_VERIFICATION_FAILED);
        expect_null(
            idjag_error_token_response(src.0, null_mut(), &mut doc, e.out()),
            &mut e,
            "status_out",
        );
        expect_null(
            idjag_error_token_response(src.0, &mut status, null_mut(), e.out()),
            &mut e,
            "body_out",
        );
        assert_eq!(status, 7);
        assert_eq!(doc, sentinel(), "outputs untouched on error");
        idjag_verifier_free(v);
    }
}

#[test]
fn client_functions_check_every_pointer_and_string() {
    let mut e = Error::none();
    let mut c: *mut idjag_client = sentinel();
    let mut doc: *mut idjag_json = sentinel();
    let bad = not_utf8();
    let req = cs("{}");
    unsafe {
        expect_null(idjag_client_new(null(), null_mut(), e.out()), &mut e, "out");
        expect_null(
            idjag_client_new_insecure_fixed_clock(null(), 1, null_mut(), e.out()),
            &mut e,
            "out",
        );
        expect_utf8(
            idjag_client_new(bad.as_ptr(), &mut c, e.out()),
            &mut e,
            "options_json",
        );
        assert_eq!(c, sentinel());
        let r = idjag_client_new(cs(r#"{"timeout_ms": 0}"#).as_ptr(), &mut c, e.out());
        assert_eq!(r, IDJAG_CONFIGURATION);
        e.clear();
        // The options are the core's HTTP settings (HttpConfig::from_json): every error of
        // theirs is a configuration error naming the key.
        let r = idjag_client_new(cs(r#"{"colour": 1}"#).as_ptr(), &mut c, e.out());
        assert_eq!(r, IDJAG_CONFIGURATION);
        assert!(e.message().expect("message").contains("colour"));
        e.clear();
        let r = idjag_client_new(
            cs(r#"{"proxy": "ftp://planted:pw@proxy"}"#).as_ptr(),
            &mut c,
            e.out(),
        );
        assert_eq!(r, IDJAG_CONFIGURATION);
        assert!(e.message().expect("message").contains("proxy"));
        assert!(!format!("{:?} {}", e.message(), e.json()).contains("planted"));
        e.clear();
        assert_eq!(c, sentinel());
        assert_eq!(idjag_client_new(null(), &mut c, e.out()), IDJAG_OK);
        expect_null(
            idjag_client_request_id_jag(null(), req.as_ptr(), &mut doc, e.out()),
            &mut e,
            "c",
        );
        expect_null(
            idjag_client_request_id_jag(c, null(), &mut doc, e.out()),
            &mut e,
            "request_json",
        );
        expect_null(
            idjag_client_request_id_jag(c, req.as_ptr(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        expect_utf8(
            idjag_client_request_id_jag(c, bad.as_ptr(), &mut doc, e.out()),
            &mut e,
            "request_json",
        );
        expect_null(
            idjag_client_redeem_id_jag(null(), req.as_ptr(), &mut doc, e.out()),
            &mut e,
            "c",
        );
        expect_null(
            idjag_client_redeem_id_jag(c, null(), &mut doc, e.out()),
            &mut e,
            "request_json",
        );
        expect_null(
            idjag_client_redeem_id_jag(c, req.as_ptr(), null_mut(), e.out()),
            &mut e,
            "out",
        );
        expect_utf8(
            idjag_client_redeem_id_jag(c, bad.as_ptr(), &mut doc, e.out()),
            &mut e,
            "request_json",
        );
        // A request missing members, or echoing a secret in a bad member: keys, never values.
        let r = idjag_client_redeem_id_jag(c, cs(r#"{"token_endpoint": "http://127.0.0.1:9/t", "assertion": "planted-assertion", "client": {"client_id": "x", "client_secret": 7}}"#).as_ptr(), &mut doc, e.out());
        assert_eq!(r, IDJAG_INVALID_ARGUMENT);
        assert_eq!(e.step().as_deref(), Some("as_grant"));
        assert!(!format!("{:?} {}", e.message(), e.json()).contains("planted"));
        e.clear();
        let r = idjag_client_request_id_jag(
            c,
            cs(r#"{"token_endpoint": "x", "audience": "a", "client": {"client_id": "x"}}"#)
                .as_ptr(),
            &mut doc,
            e.out(),
        );
        assert_eq!(r, IDJAG_INVALID_ARGUMENT);
        assert!(e.message().expect("message").contains("subject_token"));
        assert_eq!(doc, sentinel());
        idjag_client_free(c);
    }
}

#[test]
fn invalid_utf8_is_refused_for_every_string() {
    let s = session();
    let v = verifier();
    let bad = not_utf8();
    let good = cs("http://127.0.0.1:9/mcp");
    let mut e = Error::none();
    let mut tok: *mut idjag_token = sentinel();
    let mut doc: *mut idjag_json = sentinel();
    let mut out_s: *mut idjag_session = sentinel();
    let mut out_v: *mut idjag_verifier = sentinel();
    unsafe {
        expect_utf8(
            idjag_session_new(bad.as_ptr(), None, null_mut(), &mut out_s, e.out()),
            &mut e,
            "config_json",
        );
        expect_utf8(
            idjag_session_access_token(s, bad.as_ptr(), &mut tok, e.out()),
            &mut e,
            "server_url",
        );
        expect_utf8(
            idjag_session_cached_token(s, bad.as_ptr(), &mut tok, e.out()),
            &mut e,
            "server_url",
        );
        expect_utf8(
            idjag_session_handle_challenge(s, bad.as_ptr(), 401, null(), null(), &mut tok, e.out()),
            &mut e,
            "server_url",
        );
        expect_utf8(
            idjag_session_handle_challenge(
                s,
                good.as_ptr(),
                401,
                bad.as_ptr(),
                null(),
                &mut tok,
                e.out(),
            ),
            &mut e,
            "www_authenticate",
        );
        expect_utf8(
            idjag_session_handle_challenge(
                s,
                good.as_ptr(),
                401,
                null(),
                bad.as_ptr(),
                &mut tok,
                e.out(),
            ),
            &mut e,
            "rejected_token",
        );
        expect_utf8(
            idjag_session_set_subject_token(s, bad.as_ptr(), null(), null(), e.out()),
            &mut e,
            "token",
        );
        expect_utf8(
            idjag_session_set_subject_token(s, good.as_ptr(), bad.as_ptr(), null(), e.out()),
            &mut e,
            "token_type",
        );
        expect_utf8(
            idjag_session_set_subject_token(s, good.as_ptr(), null(), bad.as_ptr(), e.out()),
            &mut e,
            "refresh_token",
        );
        expect_utf8(
            idjag_session_invalidate(s, bad.as_ptr(), e.out()),
            &mut e,
            "server_url",
        );
        expect_utf8(
            idjag_session_discover(s, bad.as_ptr(), &mut doc, e.out()),
            &mut e,
            "server_url",
        );
        expect_utf8(
            idjag_verifier_new(bad.as_ptr(), &mut out_v, e.out()),
            &mut e,
            "config_json",
        );
        expect_utf8(
            idjag_verifier_verify(v, bad.as_ptr(), good.as_ptr(), null(), &mut doc, e.out()),
            &mut e,
            "assertion",
        );
        expect_utf8(
            idjag_verifier_verify(v, good.as_ptr(), bad.as_ptr(), null(), &mut doc, e.out()),
            &mut e,
            "client_id",
        );
        expect_utf8(
            idjag_verifier_verify(
                v,
                good.as_ptr(),
                good.as_ptr(),
                bad.as_ptr(),
                &mut doc,
                e.out(),
            ),
            &mut e,
            "scope",
        );
        expect_utf8(
            idjag_inspect(bad.as_ptr(), &mut doc, e.out()),
            &mut e,
            "jwt",
        );
        expect_utf8(
            idjag_parse_www_authenticate(bad.as_ptr(), &mut doc, e.out()),
            &mut e,
            "header",
        );
        assert_eq!(tok, sentinel());
        assert_eq!(doc, sentinel());
        assert_eq!(out_s, sentinel());
        assert_eq!(out_v, sentinel());
        idjag_session_free(s);
        idjag_verifier_free(v);
    }
}

#[test]
fn err_may_be_null_everywhere() {
    let s = session();
    let mut tok: *mut idjag_token = sentinel();
    unsafe {
        assert_eq!(
            idjag_session_access_token(s, null(), &mut tok, null_mut()),
            IDJAG_NULL_PARAMETER
        );
        let bad = cs("{");
        let mut out: *mut idjag_session = sentinel();
        assert_eq!(
            idjag_session_new(bad.as_ptr(), None, null_mut(), &mut out, null_mut()),
            IDJAG_CONFIGURATION
        );
        assert_eq!(out, sentinel());
        assert_eq!(tok, sentinel());
        idjag_session_free(s);
    }
}

#[test]
fn bad_configuration_names_the_key_and_never_a_value() {
    let mut e = Error::none();
    let mut out: *mut idjag_session = sentinel();
    let cfg = cs(
        r#"{"idp": {"issuer": "https://idp.example", "client_id": "c", "client_secret": "planted-secret"},
        "subject_token": "planted-token", "colour": "blue"}"#,
    );
    let r = unsafe { idjag_session_new(cfg.as_ptr(), None, null_mut(), &mut out, e.out()) };
    assert_eq!(r, IDJAG_CONFIGURATION);
    assert_eq!(out, sentinel());
    assert_eq!(e.result(), IDJAG_CONFIGURATION);
    assert_eq!(e.code().as_deref(), Some("configuration"));
    assert_eq!(e.step().as_deref(), Some("config"));
    assert_eq!(e.action().as_deref(), Some("reconfigure"));
    assert_eq!(e.status(), 0);
    assert_eq!(e.oauth_error(), None);
    assert_eq!(e.reason(), None);
    let msg = e.message().expect("message");
    assert!(msg.contains("colour"), "{msg}");
    let j = e.json();
    assert_eq!(j["number"], IDJAG_CONFIGURATION as u32);
    for k in [
        "code",
        "number",
        "step",
        "action",
        "message",
        "status",
        "oauth_error",
        "error_description",
        "error_uri",
        "reason",
    ] {
        assert!(j.get(k).is_some(), "{k} in {j}");
    }
    let shown = format!("{msg} {j}");
    assert!(!shown.contains("planted"), "{shown}");

    let mut v: *mut idjag_verifier = sentinel();
    let mut e = Error::none();
    let r = unsafe { idjag_verifier_new(cs(r#"{"issuer": "x"}"#).as_ptr(), &mut v, e.out()) };
    assert_eq!(r, IDJAG_CONFIGURATION);
    assert_eq!(v, sentinel());
    assert_eq!(e.code().as_deref(), Some("configuration"));
}

#[test]
fn subject_token_type_is_checked() {
    let s = session();
    let mut e = Error::none();
    unsafe {
        let r = idjag_session_set_subject_token(
            s,
            cs("tok").as_ptr(),
            cs("password").as_ptr(),
            null(),
            e.out(),
        );
        assert_eq!(r, IDJAG_INVALID_ARGUMENT);
        assert_eq!(e.code().as_deref(), Some("invalid_argument"));
        e.clear();
        let r = idjag_session_set_subject_token(s, cs("").as_ptr(), null(), null(), e.out());
        assert_eq!(r, IDJAG_INVALID_ARGUMENT);
        e.clear();
        for t in [
            "id_token",
            "saml2",
            "refresh_token",
            "urn:ietf:params:oauth:token-type:id_token",
        ] {
            assert_eq!(
                idjag_session_set_subject_token(
                    s,
                    cs("tok").as_ptr(),
                    cs(t).as_ptr(),
                    null(),
                    e.out()
                ),
                IDJAG_OK,
                "{t}"
            );
        }
        assert!(!e.is_set(), "err untouched on success");
        assert_eq!(
            idjag_session_invalidate(s, cs("https://unknown.example/mcp").as_ptr(), e.out()),
            IDJAG_OK
        );
        idjag_session_free(s);
    }
}

#[test]
fn unknown_server_has_no_cached_token() {
    let s = session();
    let mut tok: *mut idjag_token = sentinel();
    let r = unsafe {
        idjag_session_cached_token(
            s,
            cs("http://127.0.0.1:9/mcp").as_ptr(),
            &mut tok,
            null_mut(),
        )
    };
    assert_eq!(r, IDJAG_OK);
    assert!(tok.is_null(), "NULL written when there is no token");
    unsafe { idjag_session_free(s) };
}

#[test]
fn challenge_status_must_be_401_or_403() {
    let s = session();
    let mut e = Error::none();
    let mut tok: *mut idjag_token = sentinel();
    let r = unsafe {
        idjag_session_handle_challenge(
            s,
            cs("http://127.0.0.1:9/mcp").as_ptr(),
            500,
            null(),
            null(),
            &mut tok,
            e.out(),
        )
    };
    assert_eq!(r, IDJAG_INVALID_ARGUMENT);
    assert_eq!(tok, sentinel());
    unsafe { idjag_session_free(s) };
}

#[test]
fn inspect_and_challenge_parsing() {
    use base64::Engine as _;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let jwt = format!(
        "{}.{}.sig",
        b64(&serde_json::json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"})),
        b64(&serde_json::json!({"iss": "https://idp.example", "sub": "u", "exp": 1, "jti": "j"}))
    );
    let mut doc = null_mut();
    let mut e = Error::none();
    assert_eq!(
        unsafe { idjag_inspect(cs(&jwt).as_ptr(), &mut doc, e.out()) },
        IDJAG_OK
    );
    let v = take_json(doc);
    assert_eq!(v["kind"], "id_jag");
    assert_eq!(v["claims"]["sub"], "u");
    assert_eq!(v["expired"], true);
    assert!(!v.to_string().contains("sig"), "no signature in {v}");

    let mut doc: *mut idjag_json = sentinel();
    assert_eq!(
        unsafe { idjag_inspect(cs("not a jwt").as_ptr(), &mut doc, e.out()) },
        IDJAG_INVALID_ARGUMENT
    );
    assert_eq!(doc, sentinel());
    assert_eq!(e.code().as_deref(), Some("invalid_argument"));

    let mut doc = null_mut();
    let h = cs(
        r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource""#,
    );
    assert_eq!(
        unsafe { idjag_parse_www_authenticate(h.as_ptr(), &mut doc, null_mut()) },
        IDJAG_OK
    );
    let v = take_json(doc);
    assert_eq!(v["error"], "insufficient_scope");
    assert_eq!(v["scope"], "a b");
    assert_eq!(v["error_description"], serde_json::Value::Null);
}

#[test]
fn header_version_macros_match_cargo() {
    let h = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/idjag.h"))
        .expect("include/idjag.h");
    let get = |name: &str| {
        h.lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} in the header"))
            .trim()
            .to_string()
    };
    assert_eq!(get("IDJAG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(get("IDJAG_VERSION_MINOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(get("IDJAG_VERSION_PATCH"), env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(
        get("IDJAG_VERSION"),
        format!("\"{}\"", env!("CARGO_PKG_VERSION"))
    );
    // Every result value is in the header with its number.
    for r in idjag_result::ALL {
        let code = text(idjag_result_code(*r as u32)).expect("code");
        let name = format!("IDJAG_{} = {},", code.to_uppercase(), *r as u32);
        assert!(h.contains(&name), "{name} in the header");
    }
}

#[test]
fn header_documents_every_function() {
    let h = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/idjag.h"))
        .expect("include/idjag.h");
    let mut functions = 0;
    let lines: Vec<&str> = h.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let decl = l.trim_start_matches("IDJAG_MUST_USE ");
        let is_fn = decl.contains(" idjag_")
            && decl.contains('(')
            && !l.starts_with(' ')
            && !l.starts_with('#')
            && !l.starts_with("/*")
            && !l.starts_with("typedef");
        if !is_fn {
            continue;
        }
        functions += 1;
        // The declaration is preceded by its doc comment (possibly after IDJAG_MUST_USE).
        let mut j = i - 1;
        if lines[j] == "IDJAG_MUST_USE" {
            j -= 1;
        }
        assert_eq!(lines[j].trim(), "*/", "doc comment before {l}");
        let start = (0..j)
            .rev()
            .find(|k| lines[*k].trim() == "/**")
            .expect("doc start");
        let doc = lines[start..j].join("\n");
        let name = decl
            .split('(')
            .next()
            .unwrap_or_default()
            .rsplit(['*', ' '])
            .next()
            .unwrap_or_default();
        assert!(
            doc.contains("# Thread safety"),
            "{name}: thread safety paragraph"
        );
        let takes_pointers = decl.contains('*') || lines[i + 1].contains('*');
        if name.ends_with("_free") {
            assert!(doc.contains("NULL is a no-op"), "{name}");
        }
        if takes_pointers && !name.ends_with("_free") && name != "idjag_version" {
            assert!(doc.contains("# NULL"), "{name}: NULL paragraph");
        }
        let fallible = l.starts_with("IDJAG_MUST_USE") || lines[i - 1] == "IDJAG_MUST_USE";
        if fallible {
            assert!(doc.contains("# Errors"), "{name}: errors paragraph");
        }
    }
    assert!(functions >= 40, "{functions} functions found");
}
