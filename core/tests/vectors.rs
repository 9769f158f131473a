//! Replays `tests/vectors/client.json` with an in-memory HTTP client that records the exact
//! request bytes (the loopback runs live in the other test files and in every binding).

use idjag::clock::ManualClock;
use idjag::http::{HttpRequest, HttpResponse};
use idjag::{
    AuthMethod, Client, ClientCredentials, Error, IdJagRequest, RedeemRequest, SubjectTokenType,
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

fn client_for(stub: Arc<Stub>, clock: i64) -> Client {
    let s = stub.clone();
    let http = move |req: &HttpRequest| -> Result<HttpResponse, Error> {
        s.seen.lock().expect("lock").push((
            req.method.as_str().to_string(),
            req.url.clone(),
            req.headers.clone(),
            req.body.clone(),
        ));
        let r = &s.response;
        Ok(HttpResponse {
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
        })
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

fn creds(v: &Value) -> ClientCredentials {
    let mut c = ClientCredentials::new(v["client_id"].as_str().expect("client_id"));
    if let Some(s) = v["client_secret"].as_str() {
        c = c.with_secret(s);
    }
    if let Some(m) = v["auth_method"].as_str() {
        c = c.with_method(AuthMethod::from_code(m).expect("method"));
    }
    c
}

fn url(v: &Value) -> String {
    v.as_str().expect("url").replace("{base}", BASE)
}

fn id_jag_request(input: &Value) -> IdJagRequest {
    let mut r = IdJagRequest::new(
        url(&input["token_endpoint"]),
        input["audience"].as_str().expect("audience"),
        input["subject_token"].as_str().expect("subject"),
        SubjectTokenType::parse(input["subject_token_type"].as_str().expect("type")).expect("t"),
        creds(&input["client"]),
    );
    if let Some(s) = input["resource"].as_str() {
        r = r.resource(s);
    }
    if let Some(s) = input["scope"].as_str() {
        r = r.scope(s);
    }
    r
}

fn redeem_request(input: &Value) -> RedeemRequest {
    let mut r = RedeemRequest::new(
        url(&input["token_endpoint"]),
        input["assertion"].as_str().expect("assertion"),
        creds(&input["client"]),
    );
    if let Some(s) = input["scope"].as_str() {
        r = r.scope(s);
    }
    if let Some(s) = input["resource"].as_str() {
        r = r.resource(s);
    }
    r
}

fn check_request(stub: &Stub, expect: &Value, name: &str) {
    let seen = stub.seen.lock().expect("lock");
    assert_eq!(seen.len(), 1, "{name}: exactly one request");
    let (method, u, headers, body) = &seen[0];
    assert_eq!(method, expect["method"].as_str().expect("m"), "{name}");
    assert_eq!(
        u,
        &format!("{BASE}{}", expect["path"].as_str().expect("p")),
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

fn check_error(e: &Error, expect: &Value, name: &str) {
    assert_eq!(
        e.code(),
        expect["code"].as_str().expect("code"),
        "{name}: {e}"
    );
    if let Some(s) = expect["step"].as_str() {
        assert_eq!(e.step().code(), s, "{name}");
    }
    if let Some(a) = expect["action"].as_str() {
        assert_eq!(e.action().code(), a, "{name}");
    }
    if let Some(s) = expect["status"].as_u64() {
        assert_eq!(e.status(), Some(s as u16), "{name}");
    }
    for (field, got) in [
        ("oauth_error", e.oauth_error().map(|o| o.error.clone())),
        (
            "error_description",
            e.oauth_error().and_then(|o| o.error_description.clone()),
        ),
        (
            "error_uri",
            e.oauth_error().and_then(|o| o.error_uri.clone()),
        ),
    ] {
        if let Some(v) = expect[field].as_str() {
            assert_eq!(got.as_deref(), Some(v), "{name}: {field}");
        }
    }
}

/// SPEC §2.C: leg-1 requests are byte-exact; §2.D: responses are validated.
#[test]
fn request_id_jag_vectors() {
    let v = vectors();
    let clock = v["clock"].as_i64().expect("clock");
    for case in v["request_id_jag"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let stub = stub(&case["response"]);
        let got = client_for(stub.clone(), clock).request_id_jag(&id_jag_request(&case["input"]));
        check_request(&stub, &case["expect_request"], name);
        let ok = &case["expect"]["ok"];
        let j = got.unwrap_or_else(|e| panic!("{name}: {e}"));
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

/// SPEC §2.D, §2.I: every failure is a typed error without secrets.
#[test]
fn id_jag_response_vectors() {
    let v = vectors();
    let input = &v["request_id_jag"][0]["input"];
    for case in v["id_jag_responses"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let e = client_for(stub(&case["response"]), 0)
            .request_id_jag(&id_jag_request(input))
            .expect_err(name);
        check_error(&e, &case["expect"]["error"], name);
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("eyJ.subject.token") && !shown.contains("s3cr"),
            "{name}: {shown}"
        );
    }
}

/// SPEC §2.F.
#[test]
fn redeem_vectors() {
    let v = vectors();
    let clock = v["clock"].as_i64().expect("clock");
    for case in v["redeem_id_jag"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let stub = stub(&case["response"]);
        let got = client_for(stub.clone(), clock).redeem_id_jag(&redeem_request(&case["input"]));
        check_request(&stub, &case["expect_request"], name);
        let ok = &case["expect"]["ok"];
        let t = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            t.access_token.expose_secret(),
            ok["access_token"].as_str().expect("at")
        );
        assert_eq!(t.token_type, ok["token_type"].as_str().expect("tt"));
        assert_eq!(t.expires_in, ok["expires_in"].as_u64());
        assert_eq!(t.expires_at, ok["expires_at"].as_i64());
        assert_eq!(t.scope.as_deref(), ok["scope"].as_str());
    }
    let input = &v["redeem_id_jag"][0]["input"];
    for case in v["access_token_responses"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let e = client_for(stub(&case["response"]), 0)
            .redeem_id_jag(&redeem_request(input))
            .expect_err(name);
        check_error(&e, &case["expect"]["error"], name);
        assert!(!format!("{e} {e:?}").contains("eyJ.id.jag"), "{name}");
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
        assert_eq!(ch.error.as_deref(), e["error"].as_str(), "{h}");
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
