//! Shared helpers for the integration tests: a plain ureq client and flow shortcuts.
#![allow(dead_code)]

use base64::Engine as _;
use idjag_testkit::{Client, TestKit};
use serde_json::Value;
use std::io::Read;

pub const TE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const SAML2: &str = "urn:ietf:params:oauth:token-type:saml2";
pub const RT: &str = "urn:ietf:params:oauth:token-type:refresh_token";
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A response, fully read.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {}", &self.body[..self.body.len().min(300)])
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or("").to_string()
    }
}

/// A plain HTTP client: no redirects, non-2xx statuses are returned, not errors.
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub fn new() -> Http {
        Http::build(None)
    }

    pub fn with_ca(ca_pem: &str) -> Http {
        Http::build(Some(ca_pem))
    }

    fn build(ca: Option<&str>) -> Http {
        let mut cfg = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(20)));
        // ureq has rustls without a provider (the workspace links aws-lc-rs only) and no
        // built-in roots: trust the kit's CA, or nothing.
        let roots = match ca {
            Some(pem) => ureq::tls::RootCerts::new_with_certs(&[ureq::tls::Certificate::from_pem(
                pem.as_bytes(),
            )
            .expect("ca pem")]),
            None => ureq::tls::RootCerts::Specific(std::sync::Arc::new(Vec::new())),
        };
        cfg = cfg.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(roots)
                .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                    rustls::crypto::aws_lc_rs::default_provider(),
                ))
                .build(),
        );
        Http {
            agent: cfg.build().into(),
        }
    }

    pub fn try_request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Res, ureq::Error> {
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut resp = match body {
            Some(data) => self.agent.run(b.body(data).expect("request"))?,
            None => self.agent.run(b.body(()).expect("request"))?,
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let mut body = String::new();
        resp.body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .reader()
            .read_to_string(&mut body)?;
        Ok(Res {
            status,
            headers,
            body,
        })
    }

    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Res {
        self.try_request(method, url, headers, body)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    pub fn get(&self, url: &str) -> Res {
        self.request("GET", url, &[], None)
    }

    /// A form POST; `basic` adds RFC 6749 §2.3.1 HTTP Basic credentials.
    pub fn post_form(&self, url: &str, pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> Res {
        let body = form(pairs);
        let auth = basic.map(|(id, secret)| basic_header(id, secret));
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        self.request("POST", url, &headers, Some(body.into_bytes()))
    }

    /// A JSON-RPC POST to the MCP endpoint.
    pub fn mcp(&self, url: &str, token: Option<&str>, session: Option<&str>, msg: &Value) -> Res {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        if let Some(s) = session {
            headers.push(("Mcp-Session-Id", s));
        }
        self.request("POST", url, &headers, Some(msg.to_string().into_bytes()))
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
pub fn basic_header(id: &str, secret: &str) -> String {
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Decodes a JWT part without verifying.
pub fn jwt_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).expect("jwt part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

pub fn secret(c: &Client) -> &str {
    c.client_secret.as_deref().expect("secret")
}

/// Token exchange at the IdP with the confidential client (Basic).
pub fn exchange(
    kit: &TestKit,
    http: &Http,
    subject: &str,
    subject_type: &str,
    scope: Option<&str>,
) -> Res {
    let c = kit.idp_client();
    let mut p = vec![
        ("grant_type", TE),
        ("requested_token_type", ID_JAG),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
        ("audience", kit.as_issuer()),
        ("resource", kit.mcp_url()),
    ];
    if let Some(s) = scope {
        p.push(("scope", s));
    }
    http.post_form(
        &kit.idp_token_endpoint(),
        &p,
        Some((&c.client_id, secret(&c))),
    )
}

/// JWT-bearer grant at the AS with the confidential AS client (Basic).
pub fn redeem(kit: &TestKit, http: &Http, id_jag: &str, scope: Option<&str>) -> Res {
    let c = kit.as_client();
    let mut p = vec![("grant_type", JWT_BEARER), ("assertion", id_jag)];
    if let Some(s) = scope {
        p.push(("scope", s));
    }
    http.post_form(
        &kit.as_token_endpoint(),
        &p,
        Some((&c.client_id, secret(&c))),
    )
}

/// ID token → ID-JAG → access token.
pub fn access_token(kit: &TestKit, http: &Http, scope: Option<&str>) -> String {
    let r = exchange(kit, http, &kit.mint_id_token("alice"), ID_TOKEN, scope);
    assert_eq!(r.status, 200, "{}", r.body);
    let jag = r.json()["access_token"]
        .as_str()
        .expect("id-jag")
        .to_string();
    let r = redeem(kit, http, &jag, None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"].as_str().expect("at").to_string()
}
