//! The attack corpus: forged, confused and invalid ID-JAGs, each with the reason it must be
//! rejected for, plus the valid shapes that must be accepted. Static JWKS, fixed clock.
#![allow(clippy::unwrap_used)]

#[path = "verify_common/mod.rs"]
mod common;

use common::*;
use idjag::clock::ManualClock;
use idjag::verify::{token_error_response, IdJagVerifier, RejectReason, ScopeSource};
use idjag::{Action, ErrorKind, Scope, Step};
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

struct Keys {
    es: TestKey,
    rs: TestKey,
    ps: TestKey,
    ed: TestKey,
    es384: TestKey,
    /// IDP2's only key.
    other: TestKey,
    /// A key nobody trusts.
    attacker: TestKey,
}

fn keys() -> Keys {
    let mut ps = TestKey::rsa("rsa-ps", Algorithm::PS256);
    // Pin the PS256 key's JWK `alg` so that an RS256 token with this kid is refused.
    ps.jwk["alg"] = "PS256".into();
    Keys {
        es: TestKey::es256("ec-1"),
        rs: TestKey::rsa("rsa-1", Algorithm::RS256),
        ps,
        ed: TestKey::ed25519("ed-1"),
        es384: TestKey::es384("ec384"),
        other: TestKey::es256("idp2-ec"),
        attacker: TestKey::es256("ec-1"),
    }
}

#[derive(Clone, Copy)]
enum Policy {
    /// `missing_resource: reject` (the default).
    Strict,
    /// `default_resource` set.
    Default,
    /// `default_resource` and the user-authentication policy of [`step_up_config`].
    StepUp,
}

/// The step-up policy of [`Policy::StepUp`]: `mfa` or `phrh` within 600 s for every
/// resource, `phrh` within 60 s for `RESOURCE2`.
fn step_up_config() -> Value {
    json!({
        "default_resource": RESOURCE,
        "user_authentication": {
            "acr_values": ["mfa", "phrh"],
            "max_auth_age_s": 600,
            "resources": {RESOURCE2: {"acr_values": ["phrh"], "max_auth_age_s": 60}}
        }
    })
}

/// The step-up answer for `RESOURCE` (`res2` false) or `RESOURCE2`.
fn step_up_wire(res2: bool) -> &'static str {
    if res2 {
        r#"{"error":"insufficient_user_authentication","error_description":"the user's authentication does not meet this server's requirements","acr_values":"phrh","max_age":60}"#
    } else {
        r#"{"error":"insufficient_user_authentication","error_description":"the user's authentication does not meet this server's requirements","acr_values":"mfa phrh","max_age":600}"#
    }
}

struct Case {
    name: &'static str,
    token: String,
    client_id: &'static str,
    scope: Option<&'static str>,
    policy: Policy,
    expect: Result<Option<&'static str>, RejectReason>,
    /// The exact wire answer, when not the generic one of its reason.
    wire: Option<&'static str>,
}

fn case(
    name: &'static str,
    token: String,
    expect: Result<Option<&'static str>, RejectReason>,
) -> Case {
    Case {
        name,
        token,
        client_id: CLIENT,
        scope: None,
        policy: Policy::Strict,
        expect,
        wire: None,
    }
}

/// A [`Policy::StepUp`] case; a rejection's wire answer is the step-up answer for
/// `RESOURCE2` when `res2`, else for `RESOURCE`.
fn step_up(
    name: &'static str,
    token: String,
    expect: Result<Option<&'static str>, RejectReason>,
    res2: bool,
) -> Case {
    Case {
        policy: Policy::StepUp,
        wire: expect.is_err().then(|| step_up_wire(res2)),
        ..case(name, token, expect)
    }
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    if let Some(o) = claims.as_object_mut() {
        o.remove(key);
    }
    claims
}

