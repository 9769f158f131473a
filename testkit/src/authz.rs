//! The MCP server's authorization server: metadata (RFC 8414 / OIDC variants) and the
//! JWT-bearer token endpoint that redeems ID-JAGs for opaque access tokens.

use crate::as_verify::verify_id_jag;
use crate::clients::{authenticate, AuthContext};
use crate::faults::Endpoint;
use crate::httpd::{lock, Req, Resp};
use crate::oauth::{method_not_allowed, scopes, Form};
use crate::state::{AccessTokenRecord, Shared};
use idjag::urn;
use serde_json::{json, Value};

pub(crate) fn metadata(shared: &Shared) -> Value {
    let u = &shared.urls;
    json!({
        "issuer": u.as_issuer,
        "token_endpoint": u.as_token_endpoint(),
        "authorization_endpoint": format!("{}/authorize", u.as_issuer.trim_end_matches('/')),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": [urn::GRANT_JWT_BEARER],
        "authorization_grant_profiles_supported": [urn::GRANT_PROFILE_ID_JAG],
        "token_endpoint_auth_methods_supported": shared.opts.as_auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
        "scopes_supported": shared.opts.scopes_supported,
        "protected_resources": [u.mcp_url],
    })
}

/// The members OpenID Connect Discovery 1.0 §3 makes REQUIRED, added to the document served at
/// an `openid-configuration` URL (clients such as the MCP TypeScript SDK validate it as
/// OpenID Provider Metadata there and refuse it without them).
fn oidc_members(shared: &Shared, doc: &mut Value) {
    if let Some(o) = doc.as_object_mut() {
        let jwks = format!("{}/jwks", shared.urls.as_issuer.trim_end_matches('/'));
        o.insert("jwks_uri".into(), Value::String(jwks));
        o.insert("subject_types_supported".into(), json!(["public"]));
        o.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(["RS256"]),
        );
    }
}

/// Every AS metadata path, with whether it is enabled.
fn metadata_paths(shared: &Shared) -> Vec<(String, bool)> {
    let p = &shared.urls.as_path;
    let v = shared.opts.as_metadata;
    if p.is_empty() {
        vec![
            ("/.well-known/oauth-authorization-server".into(), v.rfc8414),
            (
                "/.well-known/openid-configuration".into(),
                v.oidc_insert || v.oidc_append,
            ),
        ]
    } else {
        vec![
            (
                format!("/.well-known/oauth-authorization-server{p}"),
                v.rfc8414,
            ),
            (
                format!("/.well-known/openid-configuration{p}"),
                v.oidc_insert,
            ),
            (
                format!("{p}/.well-known/openid-configuration"),
                v.oidc_append,
            ),
            // Wrong guesses a client might make; always 404 but counted.
            ("/.well-known/oauth-authorization-server".into(), false),
            ("/.well-known/openid-configuration".into(), false),
        ]
    }
}

pub(crate) fn classify(shared: &Shared, path: &str) -> Option<Endpoint> {
    if path == format!("{}/token", shared.urls.as_path) {
        return Some(Endpoint::AsToken);
    }
    metadata_paths(shared)
        .iter()
        .any(|(p, _)| p == path)
        .then_some(Endpoint::AsMetadata)
}

pub(crate) fn route(shared: &Shared, ep: Option<Endpoint>, req: &Req) -> Resp {
    match ep {
        Some(Endpoint::AsMetadata) => {
            let enabled = metadata_paths(shared)
                .iter()
                .any(|(p, on)| p == &req.path && *on);
            if !enabled {
                return Resp::oauth_error(404, "invalid_request", "not found")
                    .detail("metadata variant disabled");
            }
            if req.method != "GET" && req.method != "HEAD" {
                return method_not_allowed("GET");
            }
            let mut doc = metadata(shared);
            if req.path.contains("/.well-known/openid-configuration") {
                oidc_members(shared, &mut doc);
            }
            Resp::json(200, &doc).cache_control(shared.opts.metadata_cache_control.as_deref())
        }
        Some(Endpoint::AsToken) => {
            if req.method != "POST" {
                return method_not_allowed("POST");
            }
            token(shared, req).unwrap_or_else(|e| e)
        }
        // The (empty) key set the OIDC documents name: this AS signs nothing.
        _ if req.path == format!("{}/jwks", shared.urls.as_path) => {
            Resp::json(200, &json!({"keys": []}))
        }
        _ if req.path == format!("{}/authorize", shared.urls.as_path) => Resp::oauth_error(
            400,
            "unsupported_response_type",
            "this authorization server only supports the ID-JAG jwt-bearer grant",
        ),
        _ => Resp::oauth_error(404, "invalid_request", "not found"),
    }
}

