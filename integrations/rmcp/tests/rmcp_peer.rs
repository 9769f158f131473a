//! rmcp's own enterprise-managed client (`rmcp` 3.11.0, feature `auth-enterprise-managed`,
//! `src/transport/auth/enterprise.rs`), unmodified, as a peer against the testkit: the kit's
//! IdP for leg 1, the kit's AS (verifying with `idjag::IdJagVerifier`) for leg 2, and the
//! kit's MCP server called through rmcp's streamable HTTP client with the token it got.
//!
//! One test per difference between what rmcp sends or checks and what idjag does, named
//! after it: accepted where the specs allow it, refused with the right OAuth error where
//! they do not (integrations/rmcp/README.md, "Differences on the wire").

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use idjag_testkit::{Endpoint, Fault, Options, TestKit};
use oauth2::{ClientSecret, RefreshToken};
use rmcp::transport::auth::default_oauth_http_client;
use rmcp::transport::auth::enterprise::{
    EmaAccessToken, EmaAuthorizationServer, EmaClientAssertion, EmaClientAssertionProvider,
    EmaClientAuthentication, EmaError, EmaExchangeRequest, EmaExchangeStage,
};
use serde_json::{json, Value};

const FILE: &str = "integrations/rmcp/tests/rmcp_peer.rs";

fn secret(client: &idjag_testkit::Client) -> ClientSecret {
    ClientSecret::new(client.client_secret.clone().expect("a confidential client"))
}

/// The kit's IdP as rmcp needs it: issuer, token endpoint and client, all supplied by the
/// caller (rmcp does no discovery).
fn idp(kit: &TestKit, auth: EmaClientAuthentication) -> EmaAuthorizationServer {
    let client_id = match &auth {
        EmaClientAuthentication::None => kit.idp_public_client().client_id,
        EmaClientAuthentication::JwtAssertion(_) => kit.idp_jwt_client().client_id,
        _ => kit.idp_client().client_id,
    };
    EmaAuthorizationServer::new(kit.idp_issuer(), kit.idp_token_endpoint(), client_id)
        .with_client_authentication(auth)
}

fn idp_basic(kit: &TestKit) -> EmaAuthorizationServer {
    idp(
        kit,
        EmaClientAuthentication::ClientSecretBasic(secret(&kit.idp_client())),
    )
}

/// The kit's AS with `client_id`.
fn resource_as(
    kit: &TestKit,
    client_id: &str,
    auth: EmaClientAuthentication,
) -> EmaAuthorizationServer {
    EmaAuthorizationServer::new(kit.as_issuer(), kit.as_token_endpoint(), client_id)
        .with_client_authentication(auth)
}

fn as_basic(kit: &TestKit) -> EmaAuthorizationServer {
    resource_as(
        kit,
        &kit.as_client().client_id,
        EmaClientAuthentication::ClientSecretBasic(secret(&kit.as_client())),
    )
}

async fn exchange(request: EmaExchangeRequest<'_>) -> Result<EmaAccessToken, EmaError> {
    let http = default_oauth_http_client().expect("rmcp's OAuth HTTP client");
    request.exchange(&http, &http).await
}

/// `whoami` on the kit's MCP server through rmcp's streamable HTTP client with a static
/// bearer token (rmcp's `auth_header`).
async fn whoami(kit: &TestKit, token: &EmaAccessToken) -> Value {
    common::whoami_with_bearer(kit.mcp_url(), token.access_token.secret()).await
}

fn scopes(list: &[&str]) -> HashSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn patch(set: Value) -> Fault {
    let Value::Object(set) = set else {
        panic!("a patch is an object")
    };
    Fault::Patch { set }
}

/// idjag against the same kit, for the tests that pin a difference in response checks.
fn idjag_token(kit: &TestKit) -> idjag::Result<idjag::Token> {
    common::session(kit, json!({})).access_token(kit.mcp_url())
}

fn last_as_error(kit: &TestKit) -> Option<String> {
    kit.requests()
        .iter()
        .rev()
        .find(|r| r.endpoint == Some(Endpoint::AsToken))
        .and_then(|r| r.error.clone())
}

