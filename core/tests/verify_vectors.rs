//! Shared verifier vectors: `tests/vectors/verify.json` holds fixed JWK Sets, ID-JAGs and
//! the expected outcome of each, at a fixed clock time, so that every binding (Python, Node,
//! C) can replay the same cases against its own build of the verifier. This test replays
//! the file against the Rust core.
//!
//! Regenerate the file (after changing the cases below) with:
//!
//! ```sh
//! IDJAG_REGENERATE_VECTORS=1 cargo test -p idjag --test verify_vectors -- --ignored regenerate
//! ```
//!
//! The keys are fixed (below), EdDSA and RSA signatures are deterministic, so regenerating
//! reproduces the file byte for byte except for the ES256 signatures (ECDSA is randomized).
#![allow(clippy::unwrap_used)]

#[path = "verify_common/mod.rs"]
mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use idjag::clock::ManualClock;
use idjag::verify::{token_error_response, IdJagVerifier, RejectReason, VerifierConfig};
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Test-only keys (never used anywhere else).
const RSA_PKCS8_B64: &str = concat!(
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCsVxGIrf10M9b6+SwfleXDha3d1uWFAjsWZ8LR",
    "NAmttao2ZdEQsMLEScohj3JsCwiw4Xx55YoeJHJNIKGDsnDGFXsYIMwdKowyDh15wX0QQnO8IqYn6pQyzI9pEYJu",
    "2mkKmJ55rgGAC7TYifxQM0BncgGlqoDq4jb7Pc9uYLEDoteDf20ykp3wxuyhyUCfzOYJ4xF7kgTySfQ57w4pgneW",
    "fk3UAtQhz7iYbxL7n55o52mef6cmuDkPbukDNFz6ya3z5TUcnAsl8LIOarg3nT95A/1qv953+6VaelfBYS56N6jr",
    "ACn7enPHcmHfCYryOsoMsynbMzVCnT0Lr8PipuLjAgMBAAECggEAFG4mniPg1ITiuueNY1nYnkL7ghLG1xY/x/UE",
    "A4Xzkca5R2/u3AIrDKxMtzQeAJCW9qpnIGeQOz40g0/Xey53r7EojGCITKWDGi9R2jcQVZGdzmidzESYTfoHFDxm",
    "+y+O3UU2ID77CYwZuRkz3T6+J0/nbGrClABo5oQvfNUfQaAQbSjHh88yucNlw06DLpchR36epAquZXzrp5z5ETuT",
    "77lCDXL6/DgxeY80uaXpngbL7WkZyp0kaxmxX2u/DIRIOyq7/HwYpRD1OZSWjJ/CQePsLCNREiBgf7zWmGGqASnQ",
    "1q2rsHCxmlPYzd9ICFVjYRGi3PKEmKneHEbjZiRJtQKBgQDp6C79DBY1D6e10lwl/hL7RoV7q5y68goh0VK9CFHU",
    "1n80dYwcbvPvz2w504n/aN8LqIKfN0jJUlhilLgRVQ7N8HKxgqq6Ko3M+ms/xxYdWdPlTh0GIMtYBZD4decz4mhk",
    "ulyLjHq6wvhAF6KvZOV+HQZQiapljhPZHQ7CWVJZ/QKBgQC8njZsNbUKN/WpjfitqQDp7J4l1E7bVfMFG5boM79Z",
    "1iNzf74woHuLkiGTkyoXXDy9AYw2PvsK1duZW6lGN+OALB7lfag8/fKVYqsmkmbu7Yqm3RMOukoyfrhzi/xMJA88",
    "FvyVtua+n7iFFz6Bzo/VB4DqsoBf4BUSE+KjXLbWXwKBgEJ3jvqrN5hGZZLePv8wzrYGmSHGZ1gcNVLcx5Udyxsf",
    "BLCkgncF9F195LQd74XbiB4o+U1DCXTj6GfC+Pc742QT4pOcnOUf+IF524YZDaizgOoVI1w9b2sI0eQ4pMVyndWZ",
    "u3iQJ8PwaVjVHo6WrjwDBWtXY0tOb0dv4WTKuwMFAoGBAJIGovevtNOOc2Cri2VXPF/eUqnS7qIcrqK7s19eALza",
    "bmPS+DnJZRyvK9OG0cV4IYXqltTAebbvzq2yKyEzz6vBfMILQJ7HtHE3DG42Vf6QZRG+giyaySrCtKawL8n6+Nh6",
    "q151VbsrCL3xOvFgLDavMn2BaKXRZD60qnfzJZJdAoGBAMzCxmrI/fSFxHvX3CO3QODvEiAJ0ZXCNFOMvujN0OHJ",
    "grAh1S7XbR12TgyFU8akPIUXLHOeGMEK8UGhi+Uo7o4k8vIvNT9JRVvG6VTfTUpJsOZDmMCGwHzd3Dt04tm8OcCl",
    "pdS8PQCSYQAkI+WfN5WjEUod2gFvr5dBFtw7ho+R",
);
const EC_PKCS8_B64: &str = concat!(
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgD7hOEklWff7V8F2JlXLGnlIIsEyR1aoUUnVfZ0Ha",
    "2HOhRANCAAS7i2PmhEw/ASwWyHQ6iOvNWRgH+kJUGVPTV+KB/dr749U0gjOzWEBADNfCQ3WO8XG8xOr1dVuVW63Y",
    "i0XACrOL",
);

