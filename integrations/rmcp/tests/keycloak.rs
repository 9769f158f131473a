//! rmcp's own enterprise-managed client (`rmcp` 3.11.0, feature `auth-enterprise-managed`),
//! unmodified, against stock Keycloak 26.7 as the MCP server's authorization server: leg 1
//! at the testkit IdP (ID token, `client_secret_basic`), leg 2 at the realm's token endpoint
//! (`client_secret_basic` with a secret RFC 6749 §2.3.1 form-encodes), then `whoami` on the
//! kit's MCP server through rmcp's streamable HTTP client with Keycloak's token (the kit
//! names the realm in its PRM and accepts the realm's JWT access tokens).
//!
//! One difference shows: Keycloak grants a client's default scopes whatever the ID-JAG says,
//! and rmcp refuses a grant wider than the ID-JAG's scope, so leg 1 must ask for those scopes
//! (`with_scopes`).
//!
//! Ignored by default: it needs a running Keycloak. `tests/keycloak/run.sh` starts one and
//! runs it (`cargo test --workspace --test keycloak -- --ignored`, with core's Keycloak test):
//!
//! ```sh
//! scripts/keycloak.sh start
//! IDJAG_KEYCLOAK_URL=http://127.0.0.1:18080 cargo test -p idjag-rmcp --test keycloak -- --ignored
//! scripts/keycloak.sh stop
//! ```

#[path = "../../../tests/keycloak/admin.rs"]
mod admin;
mod common;

use idjag_testkit::{Options, TestKit};
use oauth2::ClientSecret;
use rmcp::transport::auth::default_oauth_http_client;
use rmcp::transport::auth::enterprise::{
    EmaAuthorizationServer, EmaClientAuthentication, EmaError, EmaExchangeRequest,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Keycloak (IDJAG_KEYCLOAK_URL); tests/keycloak/run.sh starts one and runs this"]
async fn rmcp_enterprise_client_gets_a_keycloak_token_and_calls_a_tool() {
    let base = admin::keycloak_url();
    let keycloak = admin::Admin::new(&base);
    let realm = admin::realm_name("idjag-rmcp");
    let issuer = format!("{base}/realms/{realm}");
    // The kit's MCP server names the realm and accepts its tokens; the realm defines no
    // scopes (Keycloak refuses unknown ones), so neither does the MCP server.
    let kit = TestKit::start_with(Options {
        mcp_authorization_server: Some(issuer.clone()),
        scopes_supported: Vec::new(),
        challenge_scopes: Vec::new(),
        ..Default::default()
    });
    let doc = admin::realm_json(&realm, kit.idp_issuer(), &kit.idp_jwks_uri(), kit.mcp_url());
    let (client_id, client_secret) = (
        doc["clients"][0]["clientId"]
            .as_str()
            .expect("client id")
            .to_string(),
        doc["clients"][0]["secret"]
            .as_str()
            .expect("secret")
            .to_string(),
    );
    let (status, text) = keycloak.call("POST", "/admin/realms", Some(&doc));
    assert_eq!(status, 201, "create realm {realm}: {text}");
    let _guard = admin::RealmGuard {
        admin: &keycloak,
        realm: realm.clone(),
    };

    // rmcp does no discovery: the caller reads the realm's token endpoint from its metadata.
    let meta = idjag::Client::builder()
        .build()
        .expect("client")
        .authorization_server_metadata(&issuer)
        .expect("the realm's metadata");
    let token_endpoint = meta.token_endpoint.clone().expect("token_endpoint");

    let idp_client = kit.idp_client();
    let legs = || {
        let idp = EmaAuthorizationServer::new(
            kit.idp_issuer(),
            kit.idp_token_endpoint(),
            idp_client.client_id.clone(),
        )
        .with_client_authentication(EmaClientAuthentication::ClientSecretBasic(
            ClientSecret::new(
                idp_client
                    .client_secret
                    .clone()
                    .expect("a confidential IdP client"),
            ),
        ));
        let keycloak_as =
            EmaAuthorizationServer::new(issuer.clone(), token_endpoint.clone(), client_id.clone())
                .with_client_authentication(EmaClientAuthentication::ClientSecretBasic(
                    ClientSecret::new(client_secret.clone()),
                ));
        (idp, keycloak_as)
    };
    let id_token = kit.mint_id_token("alice");
    let http = default_oauth_http_client().expect("rmcp's OAuth HTTP client");

    // As rmcp's docs show it (no scopes): Keycloak ignores the ID-JAG's (absent) scope and
    // grants the client's default scopes (`profile email`); rmcp requires the granted scope
    // to be within the ID-JAG's and refuses the response. idjag accepts it (the AS decides
    // what it grants; RFC 6749 §3.3).
    let (idp, keycloak_as) = legs();
    let refused = EmaExchangeRequest::new_with_id_token(idp, keycloak_as, kit.mcp_url(), &id_token)
        .exchange(&http, &http)
        .await
        .expect_err("rmcp refuses Keycloak's default scopes");
    match &refused {
        EmaError::InvalidResponse { message, .. } => {
            assert!(message.contains("scope exceeds"), "{message}")
        }
        other => panic!("expected InvalidResponse, got {other:?}"),
    }

    // With leg 1 asking for the realm's default scopes, the grant is within the ID-JAG's.
    let (idp, keycloak_as) = legs();
    let token = EmaExchangeRequest::new_with_id_token(idp, keycloak_as, kit.mcp_url(), &id_token)
        .with_scopes(["profile", "email"])
        .exchange(&http, &http)
        .await
        .expect("rmcp's exchange: leg 1 at the kit's IdP, leg 2 at Keycloak");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let claims = idjag::jwt::inspect(token.access_token.secret(), now)
        .expect("Keycloak's access token is a JWT")
        .claims;
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["azp"], client_id.as_str());

    let who = common::whoami_with_bearer(kit.mcp_url(), token.access_token.secret()).await;
    assert_eq!(who["sub"], "alice");
    assert_eq!(who["client_id"], client_id.as_str());
    common::record(
        "rmcp",
        "keycloak",
        "integrations/rmcp/tests/keycloak.rs",
        "rmcp_enterprise_client_gets_a_keycloak_token_and_calls_a_tool",
    );
}