fn corpus(k: &Keys) -> Vec<Case> {
    use RejectReason as R;
    let c = |jti: &str| claims(jti);
    let hdr = |key: &TestKey, extra: Value| {
        let mut h = key.header();
        for (n, v) in extra.as_object().into_iter().flatten() {
            h[n] = v.clone();
        }
        h
    };
    let valid = k.es.token(&c("t-valid-base"));
    let segs: Vec<&str> = valid.split('.').collect();
    let (h, p, s) = (
        segs[0].to_string(),
        segs[1].to_string(),
        segs[2].to_string(),
    );

    let mut cases = vec![
        // ---------------- accepted
        case("valid_es256", k.es.token(&c("ok-es")), Ok(Some("read write"))),
        case("valid_rs256", k.rs.token(&c("ok-rs")), Ok(Some("read write"))),
        case("valid_ps256", k.ps.token(&c("ok-ps")), Ok(Some("read write"))),
        case("valid_eddsa", k.ed.token(&c("ok-ed")), Ok(Some("read write"))),
        case(
            "valid_aud_one_element_array",
            k.es.token(&with(c("ok-aud1"), "aud", json!([AS]))),
            Ok(Some("read write")),
        ),
        case(
            "valid_typ_application_prefix",
            k.es.sign(&hdr(&k.es, json!({"typ": "application/oauth-id-jag+jwt"})), &c("ok-typ1")),
            Ok(Some("read write")),
        ),
        case(
            "valid_typ_upper_case",
            k.es.sign(&hdr(&k.es, json!({"typ": "OAUTH-ID-JAG+JWT"})), &c("ok-typ2")),
            Ok(Some("read write")),
        ),
        case(
            "valid_resource_array_all_ours",
            k.es.token(&with(c("ok-res2"), "resource", json!([RESOURCE, RESOURCE2]))),
            Ok(Some("read write")),
        ),
        case(
            "valid_resource_normalized_spelling",
            k.es.token(&with(c("ok-res3"), "resource", json!("HTTPS://MCP.example.com:443/mcp"))),
            Ok(Some("read write")),
        ),
        case(
            "valid_exp_within_skew",
            k.es.token(&with(with(c("ok-skew"), "exp", json!(NOW - 30)), "iat", json!(NOW - 200))),
            Ok(Some("read write")),
        ),
        case(
            "valid_fractional_numeric_dates",
            k.es.token(&with(with(c("ok-frac"), "iat", json!(NOW as f64 - 9.5)), "exp", json!(NOW as f64 + 100.25))),
            Ok(Some("read write")),
        ),
        case("valid_no_scope_claim", k.es.token(&without(c("ok-noscope"), "scope")), Ok(None)),
        case(
            "valid_kidless_single_key_issuer",
            k.other.sign(
                &json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}),
                &with(c("ok-kidless"), "iss", json!(IDP2)),
            ),
            Ok(Some("read write")),
        ),
        Case {
            scope: Some("read admin"),
            ..case("valid_scope_intersection", k.es.token(&c("ok-scope")), Ok(Some("read")))
        },
        case("valid_scope_claim_unsorted_with_repeats", k.es.token(&with(c("ok-scope3"), "scope", json!(" write read  write "))), Ok(Some("read write"))),
        Case {
            policy: Policy::Default,
            ..case(
                "valid_missing_resource_default_policy",
                k.es.token(&without(c("ok-nores"), "resource")),
                Ok(Some("read write")),
            )
        },
        // ---------------- algorithm attacks
        case(
            "alg_none_unsigned",
            format!("{}.{}.", b64(br#"{"alg":"none","typ":"oauth-id-jag+jwt"}"#), b64(c("x-none").to_string().as_bytes())),
            Err(R::UnsupportedAlg),
        ),
        case(
            "alg_none_mixed_case",
            format!("{}.{}.", b64(br#"{"alg":"nOnE","typ":"oauth-id-jag+jwt","kid":"ec-1"}"#), b64(c("x-none2").to_string().as_bytes())),
            Err(R::UnsupportedAlg),
        ),
        case("alg_missing", format!("{}.{p}.{s}", b64(br#"{"typ":"oauth-id-jag+jwt","kid":"ec-1"}"#)), Err(R::UnsupportedAlg)),
        case(
            "hs256_signed_with_public_key_bytes",
            {
                // Classic key confusion: HMAC keyed with the IdP's public key.
                let pub_bytes = serde_json::to_vec(&k.rs.jwk).unwrap();
                let enc = jsonwebtoken::EncodingKey::from_secret(&pub_bytes);
                let mut hk = k.rs.clone();
                hk.enc = enc;
                hk.sign_raw_as(
                    Algorithm::HS256,
                    &json!({"alg": "HS256", "typ": "oauth-id-jag+jwt", "kid": "rsa-1"}).to_string(),
                    &c("x-hs").to_string(),
                )
            },
            Err(R::UnsupportedAlg),
        ),
        case(
            "es384_not_on_allow_list",
            k.es384.token(&c("x-es384")),
            Err(R::UnsupportedAlg),
        ),
        case(
            "alg_swapped_to_rs256_on_ec_kid",
            k.rs.sign(&json!({"alg": "RS256", "typ": "oauth-id-jag+jwt", "kid": "ec-1"}), &c("x-swap")),
            Err(R::UnknownKey),
        ),
        case(
            "jwk_alg_pinned_ps256_token_rs256",
            k.ps.sign_raw_as(
                Algorithm::RS256,
                &json!({"alg": "RS256", "typ": "oauth-id-jag+jwt", "kid": "rsa-ps"}).to_string(),
                &c("x-pin").to_string(),
            ),
            Err(R::UnknownKey),
        ),
        // ---------------- typ
        case("typ_missing", k.es.sign(&json!({"alg": "ES256", "kid": "ec-1"}), &c("x-t1")), Err(R::InvalidTyp)),
        case("typ_jwt", k.es.sign(&hdr(&k.es, json!({"typ": "JWT"})), &c("x-t2")), Err(R::InvalidTyp)),
        case("typ_access_token", k.es.sign(&hdr(&k.es, json!({"typ": "at+jwt"})), &c("x-t3")), Err(R::InvalidTyp)),
        case(
            "typ_wrong_media_type",
            k.es.sign(&hdr(&k.es, json!({"typ": "text/oauth-id-jag+jwt"})), &c("x-t4")),
            Err(R::InvalidTyp),
        ),
        case("typ_not_a_string", k.es.sign(&hdr(&k.es, json!({"typ": ["oauth-id-jag+jwt"]})), &c("x-t5")), Err(R::InvalidTyp)),
        // ---------------- header key injection / crit
        case(
            "jku_injection",
            k.attacker.sign(&hdr(&k.attacker, json!({"jku": "https://evil.example/jwks"})), &c("x-jku")),
            Err(R::HeaderKeyInjection),
        ),
        case(
            "jwk_injection",
            k.attacker.sign(&hdr(&k.attacker, json!({"jwk": k.attacker.jwk})), &c("x-jwk")),
            Err(R::HeaderKeyInjection),
        ),
        case(
            "x5u_injection",
            k.attacker.sign(&hdr(&k.attacker, json!({"x5u": "https://evil.example/cert.pem"})), &c("x-x5u")),
            Err(R::HeaderKeyInjection),
        ),
        case(
            "x5c_injection",
            k.attacker.sign(&hdr(&k.attacker, json!({"x5c": ["MIIB"]})), &c("x-x5c")),
            Err(R::HeaderKeyInjection),
        ),
        case(
            "crit_header",
            k.es.sign(&hdr(&k.es, json!({"crit": ["exp"], "exp": 1})), &c("x-crit")),
            Err(R::CritUnsupported),
        ),
        case(
            "crit_b64_false",
            k.es.sign(&hdr(&k.es, json!({"crit": ["b64"], "b64": false})), &c("x-b64")),
            Err(R::CritUnsupported),
        ),
        // ---------------- issuer and keys
        case("untrusted_issuer", k.attacker.token(&with(c("x-iss"), "iss", json!("https://evil.example"))), Err(R::UntrustedIssuer)),
        case(
            "issuer_trailing_slash_variant",
            k.es.token(&with(c("x-iss2"), "iss", json!(format!("{IDP}/")))),
            Err(R::UntrustedIssuer),
        ),
        case("issuer_missing", k.es.token(&without(c("x-iss3"), "iss")), Err(R::MissingClaim)),
        case("issuer_not_a_string", k.es.token(&with(c("x-iss4"), "iss", json!([IDP]))), Err(R::Malformed)),
        case("unknown_kid", k.es.sign(&hdr(&k.es, json!({"kid": "nope"})), &c("x-kid")), Err(R::UnknownKey)),
        case(
            "key_from_other_trusted_issuer",
            k.other.token(&c("x-cross")), // iss=IDP, kid and key of IDP2
            Err(R::UnknownKey),
        ),
        case(
            "attacker_key_reusing_trusted_kid",
            k.attacker.token(&c("x-forged")),
            Err(R::BadSignature),
        ),
        case(
            "other_issuers_key_under_our_kid",
            k.other.sign(&hdr(&k.es, json!({})), &c("x-cross2")),
            Err(R::BadSignature),
        ),
        case("kid_not_a_string", k.es.sign(&hdr(&k.es, json!({"kid": 1})), &c("x-kid2")), Err(R::Malformed)),
        // ---------------- signature integrity
        case(
            "tampered_payload",
            {
                let forged = b64(with(c("t-valid-base"), "sub", json!("admin")).to_string().as_bytes());
                format!("{h}.{forged}.{s}")
            },
            Err(R::BadSignature),
        ),
        case("signature_stripped", format!("{h}.{p}."), Err(R::BadSignature)),
        case(
            "signature_truncated",
            // Keep a multiple of 4 characters so the base64 stays canonical.
            format!("{h}.{p}.{}", &s[..(s.len() - 1) / 4 * 4]),
            Err(R::BadSignature),
        ),
        case("signature_not_base64", format!("{h}.{p}.{s}!"), Err(R::Malformed)),
        // ---------------- audience
        case("aud_two_elements", k.es.token(&with(c("x-a1"), "aud", json!([AS, "https://other.example"]))), Err(R::AudienceMismatch)),
        case("aud_token_endpoint", k.es.token(&with(c("x-a2"), "aud", json!(format!("{AS}/token")))), Err(R::AudienceMismatch)),
        case("aud_trailing_slash", k.es.token(&with(c("x-a3"), "aud", json!(format!("{AS}/")))), Err(R::AudienceMismatch)),
        case("aud_empty_array", k.es.token(&with(c("x-a4"), "aud", json!([]))), Err(R::AudienceMismatch)),
        case("aud_prefix_match", k.es.token(&with(c("x-a5"), "aud", json!("https://as.example.com.evil.example"))), Err(R::AudienceMismatch)),
        case("aud_missing", k.es.token(&without(c("x-a6"), "aud")), Err(R::MissingClaim)),
        case("aud_number", k.es.token(&with(c("x-a7"), "aud", json!(1))), Err(R::Malformed)),
        // ---------------- client binding
        case("client_id_mismatch", k.es.token(&with(c("x-c1"), "client_id", json!("client-2"))), Err(R::ClientMismatch)),
        case("client_id_missing", k.es.token(&without(c("x-c2"), "client_id")), Err(R::MissingClaim)),
        Case {
            client_id: "client-2",
            ..case("authenticated_as_another_client", k.es.token(&c("x-c3")), Err(R::ClientMismatch))
        },
        // ---------------- time
        case(
            "expired",
            k.es.token(&with(with(c("x-exp"), "exp", json!(NOW - 61)), "iat", json!(NOW - 200))),
            Err(R::Expired),
        ),
        case("iat_in_future", k.es.token(&with(with(c("x-iat"), "iat", json!(NOW + 120)), "exp", json!(NOW + 300))), Err(R::IssuedInFuture)),
        case(
            "too_old",
            k.es.token(&with(with(c("x-old"), "iat", json!(NOW - 400)), "exp", json!(NOW + 100))),
            Err(R::TooOld),
        ),
        case("lifetime_too_long", k.es.token(&with(c("x-life"), "exp", json!(NOW + 86_400))), Err(R::LifetimeTooLong)),
        case("nbf_ahead", k.es.token(&with(c("x-nbf"), "nbf", json!(NOW + 120))), Err(R::NotYetValid)),
        case("exp_before_iat", k.es.token(&with(c("x-order"), "exp", json!(NOW - 20))), Err(R::Malformed)),
        case("exp_as_string", k.es.token(&with(c("x-exps"), "exp", json!("1767225900"))), Err(R::Malformed)),
        case("exp_huge", k.es.token(&with(c("x-exph"), "exp", json!(1e300))), Err(R::Malformed)),
        case("exp_i64_max", k.es.token(&with(c("x-expm"), "exp", json!(i64::MAX))), Err(R::LifetimeTooLong)),
        case("iat_i64_min", k.es.token(&with(c("x-iatm"), "iat", json!(i64::MIN))), Err(R::LifetimeTooLong)),
        // ---------------- required claims
        case("missing_jti", k.es.token(&without(c("x-j"), "jti")), Err(R::MissingClaim)),
        case("empty_jti", k.es.token(&with(c("x-j2"), "jti", json!(""))), Err(R::MissingClaim)),
        case("missing_exp", k.es.token(&without(c("x-e"), "exp")), Err(R::MissingClaim)),
        case("missing_iat", k.es.token(&without(c("x-i"), "iat")), Err(R::MissingClaim)),
        case("missing_sub", k.es.token(&without(c("x-s"), "sub")), Err(R::MissingClaim)),
        case("sub_not_a_string", k.es.token(&with(c("x-s2"), "sub", json!(42))), Err(R::Malformed)),
        // ---------------- resource
        case("wrong_resource", k.es.token(&with(c("x-r1"), "resource", json!("https://other-mcp.example/mcp"))), Err(R::ResourceMismatch)),
        case(
            "resource_array_with_foreign_entry",
            k.es.token(&with(c("x-r2"), "resource", json!([RESOURCE, "https://other-mcp.example/mcp"]))),
            Err(R::ResourceMismatch),
        ),
        case("resource_prefix_of_ours", k.es.token(&with(c("x-r3"), "resource", json!("https://mcp.example.com/"))), Err(R::ResourceMismatch)),
        case("resource_empty_array", k.es.token(&with(c("x-r4"), "resource", json!([]))), Err(R::Malformed)),
        case("missing_resource_strict_policy", k.es.token(&without(c("x-r5"), "resource")), Err(R::MissingClaim)),
        // ---------------- scope
        Case {
            scope: Some("admin"),
            ..case("scope_not_granted", k.es.token(&c("x-sc")), Err(R::ScopeNotGranted))
        },
        case("scope_as_array", k.es.token(&with(c("x-sc2"), "scope", json!(["read"]))), Err(R::Malformed)),
        // B3: without a `scope` claim (and no `default_scope`) the request is not a grant.
        Case {
            scope: Some("admin"),
            ..case("requested_scope_without_scope_claim", k.es.token(&without(c("x-sc3"), "scope")), Err(R::ScopeNotGranted))
        },
        case("scope_claim_with_tab", k.es.token(&with(c("x-sc4"), "scope", json!("read\twrite"))), Err(R::Malformed)),
        Case {
            scope: Some("read \"write\""),
            ..case("requested_scope_not_rfc6749", k.es.token(&c("x-sc5")), Err(R::ScopeNotGranted))
        },
        // ---------------- typed optional claims: tenancy and authentication context
        case(
            "valid_tenancy_and_auth_claims_without_policy",
            k.es.token(&with(with(with(with(with(c("ok-ten"), "tenant", json!("acme")), "aud_tenant", json!("t-9")), "aud_sub", json!("u-42")), "acr", json!("pwd")), "auth_time", json!(NOW - 86_400))),
            Ok(Some("read write")),
        ),
        case("tenant_not_a_string", k.es.token(&with(c("x-ten1"), "tenant", json!({"id": "acme"}))), Err(R::Malformed)),
        case("aud_tenant_number", k.es.token(&with(c("x-ten2"), "aud_tenant", json!(9))), Err(R::Malformed)),
        case("aud_sub_empty", k.es.token(&with(c("x-ten3"), "aud_sub", json!(""))), Err(R::Malformed)),
        case("acr_array", k.es.token(&with(c("x-acr1"), "acr", json!(["mfa"]))), Err(R::Malformed)),
        case("auth_time_as_string", k.es.token(&with(c("x-at1"), "auth_time", json!("1767225000"))), Err(R::Malformed)),
        case("auth_time_in_future", k.es.token(&with(c("x-at2"), "auth_time", json!(NOW + 120))), Err(R::Malformed)),
        case("valid_auth_time_within_skew", k.es.token(&with(c("ok-at3"), "auth_time", json!(NOW + 60))), Ok(Some("read write"))),
        // ---------------- user-authentication policy (step-up, RFC 9470 answer)
        step_up("step_up_valid_mfa", k.es.token(&with(with(c("ok-su1"), "acr", json!("mfa")), "auth_time", json!(NOW - 300))), Ok(Some("read write")), false),
        step_up("step_up_valid_age_within_skew", k.es.token(&with(with(c("ok-su2"), "acr", json!("phrh")), "auth_time", json!(NOW - 660))), Ok(Some("read write")), false),
        step_up("step_up_valid_resource2_phrh", k.es.token(&with(with(with(c("ok-su3"), "resource", json!(RESOURCE2)), "acr", json!("phrh")), "auth_time", json!(NOW - 30))), Ok(Some("read write")), true),
        step_up("step_up_acr_missing", k.es.token(&with(c("x-su1"), "auth_time", json!(NOW))), Err(R::AcrNotAccepted), false),
        step_up("step_up_acr_not_listed", k.es.token(&with(with(c("x-su2"), "acr", json!("pwd")), "auth_time", json!(NOW))), Err(R::AcrNotAccepted), false),
        step_up("step_up_acr_case_differs", k.es.token(&with(with(c("x-su3"), "acr", json!("MFA")), "auth_time", json!(NOW))), Err(R::AcrNotAccepted), false),
        step_up("step_up_auth_time_missing", k.es.token(&with(c("x-su4"), "acr", json!("mfa"))), Err(R::AuthTimeTooOld), false),
        step_up("step_up_auth_time_too_old", k.es.token(&with(with(c("x-su5"), "acr", json!("mfa")), "auth_time", json!(NOW - 661))), Err(R::AuthTimeTooOld), false),
        step_up("step_up_resource2_needs_phrh", k.es.token(&with(with(with(c("x-su6"), "resource", json!(RESOURCE2)), "acr", json!("mfa")), "auth_time", json!(NOW))), Err(R::AcrNotAccepted), true),
        step_up("step_up_resource2_needs_recent", k.es.token(&with(with(with(c("x-su7"), "resource", json!(RESOURCE2)), "acr", json!("phrh")), "auth_time", json!(NOW - 121))), Err(R::AuthTimeTooOld), true),
        step_up("step_up_both_resources_strictest_wins", k.es.token(&with(with(with(c("x-su8"), "resource", json!([RESOURCE, RESOURCE2])), "acr", json!("phrh")), "auth_time", json!(NOW - 300))), Err(R::AuthTimeTooOld), true),
        step_up("step_up_defaulted_resource_is_checked", k.es.token(&without(c("x-su9"), "resource")), Err(R::AcrNotAccepted), false),
        Case {
            scope: Some("admin"),
            wire: None,
            ..step_up("step_up_scope_refusal_comes_first", k.es.token(&c("x-su10")), Err(R::ScopeNotGranted), false)
        },
        // ---------------- structure and encoding
        case("oversized", k.es.token(&with(c("x-big"), "pad", json!("A".repeat(17 * 1024)))), Err(R::TooLarge)),
        case("empty_string", String::new(), Err(R::Malformed)),
        case("two_segments", format!("{h}.{p}"), Err(R::Malformed)),
        case("four_segments", format!("{h}.{p}.{s}.x"), Err(R::Malformed)),
        case("jwe_five_segments", format!("{h}.a.b.c.d"), Err(R::EncryptedUnsupported)),
        case("header_invalid_base64", format!("{h}*.{p}.{s}"), Err(R::Malformed)),
        case("header_with_padding", format!("{h}=.{p}.{s}"), Err(R::Malformed)),
        case("header_not_json", format!("{}.{p}.{s}", b64(b"not json")), Err(R::Malformed)),
        case("payload_invalid_json", k.es.sign_raw(&k.es.header().to_string(), "{\"iss\":"), Err(R::Malformed)),
        case("payload_not_an_object", k.es.sign_raw(&k.es.header().to_string(), "[1,2]"), Err(R::Malformed)),
        case("payload_not_utf8", {
            let input = format!("{}.{}", b64(k.es.header().to_string().as_bytes()), b64(&[0xff, 0xfe, 0x7b]));
            let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &k.es.enc, Algorithm::ES256).unwrap();
            format!("{input}.{sig}")
        }, Err(R::Malformed)),
        case(
            "duplicate_claim_sub",
            k.es.sign_raw(
                &k.es.header().to_string(),
                &format!(
                    r#"{{"iss":"{IDP}","sub":"user-1","aud":"{AS}","client_id":"{CLIENT}","jti":"x-dup","iat":{},"exp":{},"resource":"{RESOURCE}","sub":"admin"}}"#,
                    NOW - 10,
                    NOW + 290
                ),
            ),
            Err(R::Malformed),
        ),
        case(
            "duplicate_claim_aud_escaped",
            k.es.sign_raw(
                &k.es.header().to_string(),
                &format!(
                    r#"{{"iss":"{IDP}","sub":"user-1","aud":"https://evil.example","client_id":"{CLIENT}","jti":"x-dup2","iat":{},"exp":{},"resource":"{RESOURCE}","\u0061ud":"{AS}"}}"#,
                    NOW - 10,
                    NOW + 290
                ),
            ),
            Err(R::Malformed),
        ),
        case(
            "duplicate_header_alg",
            k.es.sign_raw(r#"{"alg":"none","typ":"oauth-id-jag+jwt","kid":"ec-1","alg":"ES256"}"#, &c("x-duph").to_string()),
            Err(R::Malformed),
        ),
        case("trailing_whitespace", format!("{valid} "), Err(R::Malformed)),
    ];
    // Deeply nested JSON is refused (serde_json's recursion limit), without a stack overflow.
    cases.push(case(
        "deeply_nested_raw",
        k.es.sign_raw(
            &k.es.header().to_string(),
            &format!("{{\"a\":{}1{}}}", "[".repeat(3000), "]".repeat(3000)),
        ),
        Err(R::Malformed),
    ));
    cases
}

fn run(cases: Vec<Case>, k: &Keys) -> (usize, usize) {
    let clock = ManualClock::new(NOW);
    let idp = [&k.es, &k.rs, &k.ps, &k.ed, &k.es384];
    let strict = verifier(&config_json(&idp, &[&k.other], json!({})), &clock);
    let default = verifier(
        &config_json(&idp, &[&k.other], json!({"default_resource": RESOURCE})),
        &clock,
    );
    let step_up = verifier(&config_json(&idp, &[&k.other], step_up_config()), &clock);
    let pick = |p: Policy| -> &IdJagVerifier {
        match p {
            Policy::Strict => &strict,
            Policy::Default => &default,
            Policy::StepUp => &step_up,
        }
    };
    let (mut accepted, mut rejected) = (0, 0);
    let mut failures = Vec::new();
    for c in &cases {
        let got = pick(c.policy).verify(&c.token, c.client_id, c.scope);
        match (&c.expect, got) {
            (Ok(scope), Ok(grant)) => {
                accepted += 1;
                if grant.scope.as_ref().map(Scope::as_str) != *scope {
                    failures.push(format!(
                        "{}: scope {:?}, expected {:?}",
                        c.name, grant.scope, scope
                    ));
                }
                if grant.resource.is_empty() {
                    failures.push(format!("{}: no resource", c.name));
                }
            }
            (Err(want), Err(e)) => {
                rejected += 1;
                if RejectReason::of(&e) != Some(*want) {
                    failures.push(format!(
                        "{}: got {:?} ({e}), expected {}",
                        c.name,
                        e.reason(),
                        want
                    ));
                    continue;
                }
                assert_eq!(e.kind(), ErrorKind::VerificationFailed, "{}", c.name);
                assert_eq!(e.step(), Step::Verify, "{}", c.name);
                let action = if want.is_step_up() {
                    Action::Reauthenticate
                } else {
                    Action::Denied
                };
                assert_eq!(e.action(), action, "{}", c.name);
                assert_no_leak(&e, &c.token);
                let wire = token_error_response(&e);
                assert_eq!(wire.status, 400);
                let generic = match want {
                    RejectReason::ScopeNotGranted => {
                        r#"{"error":"invalid_scope","error_description":"the requested scope cannot be granted"}"#
                    }
                    _ => {
                        r#"{"error":"invalid_grant","error_description":"the assertion is not valid"}"#
                    }
                };
                assert_eq!(wire.to_json(), c.wire.unwrap_or(generic), "{}", c.name);
            }
            (Ok(_), Err(e)) => {
                failures.push(format!("{}: rejected ({e}), expected acceptance", c.name))
            }
            (Err(want), Ok(_)) => failures.push(format!("{}: accepted, expected {want}", c.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
    (accepted, rejected)
}

#[test]
fn attack_corpus_is_rejected_with_reasons_and_valid_tokens_pass() {
    let k = keys();
    let cases = corpus(&k);
    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(names.insert(c.name), "duplicate case name {}", c.name);
    }
    let (accepted, rejected) = run(cases, &k);
    assert!(accepted >= 10, "{accepted}");
    assert!(rejected >= 30, "{rejected}");
    eprintln!("corpus: {accepted} accepted, {rejected} rejected");
}

#[test]
fn every_reason_is_exercised_by_the_corpus_or_a_dedicated_test() {
    let k = keys();
    let covered: std::collections::HashSet<&str> = corpus(&k)
        .iter()
        .filter_map(|c| c.expect.err().map(|r| r.code()))
        .chain(["replayed"]) // replay_is_rejected_once_accepted
        .collect();
    for r in RejectReason::ALL {
        assert!(
            covered.contains(r.code()),
            "no test rejects with {}",
            r.code()
        );
    }
}

#[test]
fn replay_is_rejected_once_accepted() {
    let k = keys();
    let clock = ManualClock::new(NOW);
    let v = verifier(&config_json(&[&k.es], &[&k.other], json!({})), &clock);
    let t = k.es.token(&claims("replay-1"));
    let g = v.verify(&t, CLIENT, None).unwrap();
    assert_eq!(g.jti, "replay-1");
    let e = v.verify(&t, CLIENT, None).expect_err("second use");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::Replayed));
    assert_no_leak(&e, &t);
    // Clones share the store.
    let e = v.clone().verify(&t, CLIENT, None).expect_err("clone");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::Replayed));
    // The same jti from another issuer is a different key.
    let t2 = k.other.token(&with(claims("replay-1"), "iss", json!(IDP2)));
    v.verify(&t2, CLIENT, None).unwrap();
}

#[test]
fn a_rejected_token_does_not_consume_its_jti() {
    let k = keys();
    let clock = ManualClock::new(NOW);
    let v = verifier(&config_json(&[&k.es], &[&k.other], json!({})), &clock);
    let t = k.es.token(&claims("consume-1"));
    // Wrong client first: rejected before the replay check, so the jti stays unused.
    let e = v.verify(&t, "client-2", None).expect_err("wrong client");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::ClientMismatch));
    let e = v.verify(&t, CLIENT, Some("admin")).expect_err("scope");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::ScopeNotGranted));
    v.verify(&t, CLIENT, None).unwrap();
}