fn vectors_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/verify.json")
}

struct FixedKeys {
    ed: TestKey,
    rs: TestKey,
    es: TestKey,
    other: TestKey,
    attacker: TestKey,
}

fn fixed_keys() -> FixedKeys {
    FixedKeys {
        ed: TestKey::ed25519_from_seed("ed-2026", [7u8; 32]),
        rs: TestKey::rsa_from_pkcs8(
            "rsa-2026",
            Algorithm::RS256,
            &STANDARD.decode(RSA_PKCS8_B64).unwrap(),
        ),
        es: TestKey::ec_from_pkcs8(
            "ec-2026",
            Algorithm::ES256,
            &STANDARD.decode(EC_PKCS8_B64).unwrap(),
        ),
        other: TestKey::ed25519_from_seed("idp2-ed", [9u8; 32]),
        attacker: TestKey::ed25519_from_seed("ed-2026", [66u8; 32]),
    }
}

fn set(mut v: Value, k: &str, val: Value) -> Value {
    v[k] = val;
    v
}

fn unset(mut v: Value, k: &str) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove(k);
    }
    v
}

/// (name, config, assertion, client_id, requested scope, expected reason or None=accepted)
type Spec = (
    &'static str,
    &'static str,
    String,
    &'static str,
    Option<&'static str>,
    Option<RejectReason>,
);