fn last_idp_error(kit: &TestKit) -> Option<String> {
    kit.requests()
        .iter()
        .rev()
        .find(|r| r.endpoint == Some(Endpoint::IdpToken))
        .and_then(|r| r.error.clone())
}

// ---- the peer works ----------------------------------------------------------------------

/// Leg 1 (ID token, `client_secret_basic`) and leg 2 (`client_secret_basic`), then the MCP
/// server. The kit's secrets contain `: + / % & =` and a space: rmcp form-encodes them
/// inside HTTP Basic (RFC 6749 §2.3.1), as idjag does (the TypeScript SDK does not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_enterprise_client_gets_a_token_and_calls_the_mcp_server() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token("alice");
    let token = exchange(EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        as_basic(&kit),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect("rmcp's exchange against the kit");
    assert!(token.expires_in.is_some());
    let who = whoami(&kit, &token).await;
    assert_eq!(who["sub"], "alice");
    assert_eq!(who["client_id"], kit.as_client().client_id);
    let c = kit.counters();
    assert_eq!(
        (
            c.requests(Endpoint::IdpToken),
            c.requests(Endpoint::AsToken)
        ),
        (1, 1)
    );
    // No discovery at all: the caller supplied every endpoint.
    for ep in [Endpoint::IdpMetadata, Endpoint::AsMetadata, Endpoint::Prm] {
        assert_eq!(c.requests(ep), 0, "{ep:?}");
    }
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "rmcp_enterprise_client_gets_a_token_and_calls_the_mcp_server",
    );
}

// ---- what rmcp sends differently ---------------------------------------------------------

/// rmcp sends no `scope` at the IdP unless asked (`with_scopes`); idjag sends the scope of
/// the MCP server's challenge or PRM. RFC 8693 §2.1: `scope` is optional. Accepted: the
/// ID-JAG and the token then carry no scope, and the MCP server still accepts the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leg1_without_scope_is_accepted() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token("alice");
    let token = exchange(EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        as_basic(&kit),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect("accepted without scope");
    assert!(token.scopes.is_empty(), "{:?}", token.scopes);
    let who = whoami(&kit, &token).await;
    assert_eq!(who["sub"], "alice");
    assert_eq!(who["scope"], "");
    // idjag, for comparison, asks for the challenge's scopes.
    let ours = idjag_token(&kit).expect("idjag");
    assert_eq!(ours.scope.as_deref(), Some("mcp:read mcp:write"));
    common::record("rmcp", "testkit", FILE, "leg1_without_scope_is_accepted");
}

/// With `with_scopes`, rmcp sends `scope` at the IdP and checks the grant is a subset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leg1_with_scopes_is_granted() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token("alice");
    let token = exchange(
        EmaExchangeRequest::new_with_id_token(
            idp_basic(&kit),
            as_basic(&kit),
            kit.mcp_url(),
            &id_token,
        )
        .with_scopes(["mcp:read"]),
    )
    .await
    .expect("accepted with scope");
    assert_eq!(token.scopes, scopes(&["mcp:read"]));
    assert_eq!(whoami(&kit, &token).await["scope"], "mcp:read");
    common::record("rmcp", "testkit", FILE, "leg1_with_scopes_is_granted");
}

/// rmcp's leg 2 is `grant_type` + `assertion` only: no `resource` and no `scope` (idjag
/// sends `resource`, and `scope` unless `jwt_bearer_scope` is off). Both are optional
/// (RFC 7523 §2.1, RFC 8707 §2.2): the ID-JAG's `resource` and `scope` decide. Accepted,
/// also by an AS that refuses `scope` on the jwt-bearer grant (as Okta's do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leg2_without_resource_and_scope_is_accepted() {
    let kit = TestKit::start_with(Options {
        as_reject_jwt_bearer_scope: true,
        as_return_resource: true,
        ..Default::default()
    });
    let id_token = kit.mint_id_token("alice");
    let token = exchange(
        EmaExchangeRequest::new_with_id_token(
            idp_basic(&kit),
            as_basic(&kit),
            kit.mcp_url(),
            &id_token,
        )
        .with_scopes(["mcp:read", "mcp:write"]),
    )
    .await
    .expect("accepted without resource and scope on leg 2");
    assert_eq!(token.scopes, scopes(&["mcp:read", "mcp:write"]));
    assert_eq!(whoami(&kit, &token).await["scope"], "mcp:read mcp:write");
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "leg2_without_resource_and_scope_is_accepted",
    );
}

