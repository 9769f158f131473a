//! Replays `tests/vectors/client.json`. Every request is built from its JSON request shape
//! (`IdJagRequest::from_json`, …), prepared by the pure `prepare()` and compared byte for byte,
//! then sent through an in-memory HTTP client that records the exact bytes on the wire (they
//! must be the prepared ones), and every response is parsed both by the pure parser and by the
//! sending call (same result). The loopback runs live in the other test files and in every
//! binding.

use idjag::clock::ManualClock;
use idjag::http::{HttpRequest, HttpResponse};
use idjag::{
    Client, Error, IdJagRequest, IdTokenRefreshRequest, PrepareContext, PreparedRequest,
    RedeemRequest,
};
use serde_json::Value;
use std::sync::{Arc, Mutex};

const BASE: &str = "https://stub.example";

type Seen = (String, String, Vec<(String, String)>, Vec<u8>);

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/client.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("json")
}

struct Stub {
    seen: Mutex<Vec<Seen>>,
    response: Value,
}

fn body_of(resp: &Value) -> Vec<u8> {
    if let Some(r) = resp.get("body_repeat") {
        let mut s = r["prefix"].as_str().unwrap_or("").to_string();
        s.push_str(
            &r["fill"]
                .as_str()
                .unwrap_or("")
                .repeat(r["count"].as_u64().unwrap_or(0) as usize),
        );
        s.push_str(r["suffix"].as_str().unwrap_or(""));
        return s.into_bytes();
    }
    resp["body"].as_str().unwrap_or("").as_bytes().to_vec()
}