#[test]
fn replay_entries_expire_after_exp_plus_twice_the_skew() {
    let k = keys();
    let clock = ManualClock::new(NOW);
    let v = verifier(
        &config_json(
            &[&k.es],
            &[&k.other],
            json!({"replay": {"memory_capacity": 2}}),
        ),
        &clock,
    );
    v.verify(&k.es.token(&claims("cap-1")), CLIENT, None)
        .unwrap();
    v.verify(&k.es.token(&claims("cap-2")), CLIENT, None)
        .unwrap();
    // Full of unexpired jtis: fail closed, and not as a rejection.
    let t3 = k.es.token(&claims("cap-3"));
    let e = v.verify(&t3, CLIENT, None).expect_err("full");
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert_eq!(e.reason(), None);
    assert_eq!(token_error_response(&e).status, 500);
    // The entries are kept past exp + skew (the last accepted second) by one second plus
    // the skew margin; then they are dropped and new tokens fit.
    clock.set_secs(NOW + 290 + 2 * 60);
    let e = v
        .verify(&k.es.token(&claims_at(NOW + 410, "cap-4")), CLIENT, None)
        .expect_err("still full");
    assert_eq!(e.kind(), ErrorKind::Internal);
    clock.set_secs(NOW + 290 + 2 * 60 + 1);
    let fresh = k.es.token(&claims_at(NOW + 411, "cap-5"));
    v.verify(&fresh, CLIENT, None).unwrap();
}