/// `client_secret_post` at both servers (idjag's default is `client_secret_basic`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_post_is_accepted() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token("alice");
    let token = exchange(EmaExchangeRequest::new_with_id_token(
        idp(
            &kit,
            EmaClientAuthentication::ClientSecretPost(secret(&kit.idp_client())),
        ),
        resource_as(
            &kit,
            &kit.as_client().client_id,
            EmaClientAuthentication::ClientSecretPost(secret(&kit.as_client())),
        ),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect("client_secret_post accepted");
    assert_eq!(whoami(&kit, &token).await["sub"], "alice");
    common::record("rmcp", "testkit", FILE, "client_secret_post_is_accepted");
}

/// A public client at the IdP (`EmaClientAuthentication::None`: `client_id` in the body),
/// which the IdP registered as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_client_at_the_idp_is_accepted() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token_with(&idjag_testkit::IdTokenSpec {
        aud: Some(kit.idp_public_client().client_id),
        ..idjag_testkit::IdTokenSpec::new("alice")
    });
    let token = exchange(EmaExchangeRequest::new_with_id_token(
        idp(&kit, EmaClientAuthentication::None),
        as_basic(&kit),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect("public IdP client accepted");
    assert_eq!(whoami(&kit, &token).await["sub"], "alice");
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "public_client_at_the_idp_is_accepted",
    );
}

/// rmcp uses the method the caller configured, without negotiation, so `None` can go to
/// any server; a confidential client that does not authenticate must be refused with
/// `invalid_client` (RFC 6749 §5.2). idjag chooses the method from the AS metadata and the
/// credentials it holds (a secret: basic or post).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_authentication_for_a_confidential_client_is_refused_with_invalid_client() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token("alice");
    let err = exchange(EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        resource_as(
            &kit,
            &kit.as_client().client_id,
            EmaClientAuthentication::None,
        ),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect_err("refused");
    assert_eq!(
        err,
        EmaError::OAuthRejected {
            stage: EmaExchangeStage::ResourceAuthorizationServer,
            status: 401,
            code: "invalid_client"
        }
    );
    assert_eq!(last_as_error(&kit).as_deref(), Some("invalid_client"));
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "no_client_authentication_for_a_confidential_client_is_refused_with_invalid_client",
    );
}

