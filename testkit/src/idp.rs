//! The enterprise IdP: metadata, JWKS, an auto-approving `/authorize`, and `/token` with
//! token exchange (→ ID-JAG or IdP refresh token), refresh-token rotation and
//! authorization codes.

use crate::clients::{authenticate, AuthContext, Registered};
use crate::faults::Endpoint;
use crate::httpd::{lock, Req, Resp};
use crate::jwt;
use crate::keys::Alg;
use crate::oauth::{method_not_allowed, scopes, Form};
use crate::saml;
use crate::state::{CodeRecord, RefreshRecord, Shared};
use idjag::urn;
use serde_json::{json, Map, Value};

/// What to put in a minted ID token; `None` fields take the kit defaults.
#[derive(Clone, Debug, Default)]
pub struct IdTokenSpec {
    /// `sub`.
    pub user: String,
    /// `aud` (default: the IdP confidential client id).
    pub aud: Option<String>,
    /// `iss` (default: the IdP issuer).
    pub iss: Option<String>,
    /// `iat` (default: now).
    pub iat: Option<i64>,
    /// `exp` (default: `iat` + the configured ID token lifetime).
    pub exp: Option<i64>,
    /// Lifetime used when `exp` is not given.
    pub ttl_secs: Option<i64>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// Signing algorithm (default: the configured ID token algorithm).
    pub alg: Option<Alg>,
    /// Extra claims (override the defaults).
    pub extra: Map<String, Value>,
}

impl IdTokenSpec {
    /// A spec for `user` with every other field defaulted.
    pub fn new(user: impl Into<String>) -> IdTokenSpec {
        IdTokenSpec {
            user: user.into(),
            ..Default::default()
        }
    }
}

pub(crate) fn default_idp_client(shared: &Shared) -> String {
    shared
        .idp_clients
        .first()
        .map(|c| c.info.client_id.clone())
        .unwrap_or_default()
}

