//! The admin API under `{idp}/__testkit/`, so tests in other languages can drive the kit.
//!
//! | Method + path | Body / result |
//! | --- | --- |
//! | `GET /__testkit` or `/__testkit/context` | the same JSON as `idjag-testkit serve --json` prints |
//! | `GET /__testkit/counters` | [`crate::Counters`] as JSON |
//! | `POST /__testkit/reset` | clears counters, faults and the request log |
//! | `GET /__testkit/faults` | current faults per endpoint |
//! | `POST /__testkit/faults` | `{"endpoint": "as_token", "fault": {"type": "status", …}, "times": 1}`; `{"endpoint": "as_token", "clear": true}`; `{"clear": true}` |
//! | `GET /__testkit/requests` | the request log ([`crate::RequestRecord`]s) |
//! | `POST /__testkit/revoke_access_tokens` | `{}` → `{"revoked": n}`: the MCP server answers every access token issued so far with 401 |
//! | `GET /__testkit/last_rejection` | `{"reason": "audience_mismatch"}` (`null` after a success) — why the AS last rejected an ID-JAG |
//! | `POST /__testkit/id_token` | `{"user", "aud"?, "iss"?, "iat"?, "exp"?, "ttl_secs"?, "nonce"?, "alg"?, "extra"?}` → `{"id_token"}` |
//! | `POST /__testkit/saml_assertion` | `{"user", "issuer"?, "audience"?, "not_on_or_after"?}` → `{"assertion"}` |
//! | `POST /__testkit/refresh_token` | `{"user", "client_id"?, "scope"?}` → `{"refresh_token"}` |
//! | `POST /__testkit/id_jag` | `{"user"?, "claims"?: {…, null removes}, "header"?: {…}}` → `{"id_jag", "claims", "header"}` |
//! | `POST /__testkit/access_token` | `{"user"?, "client_id"?, "scope"?, "ttl_secs"?, "resource"?}` → `{"access_token"}` |
//! | `POST /__testkit/rotate_keys` | `{"alg": "ES256", "drop_old": false}` → `{"kid"}` |
//! | `POST /__testkit/unpublish_key` | `{"kid"}` → `{"removed": bool}` |
//! | `POST /__testkit/clock` | `{"offset_secs": 3600}` shifts the servers' clock |
//! | `POST /__testkit/client_map` | `{"idp_client_id", "as_client_id"}` sets the ID-JAG `client_id` mapping |

use crate::faults::{Endpoint, Fault};
use crate::httpd::{lock, Req, Resp};
use crate::idp::{self, IdTokenSpec};
use crate::keys::{Alg, TestKey};
use crate::saml::SamlSpec;
use crate::state::Shared;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;

/// The `MCP_CONFORMANCE_CONTEXT`-shaped object.
pub(crate) fn context(shared: &Shared) -> Value {
    let idp = shared.idp_clients.first().map(|c| c.info.clone());
    let asc = shared.as_clients.first().map(|c| c.info.clone());
    let id_token = idp::mint_id_token(shared, &IdTokenSpec::new(shared.opts.default_user.clone()));
    json!({
        "client_id": asc.as_ref().map(|c| c.client_id.clone()),
        "client_secret": asc.as_ref().and_then(|c| c.client_secret.clone()),
        "idp_client_id": idp.as_ref().map(|c| c.client_id.clone()),
        "idp_client_secret": idp.as_ref().and_then(|c| c.client_secret.clone()),
        "idp_id_token": id_token,
        "idp_issuer": shared.urls.idp_issuer,
        "idp_token_endpoint": shared.urls.idp_token_endpoint(),
    })
}