/// rmcp's JWT client authentication: the application signs (`EmaClientAssertionProvider`);
/// rmcp adds `client_id`, `client_assertion_type` and `client_assertion` (idjag signs
/// `private_key_jwt` itself from the configured key). Here the provider hands out
/// assertions the kit signed with the clients' registered keys (`aud` the server's issuer,
/// rfc7523bis; a fresh `jti` each), one per request.
struct KitSigner(std::sync::Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl EmaClientAssertionProvider for KitSigner {
    async fn create_assertion(
        &self,
        server: &EmaAuthorizationServer,
    ) -> Result<EmaClientAssertion, Box<dyn std::error::Error + Send + Sync>> {
        let mut ready = self.0.lock().map_err(|_| "poisoned")?;
        let i = ready
            .iter()
            .position(|(client_id, _)| *client_id == server.client_id)
            .ok_or("no assertion left for this client")?;
        Ok(EmaClientAssertion::new(ready.remove(i).1))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_from_an_application_signer_is_accepted() {
    let kit = TestKit::start();
    let (idp_jwt, as_jwt) = (kit.idp_jwt_client(), kit.as_jwt_client());
    let signer: Arc<dyn EmaClientAssertionProvider> =
        Arc::new(KitSigner(std::sync::Mutex::new(vec![
            (
                idp_jwt.client_id.clone(),
                kit.client_assertion(&idp_jwt, kit.idp_issuer()),
            ),
            (
                as_jwt.client_id.clone(),
                kit.client_assertion(&as_jwt, kit.as_issuer()),
            ),
        ])));
    let id_token = kit.mint_id_token_with(&idjag_testkit::IdTokenSpec {
        aud: Some(kit.idp_jwt_client().client_id),
        ..idjag_testkit::IdTokenSpec::new("alice")
    });
    let token = exchange(EmaExchangeRequest::new_with_id_token(
        idp(&kit, EmaClientAuthentication::JwtAssertion(signer.clone())),
        resource_as(
            &kit,
            &kit.as_jwt_client().client_id,
            EmaClientAuthentication::JwtAssertion(signer),
        ),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect("private_key_jwt accepted");
    let who = whoami(&kit, &token).await;
    assert_eq!(who["client_id"], kit.as_jwt_client().client_id);
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "private_key_jwt_from_an_application_signer_is_accepted",
    );
}

/// rmcp's refresh-token subject (`EmaExchangeRequest::new`): the IdP refresh token itself is
/// the token-exchange subject (`…:token-type:refresh_token`), as idjag's
/// `subject_token_type: "refresh_token"` sends it (idjag also uses an IdP refresh token to
/// renew an expired ID token, which rmcp leaves to the caller).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_subject_is_accepted() {
    let kit = TestKit::start();
    let refresh = RefreshToken::new(kit.issue_refresh_token("alice"));
    let token = exchange(EmaExchangeRequest::new(
        idp_basic(&kit),
        as_basic(&kit),
        kit.mcp_url(),
        &refresh,
    ))
    .await
    .expect("refresh-token subject accepted");
    assert_eq!(whoami(&kit, &token).await["sub"], "alice");
    common::record("rmcp", "testkit", FILE, "refresh_token_subject_is_accepted");
}

/// No discovery: rmcp sends `resource` exactly as the caller typed it (idjag sends the PRM's
/// `resource`). A resource the IdP does not govern for that audience is refused with
/// `invalid_target` (RFC 8707 §2; SPEC §2.E).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_not_from_the_prm_is_refused_with_invalid_target() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token("alice");
    let typed = format!("{}/", kit.mcp_url()); // a trailing slash: another resource
    let err = exchange(EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        as_basic(&kit),
        &typed,
        &id_token,
    ))
    .await
    .expect_err("refused");
    assert_eq!(
        err,
        EmaError::OAuthRejected {
            stage: EmaExchangeStage::IdentityProvider,
            status: 400,
            code: "invalid_target"
        }
    );
    assert_eq!(last_idp_error(&kit).as_deref(), Some("invalid_target"));
    assert_eq!(kit.counters().requests(Endpoint::AsToken), 0);
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "resource_not_from_the_prm_is_refused_with_invalid_target",
    );
}

/// No discovery: rmcp sends `audience` = the issuer the caller configured (idjag: the
/// validated issuer of the AS metadata). The token endpoint URL in its place is refused
/// with `invalid_target` (the ID-JAG `aud` must be the AS issuer, SPEC §2.G item 9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audience_other_than_the_as_issuer_is_refused_with_invalid_target() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token("alice");
    let wrong = EmaAuthorizationServer::new(
        kit.as_token_endpoint(),
        kit.as_token_endpoint(),
        kit.as_client().client_id,
    )
    .with_client_authentication(EmaClientAuthentication::ClientSecretBasic(secret(
        &kit.as_client(),
    )));
    let err = exchange(EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        wrong,
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect_err("refused");
    assert_eq!(
        err,
        EmaError::OAuthRejected {
            stage: EmaExchangeStage::IdentityProvider,
            status: 400,
            code: "invalid_target"
        }
    );
    assert_eq!(last_idp_error(&kit).as_deref(), Some("invalid_target"));
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "audience_other_than_the_as_issuer_is_refused_with_invalid_target",
    );
}

// ---- what rmcp checks differently --------------------------------------------------------