#[test]
fn grant_carries_claims_and_debug_hides_values() {
    let k = keys();
    let clock = ManualClock::new(NOW);
    let v = verifier(&config_json(&[&k.ed], &[&k.other], json!({})), &clock);
    let t =
        k.ed.token(&with(claims("claims-1"), "tenant", json!("acme")));
    let g = v.verify(&t, CLIENT, Some("write")).unwrap();
    assert_eq!(g.iss, IDP);
    assert_eq!(g.sub, "user-1");
    assert_eq!(g.client_id, CLIENT);
    assert_eq!(g.resource, vec![RESOURCE.to_string()]);
    assert_eq!(g.primary_resource(), RESOURCE);
    assert!(!g.resource_defaulted);
    assert_eq!(g.scope.as_ref().map(Scope::as_str), Some("write"));
    assert_eq!(g.scope_source, ScopeSource::IdJag);
    assert_eq!((g.iat, g.exp), (NOW - 10, NOW + 290));
    assert_eq!(g.claims["tenant"], "acme");
    // Typed as well as raw; absent claims are None.
    assert_eq!(g.tenant.as_deref(), Some("acme"));
    assert_eq!(
        (&g.aud_tenant, &g.aud_sub, &g.acr, g.auth_time),
        (&None, &None, &None, None)
    );
    assert!(g.first_use);
    let dbg = format!("{g:?}");
    assert!(
        dbg.contains("tenant") && !dbg.contains("user@example.com"),
        "{dbg}"
    );
}

