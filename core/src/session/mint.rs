//! Minting: leg 1 at the IdP (with the subject-token lifecycle) and leg 2 at the target's
//! authorization server, for one resolved [`Target`]. Runs with no session lock held.

use super::servers::Target;
use super::token::Token;
use super::{Inner, Notice, NoticeKind, WorkloadSource};
use crate::error::{Error, ErrorKind, OAuthErrorCode, Result, Step};
use crate::exchange::{IdJag, IdJagRequest, RedeemRequest, TokenEndpoint};
use crate::secret::SecretString;
use std::sync::Arc;

impl Inner {
    /// Leg 1 + leg 2 for `target`, with one retry for a rejected subject token (after a
    /// refresh) and one for an `invalid_grant` at the AS (a fresh ID-JAG).
    pub(crate) fn mint(&self, target: &Target) -> Result<Token> {
        if let Some(source) = &self.workload {
            return self.mint_workload(target, source);
        }
        let idp = self.idp_endpoint()?;
        let meta = &target.discovery.authorization_server;
        let as_endpoint = TokenEndpoint::from_metadata(meta, target.creds.clone(), Step::AsGrant)?;
        let resource = target.discovery.resource();
        let scope = target.scope.as_deref();
        let mut grant_retry = true;
        loop {
            self.note_credentials_use(target);
            let jag = self.leg1(&idp, &meta.issuer, resource, scope)?;
            let claims = crate::jwt::inspect(jag.assertion.expose_secret(), 0)
                .ok()
                .map(|i| i.claims)
                .filter(|c| !c.is_empty());
            let mut redeem =
                RedeemRequest::new(as_endpoint.clone(), jag.assertion).resource(resource);
            redeem.scope = self
                .config
                .jwt_bearer_scope
                .get(&meta.issuer)
                .map_or(scope, |policy| policy.resolve(scope))
                .map(str::to_string);
            match self.client.redeem_id_jag(&redeem) {
                Ok(at) => {
                    let now = self.clock().now_secs();
                    return Ok(Token {
                        access_token: at.access_token,
                        token_type: at.token_type,
                        expires_at: at
                            .expires_at
                            .unwrap_or(now.saturating_add(self.default_lifetime_s)),
                        scope: at.scope,
                        resource: resource.to_string(),
                        authorization_server: meta.issuer.clone(),
                        id_jag_claims: claims.map(Arc::new),
                    });
                }
                // A rejected ID-JAG (expired, replayed…): one retry with a fresh one.
                Err(e)
                    if grant_retry
                        && e.oauth_error()
                            .is_some_and(|o| o.error == OAuthErrorCode::InvalidGrant) =>
                {
                    grant_retry = false;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Leg 1 with the subject-token lifecycle: an expired ID token is renewed with the IdP
    /// refresh token first; a subject token the IdP rejects is renewed once and retried;
    /// otherwise `reauthentication_required`.
    pub(crate) fn leg1(
        &self,
        idp: &TokenEndpoint,
        audience: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Result<IdJag> {
        let r = self.leg1_inner(idp, audience, resource, scope);
        if r.is_err() && self.subject.take_expired_announcement() {
            self.hooks.notify(Notice {
                kind: NoticeKind::WorkIdentityExpired,
                step: Step::IdpExchange,
                issuer: idp.issuer.clone(),
                client_id: Some(self.idp_credentials.client_id.clone()),
                message: "the user's identity assertion can no longer be renewed: every MCP server needs the user to sign in again (set_subject_token)".into(),
            });
        }
        r
    }

    /// SEP-1933: the workload JWT straight to the AS (jwt-bearer). One request; a failure
    /// surfaces as it is — no retry, no other grant type.
    fn mint_workload(&self, target: &Target, source: &WorkloadSource) -> Result<Token> {
        let assertion = match source {
            WorkloadSource::Value(v) => v.clone(),
            WorkloadSource::Callback(f) => f()?,
            WorkloadSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::new(
                        ErrorKind::Configuration,
                        Step::Config,
                        format!(
                            "configuration key `workload.assertion_file`: the file cannot be read ({})",
                            e.kind()
                        ),
                    )
                })?;
                SecretString::new(text.trim())
            }
        };
        if assertion.is_empty() {
            return Err(Error::new(
                ErrorKind::Configuration,
                Step::Config,
                "the workload assertion is empty",
            ));
        }
        self.note_credentials_use(target);
        let meta = &target.discovery.authorization_server;
        let endpoint = TokenEndpoint::from_metadata(meta, target.creds.clone(), Step::AsGrant)?;
        let resource = target.discovery.resource();
        let scope = target.scope.as_deref();
        let mut redeem = RedeemRequest::new(endpoint, assertion).resource(resource);
        redeem.scope = self
            .config
            .jwt_bearer_scope
            .get(&meta.issuer)
            .map_or(scope, |policy| policy.resolve(scope))
            .map(str::to_string);
        let at = self.client.redeem_id_jag(&redeem)?;
        let now = self.clock().now_secs();
        Ok(Token {
            access_token: at.access_token,
            token_type: at.token_type,
            expires_at: at
                .expires_at
                .unwrap_or(now.saturating_add(self.default_lifetime_s)),
            scope: at.scope,
            resource: resource.to_string(),
            authorization_server: meta.issuer.clone(),
            id_jag_claims: None,
        })
    }

    /// Announces the first use of our credentials at an authorization server.
    fn note_credentials_use(&self, target: &Target) {
        let issuer = target.discovery.audience();
        if !super::flight::lock(&self.credentials_used).insert(issuer.to_string()) {
            return;
        }
        let route = self.config.credential_route(issuer);
        self.hooks.notify(Notice {
            kind: NoticeKind::CredentialsFirstUse,
            step: Step::AsGrant,
            issuer: Some(route.issuer.clone()),
            client_id: Some(target.creds.client_id.clone()),
            message: format!(
                "first use of client `{}` (from `{}`) at the authorization server `{}`: {}",
                target.creds.client_id, route.source, route.issuer, route.reason
            ),
        });
    }

    fn leg1_inner(
        &self,
        idp: &TokenEndpoint,
        audience: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Result<IdJag> {
        let mut subject_retry = true;
        loop {
            let subject = self.subject.current(&self.client, self.clock(), idp)?;
            let mut req =
                IdJagRequest::new(idp.clone(), audience, subject.token, subject.token_type)
                    .resource(resource);
            req.scope = scope.map(str::to_string);
            match self.client.request_id_jag(&req) {
                Ok(j) => return Ok(j),
                Err(e) if subject_rejected(&e) => {
                    if subject_retry && self.subject.has_refresh_token() {
                        subject_retry = false;
                        self.subject.renew(&self.client, idp, subject.generation)?;
                        continue;
                    }
                    let err = Error::new(
                        ErrorKind::ReauthenticationRequired,
                        Step::IdpExchange,
                        "the IdP rejected the user's identity assertion: sign the user in again",
                    )
                    .with_oauth_from(e);
                    self.subject.mark_expired(subject.generation, &err);
                    return Err(err);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// At the IdP, `invalid_grant` and `invalid_request` both may mean "subject token
/// rejected"; `invalid_request` is only taken as such when its description mentions the
/// subject token, to avoid masking genuine request bugs.
fn subject_rejected(e: &Error) -> bool {
    let Some(o) = e.oauth_error() else {
        return false;
    };
    match o.error {
        OAuthErrorCode::InvalidGrant => true,
        OAuthErrorCode::InvalidRequest => o
            .error_description
            .as_deref()
            .is_some_and(|d| d.to_ascii_lowercase().contains("subject")),
        _ => false,
    }
}

impl Error {
    /// Copies the status and OAuth error body of `other` onto this error.
    pub(crate) fn with_oauth_from(mut self, other: Error) -> Error {
        if let Some(s) = other.status() {
            self = self.with_status(s);
        }
        if let Some(o) = other.oauth_error() {
            self = self.with_oauth_body(o.clone());
        }
        self
    }
}