/// rmcp requires leg 1's `token_type` to be exactly `N_A`; idjag compares it
/// case-insensitively (RFC 6749 §7.1: token types are case-insensitive) and accepts
/// `n_a`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leg1_token_type_n_a_in_lower_case_is_refused_by_rmcp_only() {
    let kit = TestKit::start();
    kit.set_fault(Endpoint::IdpToken, patch(json!({"token_type": "n_a"})));
    let id_token = kit.mint_id_token("alice");
    let err = exchange(EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        as_basic(&kit),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect_err("rmcp refuses");
    assert!(
        matches!(
            err,
            EmaError::InvalidResponse {
                stage: EmaExchangeStage::IdentityProvider,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(kit.counters().requests(Endpoint::AsToken), 0);
    idjag_token(&kit).expect("idjag accepts n_a");
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "leg1_token_type_n_a_in_lower_case_is_refused_by_rmcp_only",
    );
}

/// rmcp requires leg 1's `token_type` (RFC 8693 §2.2.1: REQUIRED); idjag tolerates its
/// absence (the `issued_token_type` is what identifies the ID-JAG).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leg1_without_token_type_is_refused_by_rmcp_only() {
    let kit = TestKit::start();
    kit.set_fault(Endpoint::IdpToken, patch(json!({"token_type": null})));
    let id_token = kit.mint_id_token("alice");
    let err = exchange(EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        as_basic(&kit),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect_err("rmcp refuses");
    assert!(
        matches!(
            err,
            EmaError::InvalidResponse {
                stage: EmaExchangeStage::IdentityProvider,
                ..
            }
        ),
        "{err:?}"
    );
    idjag_token(&kit).expect("idjag accepts a missing token_type");
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "leg1_without_token_type_is_refused_by_rmcp_only",
    );
}

/// A `refresh_token` in leg 2's answer (the AS SHOULD NOT issue one, IDJAG §4.4.3): rmcp
/// refuses the whole response; idjag drops the refresh token and uses the access token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leg2_refresh_token_is_refused_by_rmcp_and_dropped_by_idjag() {
    let kit = TestKit::start();
    kit.set_fault(
        Endpoint::AsToken,
        patch(json!({"refresh_token": "as-refresh-token"})),
    );
    let id_token = kit.mint_id_token("alice");
    let err = exchange(EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        as_basic(&kit),
        kit.mcp_url(),
        &id_token,
    ))
    .await
    .expect_err("rmcp refuses");
    assert!(
        matches!(
            err,
            EmaError::InvalidResponse {
                stage: EmaExchangeStage::ResourceAuthorizationServer,
                ..
            }
        ),
        "{err:?}"
    );
    let token = idjag_token(&kit).expect("idjag keeps the access token");
    assert!(!token.bare_token().is_empty());
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "leg2_refresh_token_is_refused_by_rmcp_and_dropped_by_idjag",
    );
}

/// Replay: rmcp's API consumes the ID-JAG on redemption, so it cannot send one twice; the
/// kit's AS (the idjag verifier, single-use `jti`) refuses a second redemption of the same
/// ID-JAG with `invalid_grant`, whichever client sends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_jag_redeemed_twice_is_refused_with_invalid_grant() {
    let kit = TestKit::start();
    let id_token = kit.mint_id_token("alice");
    let http = default_oauth_http_client().expect("http");
    let jag = EmaExchangeRequest::new_with_id_token(
        idp_basic(&kit),
        as_basic(&kit),
        kit.mcp_url(),
        &id_token,
    )
    .exchange_id_jag(&http)
    .await
    .expect("leg 1");
    let assertion = jag.assertion().secret().clone();
    jag.exchange(&http).await.expect("first redemption");
    // The same ID-JAG again, through idjag's leg 2 (rmcp has no way to resend it).
    let client = idjag::Client::new().expect("idjag client");
    let cl = kit.as_client();
    let endpoint = idjag::TokenEndpoint::from_json(
        &json!({
            "token_endpoint": kit.as_token_endpoint(),
            "issuer": kit.as_issuer(),
            "client": {"client_id": cl.client_id, "client_secret": cl.client_secret},
        })
        .to_string(),
    )
    .expect("endpoint");
    let err = client
        .redeem_id_jag(&idjag::RedeemRequest::new(endpoint, assertion))
        .expect_err("replay refused");
    assert_eq!(
        err.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_grant")
    );
    assert_eq!(kit.last_as_rejection().as_deref(), Some("replayed"));
    common::record(
        "rmcp",
        "testkit",
        FILE,
        "id_jag_redeemed_twice_is_refused_with_invalid_grant",
    );
}