pub(crate) fn mint_id_token(shared: &Shared, spec: &IdTokenSpec) -> String {
    let now = shared.now();
    let iat = spec.iat.unwrap_or(now);
    let exp = spec.exp.unwrap_or_else(|| {
        iat + spec
            .ttl_secs
            .unwrap_or(shared.opts.id_token_ttl_secs as i64)
    });
    let mut claims = json!({
        "iss": spec.iss.clone().unwrap_or_else(|| shared.urls.idp_issuer.clone()),
        "sub": spec.user,
        "aud": spec.aud.clone().unwrap_or_else(|| default_idp_client(shared)),
        "iat": iat,
        "exp": exp,
        "auth_time": iat,
        "email": shared.email(&spec.user),
        "email_verified": true,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    if let (Some(n), Some(o)) = (&spec.nonce, claims.as_object_mut()) {
        o.insert("nonce".into(), Value::String(n.clone()));
    }
    if let Some(o) = claims.as_object_mut() {
        for (k, v) in &spec.extra {
            o.insert(k.clone(), v.clone());
        }
    }
    let alg = spec.alg.unwrap_or(shared.opts.id_token_alg);
    match shared.signing_key(alg) {
        Some(k) => k.sign_with_typ(Some("JWT"), &claims),
        None => String::new(),
    }
}

pub(crate) fn mint_saml(shared: &Shared, spec: &saml::SamlSpec) -> String {
    let now = shared.now();
    saml::mint(
        spec.issuer.as_deref().unwrap_or(&shared.urls.idp_issuer),
        &spec.user,
        &spec
            .audience
            .clone()
            .unwrap_or_else(|| default_idp_client(shared)),
        now,
        spec.not_on_or_after.unwrap_or(now + 300),
    )
}

pub(crate) fn issue_refresh_token(
    shared: &Shared,
    user: &str,
    client_id: &str,
    scope: &str,
) -> String {
    let rt = format!("rt-{}", shared.random_token());
    lock(&shared.refresh_tokens).insert(
        rt.clone(),
        RefreshRecord {
            user: user.into(),
            client_id: client_id.into(),
            scope: scope.into(),
            exp: shared.now() + 30 * 86_400,
        },
    );
    rt
}

/// The claims of a valid ID-JAG for `user` (what the IdP would issue for the default
/// client, resource = the MCP URL, no scope).
pub(crate) fn id_jag_claims(
    shared: &Shared,
    user: &str,
    as_client_id: &str,
    resource: Option<Value>,
    scope: Option<&str>,
) -> Value {
    let iat = shared.now();
    let mut c = json!({
        "iss": shared.urls.idp_issuer,
        "sub": user,
        "aud": shared.urls.as_issuer,
        "client_id": as_client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": iat,
        "exp": iat + shared.opts.id_jag_ttl_secs as i64,
        "email": shared.email(user),
    });
    if let Some(o) = c.as_object_mut() {
        if let Some(r) = resource {
            o.insert("resource".into(), r);
        }
        if let Some(s) = scope {
            o.insert("scope".into(), Value::String(s.into()));
        }
    }
    c
}

/// Signs a JWT with an IdP key chosen from the header: the published key whose `kid` is
/// `header.kid`, else the active key for `header.alg` (default: the ID-JAG algorithm).
pub(crate) fn sign_jwt(shared: &Shared, header: &Map<String, Value>, claims: &Value) -> String {
    let by_kid = header
        .get("kid")
        .and_then(Value::as_str)
        .and_then(|kid| shared.keys().by_kid(kid).cloned());
    let key = by_kid.or_else(|| {
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
            .unwrap_or(shared.opts.id_jag_alg);
        shared.signing_key(alg)
    });
    match key {
        Some(k) => k.sign(header, claims),
        None => String::new(),
    }
}

pub(crate) fn sign_id_jag(shared: &Shared, claims: &Value) -> String {
    let mut h = Map::new();
    h.insert("typ".into(), Value::String(urn::JWT_TYP_ID_JAG.into()));
    h.insert(
        "alg".into(),
        Value::String(shared.opts.id_jag_alg.as_str().into()),
    );
    sign_jwt(shared, &h, claims)
}

pub(crate) fn metadata(shared: &Shared) -> Value {
    let u = &shared.urls;
    let auth_methods = shared
        .opts
        .idp_advertised_auth_methods
        .clone()
        .unwrap_or_else(|| {
            [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none",
            ]
            .map(String::from)
            .to_vec()
        });
    json!({
        "issuer": u.idp_issuer,
        "authorization_endpoint": u.idp_authorization_endpoint(),
        "token_endpoint": u.idp_token_endpoint(),
        "jwks_uri": u.idp_jwks_uri(),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "scopes_supported": ["openid", "email", "profile", "offline_access"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": [urn::GRANT_TOKEN_EXCHANGE, "refresh_token", "authorization_code"],
        "identity_chaining_requested_token_types_supported": [urn::TOKEN_TYPE_ID_JAG],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "EdDSA"],
    })
}

pub(crate) fn classify(path: &str) -> Option<Endpoint> {
    match path {
        "/.well-known/openid-configuration" | "/.well-known/oauth-authorization-server" => {
            Some(Endpoint::IdpMetadata)
        }
        "/jwks" => Some(Endpoint::IdpJwks),
        "/token" => Some(Endpoint::IdpToken),
        "/authorize" => Some(Endpoint::IdpAuthorize),
        _ => None,
    }
}

pub(crate) fn route(shared: &Shared, ep: Endpoint, req: &Req) -> Resp {
    match ep {
        Endpoint::IdpMetadata | Endpoint::IdpJwks => {
            if req.method != "GET" && req.method != "HEAD" {
                return method_not_allowed("GET");
            }
            let doc = if ep == Endpoint::IdpJwks {
                shared.keys().jwks()
            } else {
                metadata(shared)
            };
            Resp::json(200, &doc).cache_control(shared.opts.metadata_cache_control.as_deref())
        }
        Endpoint::IdpAuthorize => authorize(shared, req),
        Endpoint::IdpToken => {
            if req.method != "POST" {
                return method_not_allowed("POST");
            }
            token(shared, req).unwrap_or_else(|e| e)
        }
        _ => Resp::oauth_error(404, "invalid_request", "not found"),
    }
}

fn bad(error: &str, desc: &str, detail: &str) -> Resp {
    Resp::oauth_error(400, error, desc).detail(detail)
}

fn authorize(shared: &Shared, req: &Req) -> Resp {
    if req.method != "GET" {
        return method_not_allowed("GET");
    }
    let q = |n: &str| req.query_param(n).filter(|v| !v.is_empty());
    if q("response_type").as_deref() != Some("code") {
        return bad(
            "unsupported_response_type",
            "response_type must be code",
            "response_type",
        );
    }
    let Some(client_id) = q("client_id") else {
        return bad("invalid_request", "missing client_id", "client_id");
    };
    if !shared
        .idp_clients
        .iter()
        .any(|c| c.info.client_id == client_id)
    {
        return bad("invalid_request", "unknown client_id", "unknown client");
    }
    let Some(redirect_uri) = q("redirect_uri") else {
        return bad("invalid_request", "missing redirect_uri", "redirect_uri");
    };
    let Ok(mut target) = url::Url::parse(&redirect_uri) else {
        return bad("invalid_request", "invalid redirect_uri", "redirect_uri");
    };
    let challenge = match q("code_challenge") {
        Some(c) => {
            let m = q("code_challenge_method").unwrap_or_else(|| "plain".into());
            if m != "S256" && m != "plain" {
                return bad(
                    "invalid_request",
                    "unsupported code_challenge_method",
                    "pkce",
                );
            }
            Some((c, m))
        }
        None => None,
    };
    let user = q("login_hint").unwrap_or_else(|| shared.opts.default_user.clone());
    let code = format!("code-{}", shared.random_token());
    lock(&shared.auth_codes).insert(
        code.clone(),
        CodeRecord {
            user,
            client_id,
            redirect_uri,
            code_challenge: challenge,
            nonce: q("nonce"),
            scope: q("scope").unwrap_or_else(|| "openid".into()),
            exp: shared.now() + 300,
        },
    );
    {
        let mut qp = target.query_pairs_mut();
        qp.append_pair("code", &code);
        if let Some(s) = q("state") {
            qp.append_pair("state", &s);
        }
        qp.append_pair("iss", &shared.urls.idp_issuer);
    }
    Resp::new(302)
        .header("Location", target.as_str())
        .header("Cache-Control", "no-store")
}

fn token(shared: &Shared, req: &Req) -> Result<Resp, Resp> {
    let form = Form::from_request(req)?;
    let grant = form.required("grant_type")?;
    if grant != urn::GRANT_TOKEN_EXCHANGE
        && grant != "refresh_token"
        && grant != "authorization_code"
    {
        return Err(bad(
            "unsupported_grant_type",
            "unsupported grant_type",
            "grant_type",
        ));
    }
    let token_endpoint = shared.urls.idp_token_endpoint();
    let server_methods: Vec<String> = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ctx = AuthContext {
        issuer: &shared.urls.idp_issuer,
        token_endpoint: &token_endpoint,
        clients: &shared.idp_clients,
        server_methods: &server_methods,
        lenient_basic: shared.opts.lenient_basic,
        jti_store: &shared.idp_assertion_jtis,
        now: shared.now(),
    };
    let client = authenticate(&ctx, req, &form)?;
    match grant.as_str() {
        "refresh_token" => refresh(shared, client, &form),
        "authorization_code" => authorization_code(shared, client, &form),
        _ => token_exchange(shared, client, &form),
    }
}

/// The user behind a subject token, or an `invalid_grant` response.
fn subject_user(
    shared: &Shared,
    client: &Registered,
    token: &str,
    token_type: &str,
) -> Result<String, Resp> {
    let invalid = |d: &str| bad("invalid_grant", "the subject token is invalid", d);
    let now = shared.now();
    let cid = client.info.client_id.as_str();
    match token_type {
        urn::TOKEN_TYPE_ID_TOKEN => {
            let p = jwt::parse(token).map_err(|e| invalid(&format!("id_token: {e}")))?;
            let ks = shared.keys();
            let key = p
                .header_str("kid")
                .and_then(|k| ks.by_kid(k))
                .ok_or_else(|| invalid("id_token: unknown kid"))?;
            if p.header_str("alg") != Some(key.alg().as_str())
                || !key.verify_signature(&p.signing_input, &p.signature)
            {
                return Err(invalid("id_token: bad signature"));
            }
            if p.claim_str("iss") != Some(shared.urls.idp_issuer.as_str()) {
                return Err(invalid("id_token: wrong iss"));
            }
            if !jwt::aud_contains(p.claims.get("aud"), &[cid]) {
                return Err(invalid("id_token: aud is not the client"));
            }
            match p.claim_time("exp") {
                Some(exp) if exp > now => {}
                Some(_) => return Err(invalid("id_token: expired")),
                None => return Err(invalid("id_token: no exp")),
            }
            p.claim_str("sub")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| invalid("id_token: no sub"))
        }
        urn::TOKEN_TYPE_SAML2 => {
            let a = saml::parse(token).map_err(|e| invalid(&format!("saml: {e}")))?;
            if a.issuer != shared.urls.idp_issuer {
                return Err(invalid("saml: wrong Issuer"));
            }
            if !a.audiences.iter().any(|x| x == cid) {
                return Err(invalid("saml: Audience is not the client"));
            }
            if a.not_on_or_after <= now {
                return Err(invalid("saml: expired"));
            }
            if a.name_id.is_empty() {
                return Err(invalid("saml: empty NameID"));
            }
            Ok(a.name_id)
        }
        urn::TOKEN_TYPE_REFRESH_TOKEN => {
            let rts = lock(&shared.refresh_tokens);
            let rec = rts
                .get(token)
                .ok_or_else(|| invalid("refresh_token: unknown or rotated"))?;
            if rec.client_id != cid {
                return Err(invalid("refresh_token: issued to another client"));
            }
            if rec.exp <= now {
                return Err(invalid("refresh_token: expired"));
            }
            Ok(rec.user.clone())
        }
        _ => Err(bad(
            "invalid_request",
            "unsupported subject_token_type",
            "subject_token_type",
        )),
    }
}

fn token_exchange(shared: &Shared, client: &Registered, form: &Form) -> Result<Resp, Resp> {
    let requested = form.required("requested_token_type")?;
    let subject_token = form.required("subject_token")?;
    let subject_type = form.required("subject_token_type")?;
    if form.single("actor_token")?.is_some() && form.single("actor_token_type")?.is_none() {
        return Err(bad(
            "invalid_request",
            "actor_token_type is required with actor_token",
            "actor_token_type",
        ));
    }
    let cid = client.info.client_id.clone();
    match requested.as_str() {
        urn::TOKEN_TYPE_ID_JAG => {}
        urn::TOKEN_TYPE_REFRESH_TOKEN => {
            // Protocol transition (IDJAG §4.5): SAML assertion / ID token → IdP refresh token.
            if subject_type == urn::TOKEN_TYPE_REFRESH_TOKEN {
                return Err(bad(
                    "invalid_request",
                    "cannot exchange a refresh token for a refresh token",
                    "rt for rt",
                ));
            }
            let user = subject_user(shared, client, &subject_token, &subject_type)?;
            let scope = form
                .single("scope")?
                .unwrap_or_else(|| "openid offline_access".into());
            let rt = issue_refresh_token(shared, &user, &cid, &scope);
            return Ok(Resp::json(
                200,
                &json!({
                    "access_token": rt,
                    "issued_token_type": urn::TOKEN_TYPE_REFRESH_TOKEN,
                    "token_type": "N_A",
                    "expires_in": 30 * 86_400,
                    "scope": scope,
                }),
            )
            .no_store());
        }
        _ => {
            return Err(bad(
                "invalid_request",
                "unsupported requested_token_type",
                "requested_token_type",
            ))
        }
    }
    let user = subject_user(shared, client, &subject_token, &subject_type)?;

    let audiences = form.all("audience");
    if audiences.is_empty() {
        return Err(bad(
            "invalid_request",
            "missing audience",
            "audience missing",
        ));
    }
    let audience = audiences[0].clone();
    let known = audience == shared.urls.as_issuer
        || shared.opts.extra_audiences.iter().any(|a| a == &audience)
        || shared.opts.mcp_authorization_server.as_ref() == Some(&audience);
    if audiences.len() > 1 || !known {
        return Err(bad(
            "invalid_target",
            "unknown audience",
            "audience is not the AS issuer",
        ));
    }
    let resources = form.all("resource");
    let governed = shared.governed_resources();
    for r in &resources {
        let absolute = url::Url::parse(r).is_ok_and(|u| u.fragment().is_none());
        if !absolute || !governed.iter().any(|g| g == r) {
            return Err(bad(
                "invalid_target",
                "resource not governed by the audience",
                "resource not governed",
            ));
        }
    }
    let requested_scopes = match form.single("scope")? {
        Some(s) => scopes(&s),
        None => Vec::new(),
    };
    if requested_scopes
        .iter()
        .any(|s| shared.opts.idp_denied_scopes.contains(s))
    {
        return Err(bad(
            "invalid_scope",
            "scope refused by policy",
            "denied scope",
        ));
    }
    let granted: Vec<String> = match &shared.opts.idp_granted_scopes {
        Some(allowed) => requested_scopes
            .iter()
            .filter(|s| allowed.contains(s))
            .cloned()
            .collect(),
        None => requested_scopes.clone(),
    };
    let resource_claim = match resources.len() {
        0 => None,
        1 => Some(Value::String(resources[0].clone())),
        _ => Some(json!(resources)),
    };
    let scope_str = granted.join(" ");
    let as_client = shared.as_client_for(&cid);
    let claims = id_jag_claims(
        shared,
        &user,
        &as_client,
        resource_claim,
        (!granted.is_empty()).then_some(scope_str.as_str()),
    );
    let mut claims = claims;
    if let Some(o) = claims.as_object_mut() {
        o.insert("aud".into(), Value::String(audience));
    }
    let id_jag = sign_id_jag(shared, &claims);
    let mut body = json!({
        "access_token": id_jag,
        "issued_token_type": urn::TOKEN_TYPE_ID_JAG,
        "token_type": "N_A",
        "expires_in": shared.opts.id_jag_ttl_secs,
    });
    if !granted.is_empty() || !requested_scopes.is_empty() {
        if let Some(o) = body.as_object_mut() {
            o.insert("scope".into(), Value::String(scope_str));
        }
    }
    Ok(Resp::json(200, &body).no_store())
}

fn refresh(shared: &Shared, client: &Registered, form: &Form) -> Result<Resp, Resp> {
    let rt = form.required("refresh_token")?;
    let cid = client.info.client_id.clone();
    let now = shared.now();
    let rec = {
        let mut rts = lock(&shared.refresh_tokens);
        match rts.get(&rt) {
            Some(r) if r.client_id == cid && r.exp > now => rts.remove(&rt),
            Some(_) => None,
            None => None,
        }
    };
    let Some(rec) = rec else {
        return Err(bad(
            "invalid_grant",
            "the refresh token is invalid",
            "refresh_token unknown, rotated, expired or another client's",
        ));
    };
    let new_rt = issue_refresh_token(shared, &rec.user, &cid, &rec.scope);
    let id_token = mint_id_token(
        shared,
        &IdTokenSpec {
            aud: Some(cid),
            ..IdTokenSpec::new(rec.user)
        },
    );
    Ok(Resp::json(
        200,
        &json!({
            "access_token": format!("idp-at-{}", shared.random_token()),
            "token_type": "Bearer",
            "expires_in": shared.opts.id_token_ttl_secs,
            "id_token": id_token,
            "refresh_token": new_rt,
            "scope": rec.scope,
        }),
    )
    .no_store())
}

fn authorization_code(shared: &Shared, client: &Registered, form: &Form) -> Result<Resp, Resp> {
    let code = form.required("code")?;
    let cid = client.info.client_id.clone();
    let rec = lock(&shared.auth_codes).remove(&code);
    let invalid = |d: &str| bad("invalid_grant", "the authorization code is invalid", d);
    let Some(rec) = rec else {
        return Err(invalid("unknown or used code"));
    };
    if rec.client_id != cid {
        return Err(invalid("code issued to another client"));
    }
    if rec.exp <= shared.now() {
        return Err(invalid("code expired"));
    }
    if form.single("redirect_uri")?.as_deref() != Some(rec.redirect_uri.as_str()) {
        return Err(invalid("redirect_uri mismatch"));
    }
    if let Some((challenge, method)) = &rec.code_challenge {
        let Some(verifier) = form.single("code_verifier")? else {
            return Err(invalid("missing code_verifier"));
        };
        let computed = if method == "S256" {
            jwt::b64(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
            )
        } else {
            verifier
        };
        if &computed != challenge {
            return Err(invalid("PKCE verification failed"));
        }
    }
    let id_token = mint_id_token(
        shared,
        &IdTokenSpec {
            aud: Some(cid.clone()),
            nonce: rec.nonce.clone(),
            ..IdTokenSpec::new(rec.user.clone())
        },
    );
    let mut body = json!({
        "access_token": format!("idp-at-{}", shared.random_token()),
        "token_type": "Bearer",
        "expires_in": shared.opts.id_token_ttl_secs,
        "id_token": id_token,
        "scope": rec.scope,
    });
    if scopes(&rec.scope).iter().any(|s| s == "offline_access") {
        let rt = issue_refresh_token(shared, &rec.user, &cid, &rec.scope);
        if let Some(o) = body.as_object_mut() {
            o.insert("refresh_token".into(), Value::String(rt));
        }
    }
    Ok(Resp::json(200, &body).no_store())
}