/// The SEP-1933 workload-identity branch of the jwt-bearer grant: `Ok(None)` when the
/// assertion is not a workload JWT (an ID-JAG goes the usual way).
fn workload_grant(
    shared: &Shared,
    form: &Form,
    token_endpoint: &str,
    now: i64,
) -> Result<Option<Resp>, Resp> {
    let assertions = form.all("assertion");
    let [assertion] = assertions.as_slice() else {
        return Ok(None);
    };
    let invalid = |detail: &str| {
        Resp::oauth_error(400, "invalid_grant", "the workload assertion is invalid")
            .detail(detail.to_string())
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [h, c, sig] = parts.as_slice() else {
        return Ok(None);
    };
    let decode = |s: &str| -> Option<Value> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let (Some(header), Some(claims)) = (decode(h), decode(c)) else {
        return Ok(None);
    };
    if header.get("typ").and_then(Value::as_str) == Some(urn::JWT_TYP_ID_JAG)
        || claims.get("client_id").is_some()
    {
        return Ok(None);
    }
    let key = header
        .get("kid")
        .and_then(Value::as_str)
        .and_then(|kid| shared.keys().by_kid(kid).cloned());
    let Some(key) = key else {
        return Err(invalid("unknown kid"));
    };
    if !key.verify_signature(&format!("{h}.{c}"), sig) {
        return Err(invalid("bad signature"));
    }
    let aud_ok = |a: &str| a == token_endpoint || a == shared.urls.as_issuer;
    let aud = match claims.get("aud") {
        Some(Value::String(a)) => aud_ok(a),
        Some(Value::Array(v)) => v.iter().filter_map(Value::as_str).any(aud_ok),
        _ => false,
    };
    if !aud {
        return Err(invalid("audience"));
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|e| e <= now)
    {
        return Err(invalid("expired"));
    }
    let Some(sub) = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Err(invalid("no sub"));
    };
    let Some(client_id) = form.single("client_id")? else {
        return Err(
            Resp::oauth_error(401, "invalid_client", "client_id is required")
                .detail("workload without client_id"),
        );
    };
    let supported = &shared.opts.scopes_supported;
    let granted: Vec<String> = match form.single("scope")? {
        Some(s) => {
            let asked = scopes(&s);
            if asked.iter().any(|x| !supported.contains(x)) {
                return Err(Resp::oauth_error(400, "invalid_scope", "unknown scope")
                    .detail("workload scope"));
            }
            asked
        }
        None => Vec::new(),
    };
    let at = shared.random_token();
    let ttl = shared.opts.as_token_ttl_secs;
    lock(&shared.access_tokens).insert(
        at.clone(),
        AccessTokenRecord {
            user: sub.to_string(),
            client_id,
            scopes: granted.clone(),
            resource: shared.urls.mcp_url.clone(),
            exp: now + ttl as i64,
        },
    );
    let mut body = json!({"access_token": at, "token_type": "Bearer", "expires_in": ttl});
    if !granted.is_empty() {
        body["scope"] = Value::String(granted.join(" "));
    }
    Ok(Some(Resp::json(200, &body).no_store()))
}