#[test]
fn hmac_only_when_configured_for_the_issuer() {
    let secret = "an-explicitly-shared-secret-of-32+bytes";
    let clock = ManualClock::new(NOW);
    let k = keys();
    let mut cfg = config_json(&[&k.es], &[&k.other], json!({}));
    cfg["trusted_idps"][1] =
        json!({"issuer": IDP2, "insecure_hmac_secret": secret, "algorithms": ["HS256"]});
    let v = verifier(&cfg, &clock);
    let mut hk = k.es.clone();
    hk.enc = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    let hdr = json!({"alg": "HS256", "typ": "oauth-id-jag+jwt"}).to_string();
    let ok = hk.sign_raw_as(
        Algorithm::HS256,
        &hdr,
        &with(claims("h-1"), "iss", json!(IDP2)).to_string(),
    );
    v.verify(&ok, CLIENT, None).unwrap();
    // The HMAC issuer's algorithms do not leak to other issuers.
    let other = hk.sign_raw_as(Algorithm::HS256, &hdr, &claims("h-2").to_string());
    let e = v.verify(&other, CLIENT, None).expect_err("HS256 for IDP");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::UnsupportedAlg));
    // And the HMAC issuer accepts nothing asymmetric.
    let asym = k.other.token(&with(claims("h-3"), "iss", json!(IDP2)));
    let e = v
        .verify(&asym, CLIENT, None)
        .expect_err("ES256 for HMAC IdP");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::UnsupportedAlg));
    // A wrong secret is a bad signature.
    hk.enc = jsonwebtoken::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!");
    let bad = hk.sign_raw_as(
        Algorithm::HS256,
        &hdr,
        &with(claims("h-4"), "iss", json!(IDP2)).to_string(),
    );
    let e = v.verify(&bad, CLIENT, None).expect_err("wrong secret");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::BadSignature));
}