/// Everything a test in another language needs (the `serve --json` line).
pub(crate) fn info(shared: &Shared) -> Value {
    let u = &shared.urls;
    let client = |list: &[crate::clients::Registered], i: usize| {
        list.get(i)
            .map(|c| serde_json::to_value(&c.info).unwrap_or(Value::Null))
            .unwrap_or(Value::Null)
    };
    json!({
        "mcp_url": u.mcp_url,
        "prm_url": u.prm_url,
        "prm_root_url": u.prm_root_url(),
        "as_issuer": u.as_issuer,
        "as_metadata_url": u.as_metadata_url(),
        "as_token_endpoint": u.as_token_endpoint(),
        "idp_issuer": u.idp_issuer,
        "idp_metadata_url": format!("{}/.well-known/openid-configuration", u.idp_issuer),
        "idp_token_endpoint": u.idp_token_endpoint(),
        "idp_jwks_uri": u.idp_jwks_uri(),
        "idp_jwks": shared.keys().jwks(),
        "idp_authorization_endpoint": u.idp_authorization_endpoint(),
        "admin_url": u.admin_url(),
        "tls": shared.ca_pem.is_some(),
        "ca_pem": shared.ca_pem,
        "user": shared.opts.default_user,
        "scopes_supported": shared.opts.scopes_supported,
        "challenge_scopes": shared.opts.challenge_scopes,
        "clients": {
            "idp": client(&shared.idp_clients, 0),
            "idp_jwt": client(&shared.idp_clients, 1),
            "idp_public": client(&shared.idp_clients, 2),
            "as": client(&shared.as_clients, 0),
            "as_jwt": client(&shared.as_clients, 1),
            "as_post": client(&shared.as_clients, 2),
        },
        "context": context(shared),
    })
}

fn bad(msg: &str) -> Resp {
    Resp::json(
        400,
        &json!({"error": "invalid_request", "error_description": msg}),
    )
}