fn token(shared: &Shared, req: &Req) -> Result<Resp, Resp> {
    let form = Form::from_request(req)?;
    let grant = form.required("grant_type")?;
    if grant != urn::GRANT_JWT_BEARER {
        return Err(
            Resp::oauth_error(400, "unsupported_grant_type", "unsupported grant_type")
                .detail("grant_type"),
        );
    }
    let token_endpoint = shared.urls.as_token_endpoint();
    let now = shared.now();
    let ctx = AuthContext {
        issuer: &shared.urls.as_issuer,
        token_endpoint: &token_endpoint,
        clients: &shared.as_clients,
        server_methods: &shared.opts.as_auth_methods,
        lenient_basic: shared.opts.lenient_basic,
        jti_store: &shared.as_assertion_jtis,
        now,
    };
    if shared.opts.as_workload_identity {
        if let Some(resp) = workload_grant(shared, &form, &token_endpoint, now)? {
            return Ok(resp);
        }
    }
    let client = authenticate(&ctx, req, &form)?;
    let assertions = form.all("assertion");
    if assertions.len() != 1 {
        return Err(
            Resp::oauth_error(400, "invalid_request", "exactly one assertion is required")
                .detail(format!("{} assertions", assertions.len())),
        );
    }
    let requested = form.single("scope")?;
    if shared.opts.as_reject_jwt_bearer_scope && requested.is_some() {
        return Err(Resp::oauth_error(
            400,
            "invalid_scope",
            "The authorization server does not accept a scope parameter with this grant",
        )
        .detail("scope sent on jwt-bearer"));
    }
    let verified = match verify_id_jag(
        shared,
        &assertions[0],
        &client.info.client_id,
        requested.as_deref(),
    ) {
        Ok(v) => {
            *lock(&shared.last_as_rejection) = None;
            v
        }
        Err(rej) => {
            *lock(&shared.last_as_rejection) = Some(rej.reason.clone());
            let w = &rej.wire;
            return Err(Resp::oauth_error(w.status, w.body.error.as_str(), "")
                .body(w.to_json().into_bytes())
                .detail(rej.reason));
        }
    };

    // Scope: the verifier grants requested ∩ ID-JAG scope (EMA §7.2.1, SPEC §5 Q6), and
    // nothing when the ID-JAG states no scope; the AS further restricts it to what it knows.
    let supported = &shared.opts.scopes_supported;
    if let Some(req_scopes) = requested.as_deref().map(scopes) {
        if req_scopes.iter().any(|s| !supported.contains(s)) {
            return Err(Resp::oauth_error(400, "invalid_scope", "unknown scope")
                .detail("requested scope not supported"));
        }
    }
    let granted: Vec<String> = verified
        .scope
        .iter()
        .flat_map(|s| s.iter())
        .filter(|s| supported.iter().any(|k| k == s))
        .map(str::to_string)
        .collect();
    let resource = verified
        .resources
        .as_ref()
        .and_then(|r| r.first().cloned())
        .unwrap_or_else(|| shared.urls.mcp_url.clone());
    let at = shared.random_token();
    let ttl = shared.opts.as_token_ttl_secs;
    lock(&shared.access_tokens).insert(
        at.clone(),
        AccessTokenRecord {
            user: verified.sub.clone(),
            client_id: client.info.client_id.clone(),
            scopes: granted.clone(),
            resource: resource.clone(),
            exp: now + ttl as i64,
        },
    );
    let mut body = json!({
        "access_token": at,
        "token_type": "Bearer",
        "expires_in": ttl,
    });
    if let Some(o) = body.as_object_mut() {
        if !granted.is_empty() {
            o.insert("scope".into(), Value::String(granted.join(" ")));
        }
        if shared.opts.as_return_resource {
            o.insert("resource".into(), Value::String(resource));
        }
    }
    Ok(Resp::json(200, &body).no_store())
}

/// Issues an access token directly (test helper, bypasses the grant).
pub(crate) fn issue_access_token(
    shared: &Shared,
    user: &str,
    client_id: &str,
    scope: &[String],
    resource: &str,
    ttl_secs: i64,
) -> String {
    let at = shared.random_token();
    lock(&shared.access_tokens).insert(
        at.clone(),
        AccessTokenRecord {
            user: user.into(),
            client_id: client_id.into(),
            scopes: scope.to_vec(),
            resource: resource.into(),
            exp: shared.now() + ttl_secs,
        },
    );
    at
}