#[test]
fn hostile_inputs_never_panic() {
    let k = keys();
    let clock = ManualClock::new(NOW);
    let v = verifier(&config_json(&[&k.es], &[&k.other], json!({})), &clock);
    let h = b64(k.es.header().to_string().as_bytes());
    let mut inputs: Vec<String> = vec![
        ".".into(),
        "..".into(),
        "....".into(),
        "\u{0}.\u{0}.\u{0}".into(),
        "é.é.é".into(),
        format!("{h}.{}.", b64(b"null")),
        format!("{h}.{}.", b64(b"{}")),
        format!("{h}.{}.", b64(br#"{"iss":null}"#)),
        format!(
            "{h}.{}.",
            b64(br#"{"iss":"https://idp.example.com","exp":-1e400}"#)
        ),
        format!(
            "{}.{}.",
            b64(br#"{"alg":"ES256","typ":"oauth-id-jag+jwt","kid":null}"#),
            b64(b"{}")
        ),
        ".".repeat(16 * 1024),
        "a".repeat(16 * 1024),
    ];
    for n in [1usize, 2, 3, 50, 1000] {
        inputs.push(format!("{h}.{}.{}", "A".repeat(n), "B".repeat(n)));
    }
    for i in inputs {
        let r =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| v.verify(&i, CLIENT, None)));
        let r = r.unwrap_or_else(|_| panic!("panicked on {:?}", &i[..i.len().min(40)]));
        let e = r.expect_err("hostile input accepted");
        assert_eq!(e.kind(), ErrorKind::VerificationFailed, "{e}");
    }
}