fn ok(v: Value) -> Resp {
    Resp::json(200, &v)
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn i(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

fn merge(target: &mut Map<String, Value>, patch: Option<&Value>) {
    if let Some(Value::Object(p)) = patch {
        for (k, v) in p {
            if v.is_null() {
                target.remove(k);
            } else {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    let sub = req
        .path
        .trim_start_matches("/__testkit")
        .trim_start_matches('/');
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return bad("body must be a JSON object"),
        }
    };
    let user = s(&body, "user").unwrap_or_else(|| shared.opts.default_user.clone());
    match (req.method.as_str(), sub) {
        ("GET", "") | ("GET", "context") => ok(info(shared)),
        ("GET", "counters") => {
            ok(serde_json::to_value(lock(&shared.counters).snapshot()).unwrap_or(Value::Null))
        }
        ("POST", "reset") => {
            lock(&shared.counters).reset();
            lock(&shared.faults).clear_all();
            lock(&shared.log).clear();
            ok(json!({"ok": true}))
        }
        ("GET", "faults") => {
            ok(serde_json::to_value(lock(&shared.faults).snapshot()).unwrap_or(Value::Null))
        }
        ("POST", "faults") => {
            let ep = match body.get("endpoint") {
                None => None,
                Some(v) => match v.as_str().and_then(Endpoint::parse) {
                    Some(e) => Some(e),
                    None => return bad("unknown endpoint"),
                },
            };
            let clear = body.get("clear").and_then(Value::as_bool) == Some(true);
            match (ep, clear) {
                (None, true) => lock(&shared.faults).clear_all(),
                (Some(e), true) => lock(&shared.faults).clear(e),
                (Some(e), false) => {
                    let fault: Fault = match body.get("fault").cloned().map(serde_json::from_value)
                    {
                        Some(Ok(f)) => f,
                        Some(Err(e)) => return bad(&format!("bad fault: {e}")),
                        None => return bad("missing fault"),
                    };
                    let times = body
                        .get("times")
                        .and_then(Value::as_u64)
                        .map(|t| t.min(u32::MAX as u64) as u32);
                    lock(&shared.faults).set(e, fault, times);
                }
                (None, false) => return bad("missing endpoint"),
            }
            ok(json!({"ok": true}))
        }
        ("GET", "requests") => {
            ok(serde_json::to_value(lock(&shared.log).clone()).unwrap_or(Value::Null))
        }
        ("POST", "revoke_access_tokens") => {
            let mut t = lock(&shared.access_tokens);
            let n = t.len();
            t.clear();
            ok(json!({"revoked": n}))
        }
        ("GET", "last_rejection") => ok(json!({"reason": lock(&shared.last_as_rejection).clone()})),
        ("POST", "id_token") => {
            let alg = match s(&body, "alg") {
                Some(a) => match Alg::parse(&a) {
                    Some(a) => Some(a),
                    None => return bad("unknown alg"),
                },
                None => None,
            };
            let spec = IdTokenSpec {
                user,
                aud: s(&body, "aud"),
                iss: s(&body, "iss"),
                iat: i(&body, "iat"),
                exp: i(&body, "exp"),
                ttl_secs: i(&body, "ttl_secs"),
                nonce: s(&body, "nonce"),
                alg,
                extra: body
                    .get("extra")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            };
            ok(json!({"id_token": idp::mint_id_token(shared, &spec)}))
        }
        ("POST", "saml_assertion") => {
            let spec = SamlSpec {
                user,
                issuer: s(&body, "issuer"),
                audience: s(&body, "audience"),
                not_on_or_after: i(&body, "not_on_or_after"),
            };
            ok(json!({"assertion": idp::mint_saml(shared, &spec)}))
        }
        ("POST", "refresh_token") => {
            let cid = s(&body, "client_id").unwrap_or_else(|| idp::default_idp_client(shared));
            let scope = s(&body, "scope").unwrap_or_else(|| "openid offline_access".into());
            ok(json!({"refresh_token": idp::issue_refresh_token(shared, &user, &cid, &scope)}))
        }
        ("POST", "id_jag") => {
            let as_client = shared.as_client_for(&idp::default_idp_client(shared));
            let base = idp::id_jag_claims(
                shared,
                &user,
                &as_client,
                Some(Value::String(shared.urls.mcp_url.clone())),
                None,
            );
            let mut claims = base.as_object().cloned().unwrap_or_default();
            merge(&mut claims, body.get("claims"));
            let mut header = Map::new();
            header.insert("typ".into(), json!(idjag::urn::JWT_TYP_ID_JAG));
            header.insert("alg".into(), json!(shared.opts.id_jag_alg.as_str()));
            merge(&mut header, body.get("header"));
            let claims = Value::Object(claims);
            let token = idp::sign_jwt(shared, &header, &claims);
            ok(json!({"id_jag": token, "claims": claims, "header": header}))
        }
        ("POST", "access_token") => {
            let cid = s(&body, "client_id").unwrap_or_else(|| {
                shared
                    .as_clients
                    .first()
                    .map(|c| c.info.client_id.clone())
                    .unwrap_or_default()
            });
            let scope = crate::oauth::scopes(&s(&body, "scope").unwrap_or_default());
            let resource = s(&body, "resource").unwrap_or_else(|| shared.urls.mcp_url.clone());
            let ttl = i(&body, "ttl_secs").unwrap_or(shared.opts.as_token_ttl_secs as i64);
            ok(
                json!({"access_token": crate::authz::issue_access_token(shared, &user, &cid, &scope, &resource, ttl)}),
            )
        }
        ("POST", "rotate_keys") => {
            let alg = match s(&body, "alg").map(|a| Alg::parse(&a)) {
                None => shared.opts.id_jag_alg,
                Some(Some(a)) => a,
                Some(None) => return bad("unknown alg"),
            };
            let drop_old = body.get("drop_old").and_then(Value::as_bool) == Some(true);
            let key = TestKey::generate(alg);
            let kid = key.kid().to_string();
            shared.keys_mut().rotate(key, drop_old);
            ok(json!({"kid": kid}))
        }
        ("POST", "unpublish_key") => {
            let Some(kid) = s(&body, "kid") else {
                return bad("missing kid");
            };
            ok(json!({"removed": shared.keys_mut().unpublish(&kid)}))
        }
        ("POST", "clock") => {
            let Some(off) = i(&body, "offset_secs") else {
                return bad("missing offset_secs");
            };
            shared.clock_offset.store(off, Ordering::SeqCst);
            ok(json!({"offset_secs": off}))
        }
        ("POST", "client_map") => {
            let (Some(a), Some(b)) = (s(&body, "idp_client_id"), s(&body, "as_client_id")) else {
                return bad("need idp_client_id and as_client_id");
            };
            lock(&shared.client_map).insert(a, b);
            ok(json!({"ok": true}))
        }
        _ => Resp::json(404, &json!({"error": "not_found"})),
    }
}
