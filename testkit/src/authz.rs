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
        "authorization_endpoint": format!("{}/authorize", u.as_issuer),
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
            Resp::json(200, &metadata(shared)).cache_control(shared)
        }
        Some(Endpoint::AsToken) => {
            if req.method != "POST" {
                return method_not_allowed("POST");
            }
            token(shared, req).unwrap_or_else(|e| e)
        }
        _ if req.path == format!("{}/authorize", shared.urls.as_path) => Resp::oauth_error(
            400,
            "unsupported_response_type",
            "this authorization server only supports the ID-JAG jwt-bearer grant",
        ),
        _ => Resp::oauth_error(404, "invalid_request", "not found"),
    }
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
    let client = authenticate(&ctx, req, &form)?;
    let assertions = form.all("assertion");
    if assertions.len() != 1 {
        return Err(
            Resp::oauth_error(400, "invalid_request", "exactly one assertion is required")
                .detail(format!("{} assertions", assertions.len())),
        );
    }
    let verified = match verify_id_jag(shared, &assertions[0], &client.info.client_id) {
        Ok(v) => {
            *lock(&shared.last_as_rejection) = None;
            v
        }
        Err(reason) => {
            *lock(&shared.last_as_rejection) = Some(reason.clone());
            return Err(
                Resp::oauth_error(400, "invalid_grant", "the assertion is invalid").detail(reason),
            );
        }
    };

    // Scope: intersection of the requested scope and the ID-JAG scope (EMA §7.2.1),
    // restricted to what the server knows.
    let supported = &shared.opts.scopes_supported;
    let requested = form.single("scope")?.map(|s| scopes(&s));
    if let Some(req_scopes) = &requested {
        if req_scopes.iter().any(|s| !supported.contains(s)) {
            return Err(Resp::oauth_error(400, "invalid_scope", "unknown scope")
                .detail("requested scope not supported"));
        }
    }
    let granted: Vec<String> = match (&requested, &verified.scopes) {
        (Some(r), Some(a)) => r.iter().filter(|s| a.contains(s)).cloned().collect(),
        (Some(r), None) => r.clone(),
        (None, Some(a)) => a
            .iter()
            .filter(|s| supported.contains(s))
            .cloned()
            .collect(),
        (None, None) => Vec::new(),
    };
    if requested.as_ref().is_some_and(|r| !r.is_empty()) && granted.is_empty() {
        return Err(Resp::oauth_error(400, "invalid_scope", "scope not granted")
            .detail("empty scope intersection"));
    }
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
