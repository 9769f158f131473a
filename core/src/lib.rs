//! # idjag
//!
//! MCP Enterprise-Managed Authorization (SEP-990, "Cross-App Access") for both sides:
//!
//! - **client**: discover an MCP server's authorization server (RFC 9728 / RFC 8414 / OIDC),
//!   exchange the user's identity assertion at the enterprise IdP for an ID-JAG (RFC 8693),
//!   redeem it at the authorization server for an access token (RFC 7523);
//! - **authorization server**: verify presented ID-JAGs ([`IdJagVerifier`]).
//!
//! The core is synchronous, owns no runtime and no global state; the `idjag` command line
//! and the Python package are built on it.
//!
//! ## Quickstart: a token for an MCP server
//!
//! A [`Session`] turns an MCP server URL into an access token: it discovers the server's
//! authorization server, exchanges the user's ID token at the IdP for an ID-JAG, redeems it,
//! caches the token and renews it before it expires. This example runs against the
//! `idjag-testkit` IdP, authorization server and MCP server on loopback (hidden setup lines);
//! with yours, the values come from your IdP registration and the user's sign-in.
//!
//! ```
//! use idjag::{Session, SessionConfig};
//! # let kit = idjag_testkit::TestKit::start();
//! # let (idp_client, as_client) = (kit.idp_client(), kit.as_client());
//! # let (idp_issuer, as_issuer, mcp_url) = (kit.idp_issuer(), kit.as_issuer(), kit.mcp_url());
//! # let (idp_client_id, idp_client_secret) = (&idp_client.client_id, &idp_client.client_secret);
//! # let (as_client_id, as_client_secret) = (&as_client.client_id, &as_client.client_secret);
//! # let id_token = kit.mint_id_token("alice");
//! # fn post_to_mcp(url: &str, authorization: &str) -> (u16, String) {
//! #     let agent: ureq::Agent =
//! #         ureq::Agent::config_builder().http_status_as_error(false).build().into();
//! #     let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{}","capabilities":{{}},"clientInfo":{{"name":"quickstart","version":"1"}}}}}}"#,
//! #         idjag_testkit::PROTOCOL_VERSIONS[0]);
//! #     let resp = agent.post(url).header("Authorization", authorization)
//! #         .header("Content-Type", "application/json")
//! #         .header("Accept", "application/json, text/event-stream")
//! #         .send(body.as_str()).expect("MCP request");
//! #     let www = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok());
//! #     (resp.status().as_u16(), www.unwrap_or_default().to_string())
//! # }
//! let config = SessionConfig::from_json(&serde_json::json!({
//!     "idp": {"issuer": idp_issuer, "client_id": idp_client_id, "client_secret": idp_client_secret},
//!     "subject_token": id_token,            // the user's ID token from your OIDC sign-in
//!     "client": {"client_id": as_client_id, "client_secret": as_client_secret},
//!     "client_issuers": [as_issuer],        // the only AS this client secret may be sent to
//! }).to_string())?;
//! let session = Session::new(config)?;      // one per signed-in user; Clone + Send + Sync
//!
//! let token = session.access_token(mcp_url)?;   // discovery, leg 1, leg 2; then cached
//! assert_eq!(token.resource, mcp_url);
//! assert_eq!(session.access_token(mcp_url)?.bare_token(), token.bare_token()); // no I/O
//! # kit.revoke_access_tokens(); // the server revokes it: the next request gets a 401
//!
//! // Send `Authorization: Bearer …` with your HTTP client (`post_to_mcp` is yours):
//! let (status, www_authenticate) = post_to_mcp(mcp_url, &token.authorization_header());
//! if status == 401 || status == 403 {
//!     // A fresh token (401), or a step-up to the challenged scope (403 insufficient_scope).
//!     let retry = session.handle_challenge(mcp_url, status, &www_authenticate, Some(token.bare_token()))?;
//!     let (status, _) = post_to_mcp(mcp_url, &retry.authorization_header());
//!     assert_eq!(status, 200);
//! }
//! # assert_eq!(status, 401, "the revoked token was refused");
//! # Ok::<(), idjag::Error>(())
//! ```
//!
//! [`Token::authorization_header`] is the whole header value, `Bearer <token>`;
//! [`Token::bare_token`] is the token alone, for SDKs that add `Bearer ` themselves (rmcp and
//! others: handing them the header value sends `Bearer Bearer …`). Errors are [`Error`]s
//! with a stable [`Error::code`], the [`Step`] that failed and the [`Action`] to take
//! (`reauthenticate`: sign the user in again and call [`Session::set_subject_token`]).
//! `examples/client.rs` in this crate is the same client as a program.
//!
//! ## Building a `SessionConfig` in code
//!
//! Every configuration field is public and defaults sensibly, so a configuration can be
//! built without JSON; [`SessionConfig::validate`] reports contradictions (a method without
//! its secret or key, …) with the key's name, never its value. Secrets are
//! [`SecretString`]s: redacted in `Debug`, zeroized on drop.
//!
//! ```
//! use idjag::{
//!     ClientConfig, ClientIssuers, HttpSettings, IdpConfig, SecretString, Session, SessionConfig,
//! };
//! # let kit = idjag_testkit::TestKit::start();
//! # let idp_issuer = kit.idp_issuer().to_string();
//! # let as_issuer = kit.as_issuer().to_string();
//! # let idp_secret = kit.idp_client().client_secret.unwrap_or_default();
//! # let as_key_pem = kit.as_jwt_client().private_key_pem.unwrap_or_default();
//! # let id_token = kit.mint_id_token("alice");
//! # kit.map_client("idp-client", "mcp-jwt-client");
//! let config = SessionConfig {
//!     idp: IdpConfig {
//!         issuer: Some(idp_issuer),
//!         client: ClientConfig {
//!             client_id: "idp-client".into(),
//!             client_secret: Some(SecretString::new(idp_secret)),
//!             ..ClientConfig::default()
//!         },
//!         ..IdpConfig::default()
//!     },
//!     subject_token: Some(SecretString::new(id_token)),
//!     // private_key_jwt at the MCP authorization server (the algorithm follows the key).
//!     client: Some(ClientConfig {
//!         client_id: "mcp-jwt-client".into(),
//!         private_key_pem: Some(SecretString::new(as_key_pem)),
//!         ..ClientConfig::default()
//!     }),
//!     client_issuers: Some(ClientIssuers::Listed(vec![as_issuer])),
//!     scope: Some("mcp:read".into()),
//!     http: HttpSettings {
//!         timeout_ms: Some(10_000),
//!         ..HttpSettings::default()
//!     },
//!     ..SessionConfig::default()
//! };
//! config.validate()?;
//! let session = Session::new(config)?;
//! # let token = session.access_token(kit.mcp_url())?;
//! # assert_eq!(token.scope.as_deref(), Some("mcp:read"));
//! # Ok::<(), idjag::Error>(())
//! ```
//!
//! ## Async hosts (tokio)
//!
//! Every call is blocking. On an async runtime, answer from the cache on the event loop
//! first — [`Session::cached_token`] never does I/O and never waits — and move only the
//! calls that must talk to servers to the runtime's blocking pool:
//!
//! ```
//! use idjag::{Error, Session, Step, Token};
//!
//! async fn token_for(session: &Session, url: &str) -> Result<Token, Error> {
//!     if let Some(token) = session.cached_token(url) {
//!         return Ok(token); // the common case: no I/O, no thread hop
//!     }
//!     let (session, url) = (session.clone(), url.to_string()); // clones share the cache
//!     match tokio::task::spawn_blocking(move || session.access_token(&url)).await {
//!         Ok(result) => result,
//!         Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
//!         Err(_) => Err(Error::internal(Step::Transport, "the runtime is shutting down")),
//!     }
//! }
//! # use idjag_testkit::{Endpoint, Fault, TestKit};
//! # use std::time::Duration;
//! # let kit = TestKit::start();
//! # let (idp, cl) = (kit.idp_client(), kit.as_client());
//! # let session = Session::from_json(&serde_json::json!({
//! #     "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
//! #     "subject_token": kit.mint_id_token("alice"),
//! #     "client": {"client_id": cl.client_id, "client_secret": cl.client_secret},
//! #     "client_issuers": [kit.as_issuer()],
//! # }).to_string())?;
//! # let url = kit.mcp_url();
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
//! # rt.block_on(async {
//! // Cancelling the caller (a timeout, a dropped request, `select!`) does not abort the
//! // exchange: the blocking call runs to completion, bounded by `timeout_ms` per request,
//! // and its token is cached for the next caller.
//! # kit.set_fault_times(Endpoint::AsToken, Fault::delay_ms(300), 1); // a slow AS
//! let cancelled = tokio::time::timeout(Duration::from_millis(50), token_for(&session, url)).await;
//! assert!(cancelled.is_err()); // the caller gave up …
//! # let mut waited = 0;
//! # while session.cached_token(url).is_none() && waited < 100 {
//! #     tokio::time::sleep(Duration::from_millis(50)).await;
//! #     waited += 1;
//! # }
//! let token = token_for(&session, url).await?; // … the exchange did not: from the cache
//! # assert_eq!(kit.counters().requests(Endpoint::AsToken), 1, "one redemption in all");
//! # assert_eq!(token.resource, url);
//! # Ok::<(), Error>(())
//! # })?;
//! # Ok::<(), Error>(())
//! ```
//!
//! [`Session::handle_challenge`] and [`Session::discover`] follow the same pattern (there is
//! no cache shortcut for a challenge). Concurrent callers for the same server share one
//! exchange (single flight): a burst of callers holds one blocking thread each, one doing the
//! I/O and the others waiting for its result. Dropping the runtime waits for blocking tasks
//! in flight (`Runtime::shutdown_timeout` bounds that wait); each is bounded by the
//! configured timeouts anyway.
//!
//! ## Authorization servers
//!
//! One [`IdJagVerifier`] per token endpoint, built from a [`VerifierConfig`]; see the
//! [`verify`] module. `examples/as_token_endpoint.rs` in this crate is a complete token
//! endpoint.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod assess;
mod cache;
pub mod challenge;
pub mod client;
pub mod client_auth;
pub mod clock;
pub mod config;
pub mod discovery;
pub mod error;
pub mod exchange;
pub mod http;
pub mod jwt;
pub mod response;
pub mod routing;
pub mod scope;
mod scrub;
pub mod secret;
pub mod session;
pub mod urn;
pub mod verify;

pub use client::{Client, ClientBuilder, EventHook, HttpEvent};
pub use client_auth::{AuthMethod, ClientCredentials, PrivateKey, SigningAlg};
pub use config::{
    ClientConfig, HttpSettings, IdpConfig, JwtBearerScope, SessionConfig, WorkloadConfig,
};
pub use discovery::{
    AuthorizationServerMetadata, Discovery, DiscoveryOptions, ProtectedResourceMetadata,
    ResourceMatch,
};
pub use error::{Action, Error, ErrorKind, OAuthErrorCode, OAuthErrorResponse, Result, Step};
pub use exchange::{
    AccessToken, IdJag, IdJagRequest, IdTokenRefresh, IdTokenRefreshRequest, PrepareContext,
    PreparedRequest, RedeemRequest, SubjectTokenType, TokenEndpoint,
};
pub use routing::{ClientIssuers, CredentialRoute};
pub use scope::Scope;
pub use secret::SecretString;
pub use session::{
    Notice, NoticeHook, NoticeKind, Session, SessionBuilder, Token, WorkloadAssertion,
};
pub use verify::{IdJagVerifier, RejectReason, VerifiedGrant, VerifierConfig};