fn specs(k: &FixedKeys) -> Vec<Spec> {
    use RejectReason as R;
    let c = |jti: &str| claims(jti);
    let hdr = |key: &TestKey, extra: Value| {
        let mut h = key.header();
        for (n, v) in extra.as_object().into_iter().flatten() {
            h[n] = v.clone();
        }
        h
    };
    let valid_ed = k.ed.token(&c("v-ed"));
    let parts: Vec<String> = valid_ed.split('.').map(String::from).collect();
    let (h, p, s) = (&parts[0], &parts[1], &parts[2]);
    vec![
        ("valid_eddsa", "strict", valid_ed.clone(), CLIENT, None, None),
        ("replayed_second_presentation", "strict", valid_ed.clone(), CLIENT, None, Some(R::Replayed)),
        ("valid_rs256", "strict", k.rs.token(&c("v-rs")), CLIENT, None, None),
        ("valid_es256", "strict", k.es.token(&c("v-es")), CLIENT, None, None),
        ("valid_aud_one_element_array", "strict", k.ed.token(&set(c("v-aud"), "aud", json!([AS]))), CLIENT, None, None),
        ("valid_typ_long_form_upper_case", "strict", k.ed.sign(&hdr(&k.ed, json!({"typ": "Application/OAUTH-ID-JAG+JWT"})), &c("v-typ")), CLIENT, None, None),
        ("valid_scope_intersection", "strict", k.ed.token(&c("v-scope")), CLIENT, Some("write admin"), None),
        ("valid_resource_array", "strict", k.ed.token(&set(c("v-res"), "resource", json!([RESOURCE, RESOURCE2]))), CLIENT, None, None),
        ("valid_missing_resource_default_policy", "default_resource", k.ed.token(&unset(c("v-nores"), "resource")), CLIENT, None, None),
        ("alg_none", "strict", format!("{}.{p}.", b64(br#"{"alg":"none","typ":"oauth-id-jag+jwt"}"#)), CLIENT, None, Some(R::UnsupportedAlg)),
        ("hs256_with_public_key", "strict", {
            let mut hk = k.rs.clone();
            hk.enc = jsonwebtoken::EncodingKey::from_secret(k.rs.jwk.to_string().as_bytes());
            hk.sign_raw_as(Algorithm::HS256, &json!({"alg":"HS256","typ":"oauth-id-jag+jwt","kid":"rsa-2026"}).to_string(), &c("x-hs").to_string())
        }, CLIENT, None, Some(R::UnsupportedAlg)),
        ("typ_missing", "strict", k.ed.sign(&json!({"alg": "EdDSA", "kid": "ed-2026"}), &c("x-t1")), CLIENT, None, Some(R::InvalidTyp)),
        ("typ_jwt", "strict", k.ed.sign(&hdr(&k.ed, json!({"typ": "JWT"})), &c("x-t2")), CLIENT, None, Some(R::InvalidTyp)),
        ("crit_header", "strict", k.ed.sign(&hdr(&k.ed, json!({"crit": ["exp"]})), &c("x-crit")), CLIENT, None, Some(R::CritUnsupported)),
        ("jku_injection", "strict", k.attacker.sign(&hdr(&k.attacker, json!({"jku": "https://evil.example/jwks"})), &c("x-jku")), CLIENT, None, Some(R::HeaderKeyInjection)),
        ("jwk_injection", "strict", k.attacker.sign(&hdr(&k.attacker, json!({"jwk": k.attacker.jwk})), &c("x-jwk")), CLIENT, None, Some(R::HeaderKeyInjection)),
        ("untrusted_issuer", "strict", k.attacker.token(&set(c("x-iss"), "iss", json!("https://evil.example"))), CLIENT, None, Some(R::UntrustedIssuer)),
        ("unknown_kid", "strict", k.ed.sign(&hdr(&k.ed, json!({"kid": "nope"})), &c("x-kid")), CLIENT, None, Some(R::UnknownKey)),
        ("key_of_other_trusted_issuer", "strict", k.other.token(&c("x-cross")), CLIENT, None, Some(R::UnknownKey)),
        ("forged_with_reused_kid", "strict", k.attacker.token(&c("x-forged")), CLIENT, None, Some(R::BadSignature)),
        ("tampered_payload", "strict", format!("{h}.{}.{s}", b64(set(c("v-ed"), "sub", json!("admin")).to_string().as_bytes())), CLIENT, None, Some(R::BadSignature)),
        ("aud_two_elements", "strict", k.ed.token(&set(c("x-a1"), "aud", json!([AS, "https://other.example"]))), CLIENT, None, Some(R::AudienceMismatch)),
        ("aud_token_endpoint", "strict", k.ed.token(&set(c("x-a2"), "aud", json!(format!("{AS}/token")))), CLIENT, None, Some(R::AudienceMismatch)),
        ("aud_trailing_slash", "strict", k.ed.token(&set(c("x-a3"), "aud", json!(format!("{AS}/")))), CLIENT, None, Some(R::AudienceMismatch)),
        ("client_id_mismatch", "strict", k.ed.token(&c("x-c1")), "client-2", None, Some(R::ClientMismatch)),
        ("expired", "strict", k.ed.token(&set(set(c("x-exp"), "exp", json!(NOW - 61)), "iat", json!(NOW - 200))), CLIENT, None, Some(R::Expired)),
        ("iat_in_future", "strict", k.ed.token(&set(set(c("x-iat"), "iat", json!(NOW + 120)), "exp", json!(NOW + 300))), CLIENT, None, Some(R::IssuedInFuture)),
        ("too_old", "strict", k.ed.token(&set(set(c("x-old"), "iat", json!(NOW - 400)), "exp", json!(NOW + 100))), CLIENT, None, Some(R::TooOld)),
        ("lifetime_too_long", "strict", k.ed.token(&set(c("x-life"), "exp", json!(NOW + 86_400))), CLIENT, None, Some(R::LifetimeTooLong)),
        ("nbf_ahead", "strict", k.ed.token(&set(c("x-nbf"), "nbf", json!(NOW + 120))), CLIENT, None, Some(R::NotYetValid)),
        ("missing_jti", "strict", k.ed.token(&unset(c("x-j"), "jti")), CLIENT, None, Some(R::MissingClaim)),
        ("missing_sub", "strict", k.ed.token(&unset(c("x-s"), "sub")), CLIENT, None, Some(R::MissingClaim)),
        ("missing_exp", "strict", k.ed.token(&unset(c("x-e"), "exp")), CLIENT, None, Some(R::MissingClaim)),
        ("missing_iat", "strict", k.ed.token(&unset(c("x-i"), "iat")), CLIENT, None, Some(R::MissingClaim)),
        ("missing_resource_strict_policy", "strict", k.ed.token(&unset(c("x-r0"), "resource")), CLIENT, None, Some(R::MissingClaim)),
        ("wrong_resource", "strict", k.ed.token(&set(c("x-r1"), "resource", json!("https://other-mcp.example/mcp"))), CLIENT, None, Some(R::ResourceMismatch)),
        ("scope_not_granted", "strict", k.ed.token(&c("x-sc")), CLIENT, Some("admin"), Some(R::ScopeNotGranted)),
        ("duplicate_claims", "strict", k.ed.sign_raw(&k.ed.header().to_string(), &format!(
            r#"{{"iss":"{IDP}","sub":"user-1","aud":"{AS}","client_id":"{CLIENT}","jti":"x-dup","iat":{},"exp":{},"resource":"{RESOURCE}","sub":"admin"}}"#,
            NOW - 10, NOW + 290)), CLIENT, None, Some(R::Malformed)),
        ("invalid_base64", "strict", format!("{h}*.{p}.{s}"), CLIENT, None, Some(R::Malformed)),
        ("invalid_json", "strict", k.ed.sign_raw(&k.ed.header().to_string(), "{\"iss\":"), CLIENT, None, Some(R::Malformed)),
        ("jwe_five_segments", "strict", format!("{h}.a.b.c.d"), CLIENT, None, Some(R::EncryptedUnsupported)),
        ("oversized", "strict", k.ed.token(&set(c("x-big"), "pad", json!("A".repeat(17 * 1024)))), CLIENT, None, Some(R::TooLarge)),
        // Scope policy (B3): without a `scope` claim nothing is granted unless `default_scope`
        // says so; `scope_not_granted` answers `invalid_scope` on the wire.
        ("valid_scope_claim_normalised", "strict", k.ed.token(&set(c("v-norm"), "scope", json!(" write read  read"))), CLIENT, None, None),
        ("no_scope_claim_grants_no_scope", "strict", k.ed.token(&unset(c("v-nosc"), "scope")), CLIENT, None, None),
        ("no_scope_claim_requested_scope_not_granted", "strict", k.ed.token(&unset(c("x-nosc"), "scope")), CLIENT, Some("admin"), Some(R::ScopeNotGranted)),
        ("scope_claim_not_rfc6749", "strict", k.ed.token(&set(c("x-sc-tab"), "scope", json!("read\twrite"))), CLIENT, None, Some(R::Malformed)),
        ("requested_scope_not_rfc6749", "strict", k.ed.token(&c("x-req-q")), CLIENT, Some("read \"write\""), Some(R::ScopeNotGranted)),
        ("default_scope_stands_in_for_missing_claim", "scope_policy", k.ed.token(&unset(c("v-def"), "scope")), CLIENT, None, None),
        ("default_scope_narrowed_by_request", "scope_policy", k.ed.token(&unset(c("v-def2"), "scope")), CLIENT, Some("read admin"), None),
        ("default_scope_request_outside", "scope_policy", k.ed.token(&unset(c("x-def3"), "scope")), CLIENT, Some("admin"), Some(R::ScopeNotGranted)),
        ("client_scopes_cap_asserted_scope", "scope_policy", k.ed.token(&set(c("v-cap"), "scope", json!("read write admin"))), CLIENT, None, None),
        ("client_scopes_cap_request", "scope_policy", k.ed.token(&set(c("x-cap2"), "scope", json!("read write admin"))), CLIENT, Some("admin"), Some(R::ScopeNotGranted)),
        ("client_scopes_unlisted_client_gets_none", "scope_policy", k.ed.token(&set(set(c("v-cap3"), "client_id", json!("client-9")), "scope", json!("read"))), "client-9", None, None),
        // Typed optional claims: tenancy and authentication context, surfaced as fields.
        ("valid_tenancy_and_auth_claims", "strict", k.ed.token(&set(set(set(set(set(c("v-ten"), "tenant", json!("acme")), "aud_tenant", json!("t-9")), "aud_sub", json!("u-42")), "acr", json!("pwd")), "auth_time", json!(NOW - 86_400))), CLIENT, None, None),
        ("tenant_not_a_string", "strict", k.ed.token(&set(c("x-ten"), "tenant", json!(7))), CLIENT, None, Some(R::Malformed)),
        ("acr_empty", "strict", k.ed.token(&set(c("x-acr"), "acr", json!(""))), CLIENT, None, Some(R::Malformed)),
        ("auth_time_in_future", "strict", k.ed.token(&set(c("x-atf"), "auth_time", json!(NOW + 120))), CLIENT, None, Some(R::Malformed)),
        // User-authentication policy (step-up): `insufficient_user_authentication` on the
        // wire, with the requirement as RFC 9470 `acr_values` / `max_age`.
        ("step_up_accepted", "step_up", k.ed.token(&set(set(c("v-su"), "acr", json!("mfa")), "auth_time", json!(NOW - 300))), CLIENT, None, None),
        ("step_up_acr_missing", "step_up", k.ed.token(&set(c("x-su1"), "auth_time", json!(NOW))), CLIENT, None, Some(R::AcrNotAccepted)),
        ("step_up_acr_not_accepted", "step_up", k.ed.token(&set(set(c("x-su2"), "acr", json!("pwd")), "auth_time", json!(NOW))), CLIENT, None, Some(R::AcrNotAccepted)),
        ("step_up_auth_time_missing", "step_up", k.ed.token(&set(c("x-su3"), "acr", json!("phrh"))), CLIENT, None, Some(R::AuthTimeTooOld)),
        ("step_up_auth_time_too_old", "step_up", k.ed.token(&set(set(c("x-su4"), "acr", json!("phrh")), "auth_time", json!(NOW - 661))), CLIENT, None, Some(R::AuthTimeTooOld)),
        ("step_up_per_resource_acr", "step_up", k.ed.token(&set(set(set(c("x-su5"), "resource", json!(RESOURCE2)), "acr", json!("mfa")), "auth_time", json!(NOW))), CLIENT, None, Some(R::AcrNotAccepted)),
        ("step_up_per_resource_age", "step_up", k.ed.token(&set(set(set(c("x-su6"), "resource", json!(RESOURCE2)), "acr", json!("phrh")), "auth_time", json!(NOW - 121))), CLIENT, None, Some(R::AuthTimeTooOld)),
        ("step_up_per_resource_accepted", "step_up", k.ed.token(&set(set(set(c("v-su7"), "resource", json!(RESOURCE2)), "acr", json!("phrh")), "auth_time", json!(NOW - 30))), CLIENT, None, None),
        // Replay policy `until_exp` (weaker): the second presentation is accepted too.
        ("until_exp_first_presentation", "until_exp", k.ed.token(&c("v-ue")), CLIENT, None, None),
        ("until_exp_second_presentation", "until_exp", k.ed.token(&c("v-ue")), CLIENT, None, None),
    ]
}

fn configs(k: &FixedKeys) -> Value {
    let strict = config_json(&[&k.ed, &k.rs, &k.es], &[&k.other], json!({}));
    let default = config_json(
        &[&k.ed, &k.rs, &k.es],
        &[&k.other],
        json!({"default_resource": RESOURCE}),
    );
    let scope_policy = config_json(
        &[&k.ed, &k.rs, &k.es],
        &[&k.other],
        json!({
            "default_resource": RESOURCE,
            "default_scope": "read write",
            "client_scopes": {CLIENT: "read write"}
        }),
    );
    let step_up = config_json(
        &[&k.ed, &k.rs, &k.es],
        &[&k.other],
        json!({
            "user_authentication": {
                "acr_values": ["phrh", "mfa"],
                "max_auth_age_s": 600,
                "resources": {RESOURCE2: {"acr_values": ["phrh"], "max_auth_age_s": 60}}
            }
        }),
    );
    let until_exp = config_json(
        &[&k.ed, &k.rs, &k.es],
        &[&k.other],
        json!({"replay": {"policy": "until_exp"}}),
    );
    json!({"strict": strict, "default_resource": default, "scope_policy": scope_policy,
           "step_up": step_up, "until_exp": until_exp})
}

fn outcome(r: &idjag::Result<idjag::VerifiedGrant>) -> Value {
    match r {
        Ok(g) => json!({
            "result": "accepted",
            "iss": g.iss, "sub": g.sub, "client_id": g.client_id,
            "resource": g.resource, "resource_defaulted": g.resource_defaulted,
            "scope": g.scope, "scope_source": g.scope_source,
            "jti": g.jti, "exp": g.exp, "iat": g.iat, "first_use": g.first_use,
            "tenant": g.tenant, "aud_tenant": g.aud_tenant, "aud_sub": g.aud_sub,
            "acr": g.acr, "auth_time": g.auth_time
        }),
        Err(e) => {
            let wire = token_error_response(e);
            let mut w = json!({"status": wire.status, "error": wire.body.error});
            if let Some(a) = &wire.acr_values {
                w["acr_values"] = json!(a);
            }
            if let Some(m) = wire.max_age {
                w["max_age"] = json!(m);
            }
            json!({"result": "rejected", "error": e.code(), "reason": e.reason(), "wire": w})
        }
    }
}

fn verifiers(configs: &Value, now: i64) -> HashMap<String, IdJagVerifier> {
    let clock = ManualClock::new(now);
    configs
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, cfg)| {
            let cfg = VerifierConfig::from_json(&cfg.to_string()).unwrap();
            let v = IdJagVerifier::builder(cfg)
                .clock(Arc::new(clock.clone()))
                .build()
                .unwrap();
            (name.clone(), v)
        })
        .collect()
}

#[test]
#[ignore = "writes tests/vectors/verify.json; run with IDJAG_REGENERATE_VECTORS=1"]
fn regenerate() {
    if std::env::var("IDJAG_REGENERATE_VECTORS").as_deref() != Ok("1") {
        eprintln!("set IDJAG_REGENERATE_VECTORS=1 to write the vectors");
        return;
    }
    let k = fixed_keys();
    let configs = configs(&k);
    let vs = verifiers(&configs, NOW);
    let mut cases = Vec::new();
    for (name, config, assertion, client_id, scope, expect) in specs(&k) {
        let got = vs[config].verify(&assertion, client_id, scope);
        // The generator checks its own expectations before writing anything.
        match (&got, expect) {
            (Ok(_), None) => {}
            (Err(e), Some(r)) if RejectReason::of(e) == Some(r) => {}
            _ => panic!("{name}: unexpected outcome {:?}", got.as_ref().err()),
        }
        cases.push(json!({
            "name": name,
            "config": config,
            "assertion": assertion,
            "client_id": client_id,
            "requested_scope": scope,
            "expect": outcome(&got),
        }));
    }
    let doc = json!({
        "description": "ID-JAG verifier vectors. Build one verifier per entry of `configs` with a clock fixed at `now` (Unix seconds) and an empty in-memory replay store; run `cases` in order, each against the verifier named by its `config` (replay state carries over between cases); compare the outcome with `expect`: `accepted` with the listed grant fields (`scope` is the canonical sorted scope or null for no scope; `scope_source` is `id_jag`, `default_scope` or `no_statement`; `first_use` is false only for a re-presentation under replay policy `until_exp`; `tenant`, `aud_tenant`, `aud_sub`, `acr`, `auth_time` are the typed claims or null), or `rejected` with error code `verification_failed`, the `reason` code and the token endpoint's `wire` answer: `status` and `error` (`invalid_scope` for `scope_not_granted`, `insufficient_user_authentication` for `acr_not_accepted` and `auth_time_too_old`, `invalid_grant` for every other reason), plus the body members `acr_values` (string) and `max_age` (number) when the answer carries them (step-up answers only).",
        "regenerate": "IDJAG_REGENERATE_VECTORS=1 cargo test -p idjag --test verify_vectors -- --ignored regenerate",
        "now": NOW,
        "configs": configs,
        "cases": cases,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    std::fs::write(vectors_path(), text).unwrap();
}

#[test]
fn replay_shared_vectors() {
    let text = std::fs::read_to_string(vectors_path()).expect("tests/vectors/verify.json");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let now = doc["now"].as_i64().unwrap();
    let vs = verifiers(&doc["configs"], now);
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "{}", cases.len());
    let mut reasons = std::collections::HashSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let v = &vs[case["config"].as_str().unwrap()];
        let got = v.verify(
            case["assertion"].as_str().unwrap(),
            case["client_id"].as_str().unwrap(),
            case["requested_scope"].as_str(),
        );
        if let Err(e) = &got {
            reasons.insert(e.reason().unwrap_or("none"));
        }
        assert_eq!(outcome(&got), case["expect"], "vector case {name}");
    }
    // The vectors cover most reasons; the corpus test covers all of them.
    assert!(reasons.len() >= 20, "{reasons:?}");
}