fn http_response(r: &Value) -> HttpResponse {
    HttpResponse {
        status: r["status"].as_u64().unwrap_or(200) as u16,
        headers: r["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        body: body_of(r),
    }
}

fn client_for(stub: Arc<Stub>, clock: i64) -> Client {
    let s = stub.clone();
    let http = move |req: &HttpRequest| -> Result<HttpResponse, Error> {
        s.seen.lock().expect("lock").push((
            req.method.as_str().to_string(),
            req.url.clone(),
            req.headers.clone(),
            req.body.clone(),
        ));
        Ok(http_response(&s.response))
    };
    Client::builder()
        .http_client(Arc::new(http))
        .clock(Arc::new(ManualClock::new(clock)))
        .build()
        .expect("client")
}

fn stub(response: &Value) -> Arc<Stub> {
    Arc::new(Stub {
        seen: Mutex::default(),
        response: response.clone(),
    })
}

/// The input with `{base}` replaced, as JSON text (the shape bindings and the CLI pass).
fn request_json(input: &Value) -> String {
    input.to_string().replace("{base}", BASE)
}

fn leg1(input: &Value) -> IdJagRequest {
    IdJagRequest::from_json(&request_json(input)).unwrap_or_else(|e| panic!("leg 1 input: {e}"))
}

fn leg2(input: &Value) -> RedeemRequest {
    RedeemRequest::from_json(&request_json(input)).unwrap_or_else(|e| panic!("leg 2 input: {e}"))
}

fn refresh(input: &Value) -> IdTokenRefreshRequest {
    IdTokenRefreshRequest::from_json(&request_json(input))
        .unwrap_or_else(|e| panic!("refresh input: {e}"))
}

fn context(v: &Value) -> PrepareContext {
    PrepareContext::at(v["clock"].as_i64().expect("clock")).jti(v["jti"].as_str().expect("jti"))
}

/// Compares method, URL, headers (`null`: absent), body and, when given, the auth method.
fn check_parts(
    (method, url, headers, body): (&str, &str, &[(String, String)], &[u8]),
    expect: &Value,
    name: &str,
) {
    assert_eq!(method, expect["method"].as_str().expect("m"), "{name}");
    assert_eq!(
        url,
        format!("{BASE}{}", expect["path"].as_str().expect("p")),
        "{name}"
    );
    for (k, v) in expect["headers"].as_object().expect("headers") {
        let got = headers
            .iter()
            .find(|(hk, _)| hk.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str());
        assert_eq!(got, v.as_str(), "{name}: header {k}");
    }
    assert_eq!(
        std::str::from_utf8(body).expect("utf8"),
        expect["body"].as_str().expect("body"),
        "{name}: body"
    );
}

fn check_prepared(p: &PreparedRequest, expect: &Value, name: &str) {
    check_parts(
        (
            p.method().as_str(),
            p.url(),
            p.expose_headers(),
            p.expose_body().as_bytes(),
        ),
        expect,
        name,
    );
    if let Some(m) = expect["auth_method"].as_str() {
        assert_eq!(p.auth_method().code(), m, "{name}: auth method");
    }
    if let Some(a) = expect["auth_method_advertised"].as_bool() {
        assert_eq!(p.auth_method_advertised(), a, "{name}: advertised");
    }
}

/// The one request the stub saw is exactly the prepared one.
fn check_sent(stub: &Stub, expect: &Value, name: &str) {
    let seen = stub.seen.lock().expect("lock");
    assert_eq!(seen.len(), 1, "{name}: exactly one request");
    let (method, url, headers, body) = &seen[0];
    check_parts((method, url, headers, body), expect, name);
}

/// Compares the fields listed in `expect` with the error's JSON view (the shape every binding
/// prints), and its accessors.
fn check_error(e: &Error, expect: &Value, name: &str) {
    let view: Value = serde_json::from_str(&e.to_json()).expect("error json");
    for (field, want) in expect.as_object().expect("error fields") {
        assert_eq!(&view[field], want, "{name}: {field} ({e})");
    }
    assert_eq!(view["code"], e.code(), "{name}");
    assert_eq!(view["number"], e.kind().number(), "{name}");
    assert_eq!(
        view["oauth_error"].as_str(),
        e.oauth_error().map(|o| o.error.as_str()),
        "{name}"
    );
}

/// SPEC §2.C: leg-1 requests are byte-exact; §2.D: responses are validated.
#[test]
fn request_id_jag_vectors() {
    let v = vectors();
    let clock = v["clock"].as_i64().expect("clock");
    for case in v["request_id_jag"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let req = leg1(&case["input"]);
        let prepared = req.prepare(&context(&v)).expect(name);
        check_prepared(&prepared, &case["expect_request"], name);
        let stub = stub(&case["response"]);
        let sent = client_for(stub.clone(), clock).request_id_jag(&req);
        check_sent(&stub, &case["expect_request"], name);
        let parsed = prepared.parse_id_jag(&http_response(&case["response"]));
        let ok = &case["expect"]["ok"];
        for j in [
            sent.unwrap_or_else(|e| panic!("{name}: {e}")),
            parsed.unwrap_or_else(|e| panic!("{name}: {e}")),
        ] {
            assert_eq!(
                j.assertion.expose_secret(),
                ok["assertion"].as_str().expect("a"),
                "{name}"
            );
            assert_eq!(j.expires_in, ok["expires_in"].as_u64(), "{name}");
            assert_eq!(j.expires_at, ok["expires_at"].as_i64(), "{name}");
            assert_eq!(
                j.scope.as_deref(),
                ok["scope"].as_str().or(case["input"]["scope"].as_str()),
                "{name}"
            );
        }
    }
}

/// No string of `expect.hidden` (planted token values) appears anywhere in the error.
fn check_hidden(e: &Error, expect: &Value, name: &str) {
    let shown = format!("{e} {e:?} {}", e.to_json());
    for planted in expect["hidden"].as_array().into_iter().flatten() {
        let planted = planted.as_str().expect("hidden string");
        assert!(!shown.contains(planted), "{name}: `{planted}` in {shown}");
    }
}

/// SPEC §2.D, §2.I: every failure is a typed error without secrets, from the pure parser and
/// from the sending call alike.
#[test]
fn id_jag_response_vectors() {
    let v = vectors();
    for case in v["id_jag_responses"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let input = case
            .get("input")
            .unwrap_or(&v["request_id_jag"][0]["input"]);
        let req = leg1(input);
        let prepared = req.prepare(&context(&v)).expect(name);
        let errors = [
            client_for(stub(&case["response"]), 0)
                .request_id_jag(&req)
                .expect_err(name),
            prepared
                .parse_id_jag(&http_response(&case["response"]))
                .expect_err(name),
        ];
        for e in &errors {
            check_error(e, &case["expect"]["error"], name);
            check_hidden(e, &case["expect"], name);
            let shown = format!("{e} {e:?} {}", e.to_json());
            assert!(
                !shown.contains("eyJ.subject.token") && !shown.contains("s3cr"),
                "{name}: {shown}"
            );
        }
    }
}

/// SPEC §2.F.
#[test]
fn redeem_vectors() {
    let v = vectors();
    let clock = v["clock"].as_i64().expect("clock");
    for case in v["redeem_id_jag"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let req = leg2(&case["input"]);
        let prepared = req.prepare(&context(&v)).expect(name);
        check_prepared(&prepared, &case["expect_request"], name);
        let stub = stub(&case["response"]);
        let sent = client_for(stub.clone(), clock).redeem_id_jag(&req);
        check_sent(&stub, &case["expect_request"], name);
        let parsed = prepared.parse_access_token(&http_response(&case["response"]));
        let ok = &case["expect"]["ok"];
        for t in [
            sent.unwrap_or_else(|e| panic!("{name}: {e}")),
            parsed.unwrap_or_else(|e| panic!("{name}: {e}")),
        ] {
            assert_eq!(
                t.access_token.expose_secret(),
                ok["access_token"].as_str().expect("at")
            );
            assert_eq!(t.token_type, ok["token_type"].as_str().expect("tt"));
            assert_eq!(t.expires_in, ok["expires_in"].as_u64());
            assert_eq!(t.expires_at, ok["expires_at"].as_i64());
            assert_eq!(t.scope.as_deref(), ok["scope"].as_str());
        }
    }
    for case in v["access_token_responses"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let input = case.get("input").unwrap_or(&v["redeem_id_jag"][0]["input"]);
        let req = leg2(input);
        let prepared = req.prepare(&context(&v)).expect(name);
        let errors = [
            client_for(stub(&case["response"]), 0)
                .redeem_id_jag(&req)
                .expect_err(name),
            prepared
                .parse_access_token(&http_response(&case["response"]))
                .expect_err(name),
        ];
        for e in &errors {
            check_error(e, &case["expect"]["error"], name);
            check_hidden(e, &case["expect"], name);
            assert!(!format!("{e} {e:?}").contains("eyJ.id.jag"), "{name}");
        }
    }
}

/// The pure builder alone (A3): `private_key_jwt` assertions are byte-exact for a given time
/// and `jti`; the public-client rule; the ID-token refresh; the pure parser's JSON views.
#[test]
fn prepare_vectors() {
    let v = vectors();
    let ctx = context(&v);
    for case in v["prepare"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let input = &case["input"];
        let prepared = match case["leg"].as_str().expect("leg") {
            "request_id_jag" => leg1(input).prepare(&ctx),
            "redeem_id_jag" => leg2(input).prepare(&ctx),
            "refresh_id_token" => refresh(input).prepare(&ctx),
            other => panic!("{name}: leg {other}"),
        };
        let prepared = match (prepared, case.get("expect_request")) {
            (Ok(p), Some(expect)) => {
                check_prepared(&p, expect, name);
                p
            }
            (Err(e), None) => {
                check_error(&e, &case["expect"]["error"], name);
                continue;
            }
            (Ok(_), None) => panic!("{name}: prepared although an error was expected"),
            (Err(e), Some(_)) => panic!("{name}: {e}"),
        };
        let Some(response) = case.get("response") else {
            continue;
        };
        let resp = http_response(response);
        let result: Result<(Value, String), Error> = match case["leg"].as_str() {
            Some("request_id_jag") => prepared.parse_id_jag(&resp).map(|j| {
                (
                    serde_json::to_value(&j).expect("view"),
                    j.assertion.expose_secret().to_string(),
                )
            }),
            Some("redeem_id_jag") => prepared.parse_access_token(&resp).map(|t| {
                (
                    serde_json::to_value(&t).expect("view"),
                    t.access_token.expose_secret().to_string(),
                )
            }),
            _ => prepared.parse_id_token_refresh(&resp).map(|r| {
                (
                    serde_json::to_value(&r).expect("view"),
                    r.id_token.expose_secret().to_string(),
                )
            }),
        };
        match (result, case["expect"].get("error")) {
            (Ok((view, secret)), None) => {
                assert_eq!(view, case["expect"]["view"], "{name}: view");
                assert_eq!(
                    secret,
                    case["expect"]["secret"].as_str().expect("s"),
                    "{name}"
                );
                assert!(
                    !view.to_string().contains(&secret),
                    "{name}: secret in view"
                );
            }
            (Err(e), Some(expect)) => check_error(&e, expect, name),
            (Ok(_), Some(_)) => panic!("{name}: parsed although an error was expected"),
            (Err(e), None) => panic!("{name}: {e}"),
        }
    }
}

/// RFC 6750 / RFC 9728 challenge parsing (SPEC §3.1).
#[test]
fn www_authenticate_vectors() {
    for case in vectors()["www_authenticate"].as_array().expect("cases") {
        let h = case["header"].as_str().expect("h");
        let ch = idjag::challenge::ResourceChallenge::parse([h]);
        let e = &case["expect"];
        assert_eq!(
            ch.resource_metadata.as_deref(),
            e["resource_metadata"].as_str(),
            "{h}"
        );
        assert_eq!(ch.scope.as_deref(), e["scope"].as_str(), "{h}");
        assert_eq!(
            ch.error.as_ref().map(|e| e.as_str()),
            e["error"].as_str(),
            "{h}"
        );
        if let Some(d) = e.get("error_description") {
            assert_eq!(ch.error_description.as_deref(), d.as_str(), "{h}");
        }
    }
}

/// SPEC §3.1 and §3.4 URL construction.
#[test]
fn discovery_url_vectors() {
    for case in vectors()["discovery_urls"].as_array().expect("cases") {
        let expect: Vec<String> = serde_json::from_value(case["expect"].clone()).expect("list");
        if let Some(i) = case["issuer"].as_str() {
            let u = url::Url::parse(i).expect("url");
            assert_eq!(
                idjag::discovery::authorization_server_metadata_urls(&u),
                expect
            );
        } else {
            let u = url::Url::parse(case["server"].as_str().expect("s")).expect("url");
            assert_eq!(
                idjag::discovery::protected_resource_metadata_urls(&u),
                expect
            );
        }
    }
}
