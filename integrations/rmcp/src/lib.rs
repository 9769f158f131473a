//! # idjag-rmcp
//!
//! [idjag] tokens on [rmcp]'s streamable HTTP client: MCP Enterprise-Managed
//! Authorization (SEP-990, ID-JAG) for the official Rust MCP SDK.
//!
//! [`IdjagHttpClient`] wraps any rmcp [`StreamableHttpClient`] (by default rmcp's
//! `reqwest::Client`) and, on every request to the MCP server:
//!
//! - attaches `Authorization: Bearer …` from [`idjag::Session::access_token`] — from the
//!   session's cache without I/O or a thread hop when the token is valid, otherwise on
//!   tokio's blocking pool (`spawn_blocking`: the core is synchronous), where the session
//!   discovers the servers (first call), renews the token before it expires, and makes
//!   concurrent callers share one exchange;
//! - answers a `401` or `403` carrying `WWW-Authenticate` with
//!   [`idjag::Session::handle_challenge`] (naming the rejected token) and retries the request
//!   once with the token it returns (a re-exchange, a scope step-up, or the newer token
//!   another request already obtained);
//! - reports failures of idjag as [`Error::Idjag`] inside
//!   [`StreamableHttpError::Client`], with the core's code, step and action
//!   ([`idjag_error`] finds it in any error chain rmcp hands back). Messages never contain
//!   a token or a secret.
//!
//! ```no_run
//! use rmcp::ServiceExt;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let session = idjag::Session::from_json(&std::fs::read_to_string("session.json")?)?;
//! let url = "https://mcp.example.com/mcp";
//! let transport = idjag_rmcp::transport(session, url);
//! let client = ().serve(transport).await?;
//! let tools = client.list_tools(Default::default()).await?;
//! println!("{} tools", tools.tools.len());
//! client.cancel().await?;
//! # Ok(()) }
//! ```
//!
//! With a client of your own (proxy, TLS roots, timeouts) or another transport backend:
//! `StreamableHttpClientTransport::with_client(IdjagHttpClient::new(session, my_client),
//! StreamableHttpClientTransportConfig::with_uri(url))`. The token comes from the session:
//! leave the config's `auth_header` unset (a value there is ignored).
//!
//! One crypto provider: the `reqwest` feature (default) enables rmcp's `reqwest` feature,
//! i.e. reqwest 0.13 with rustls on aws-lc-rs, the provider the core already uses; nothing
//! links `ring`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::{borrow::Cow, collections::HashMap, fmt, future::Future, sync::Arc};

use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use idjag::{Session, Step, Token};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use sse_stream::Sse;

#[cfg(feature = "reqwest")]
pub use reqwest;

/// An rmcp streamable HTTP client whose requests carry idjag's access token. Cheap to clone
/// (the session and, for reqwest, the connection pool are shared).
#[derive(Clone)]
pub struct IdjagHttpClient<C> {
    inner: C,
    session: Session,
}

impl<C> fmt::Debug for IdjagHttpClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdjagHttpClient").finish_non_exhaustive()
    }
}

impl<C> IdjagHttpClient<C> {
    /// Wraps `inner`; every request gets its token from `session`.
    pub fn new(session: Session, inner: C) -> Self {
        IdjagHttpClient { inner, session }
    }

    /// The session supplying the tokens.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The wrapped client.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

#[cfg(feature = "reqwest")]
impl IdjagHttpClient<reqwest::Client> {
    /// Wraps a default `reqwest::Client`.
    pub fn with_reqwest(session: Session) -> Self {
        IdjagHttpClient::new(session, reqwest::Client::new())
    }
}

/// rmcp's streamable HTTP client transport for `url`, on a default `reqwest::Client`, with
/// idjag supplying and renewing the token.
#[cfg(feature = "reqwest")]
pub fn transport(
    session: Session,
    url: impl Into<Arc<str>>,
) -> rmcp::transport::StreamableHttpClientTransport<IdjagHttpClient<reqwest::Client>> {
    rmcp::transport::StreamableHttpClientTransport::with_client(
        IdjagHttpClient::with_reqwest(session),
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url),
    )
}

/// The error type of [`IdjagHttpClient`] (rmcp's `StreamableHttpError::Client`).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error<E> {
    /// idjag could not supply a token (discovery, an exchange, a refused challenge…): the
    /// core's error, with its code, step, action and OAuth error.
    Idjag(idjag::Error),
    /// The wrapped HTTP client failed.
    Http(E),
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Idjag(e) => write!(f, "idjag: {e}"),
            Error::Http(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Idjag(e) => Some(e),
            Error::Http(e) => Some(e),
        }
    }
}

/// The idjag error somewhere in `error`'s chain, if any: in an rmcp `ClientInitializeError`
/// (from `serve`), a `ServiceError` (from a request), a `StreamableHttpError` of an
/// [`IdjagHttpClient`] over `reqwest::Client`, or an `idjag::Error` itself. rmcp does not
/// expose every payload as a `source` (`StreamableHttpError::Client`,
/// `ClientInitializeError::TransportError`), so this also looks inside those. For another
/// wrapped client type `C`, use [`idjag_error_of::<C::Error>`](idjag_error_of).
#[cfg(feature = "reqwest")]
pub fn idjag_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a idjag::Error> {
    idjag_error_of::<reqwest::Error>(error)
}

/// [`idjag_error`] for an [`IdjagHttpClient`] whose wrapped client's error type is `E`.
pub fn idjag_error_of<'a, E: std::error::Error + Send + Sync + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a idjag::Error> {
    use rmcp::service::ClientInitializeError as Init;
    let mut next = Some(error);
    // Bounded: error chains are short; a cycle or a very long chain ends the search.
    for _ in 0..64 {
        let e = next?;
        if let Some(found) = e.downcast_ref::<idjag::Error>() {
            return Some(found);
        }
        if let Some(StreamableHttpError::Client(Error::Idjag(found))) =
            e.downcast_ref::<StreamableHttpError<Error<E>>>()
        {
            return Some(found);
        }
        next = match e.downcast_ref::<Init>() {
            Some(Init::TransportError { error, .. }) => Some(error.error.as_ref()),
            Some(Init::LegacyFallbackFailed { discover, fallback }) => {
                return idjag_error_of::<E>(fallback.as_ref())
                    .or_else(|| idjag_error_of::<E>(discover.as_ref()));
            }
            _ => e.source(),
        };
    }
    None
}

type HttpResult<T, E> = Result<T, StreamableHttpError<Error<E>>>;

/// Moves an error of the wrapped client into this client's error type, variant by variant
/// (rmcp's worker reacts to them: session expiry, missing SSE support…).
fn lift<E: std::error::Error + Send + Sync + 'static>(
    e: StreamableHttpError<E>,
) -> StreamableHttpError<Error<E>> {
    use StreamableHttpError as H;
    match e {
        H::Client(e) => H::Client(Error::Http(e)),
        H::Sse(e) => H::Sse(e),
        H::Io(e) => H::Io(e),
        H::HttpStatus(e) => H::HttpStatus(e),
        H::UnexpectedEndOfStream => H::UnexpectedEndOfStream,
        H::UnexpectedServerResponse(e) => H::UnexpectedServerResponse(e),
        H::ResponseBodyTooLarge { max_size } => H::ResponseBodyTooLarge { max_size },
        H::UnexpectedContentType(e) => H::UnexpectedContentType(e),
        H::ServerDoesNotSupportSse => H::ServerDoesNotSupportSse,
        H::ServerDoesNotSupportDeleteSession => H::ServerDoesNotSupportDeleteSession,
        H::TokioJoinError(e) => H::TokioJoinError(e),
        H::Deserialize(e) => H::Deserialize(e),
        H::TransportChannelClosed => H::TransportChannelClosed,
        H::MissingSessionIdInResponse => H::MissingSessionIdInResponse,
        H::AuthRequired(e) => H::AuthRequired(e),
        H::InsufficientScope(e) => H::InsufficientScope(e),
        H::ReservedHeaderConflict(e) => H::ReservedHeaderConflict(e),
        H::SessionExpired => H::SessionExpired,
        H::SessionRecoveryTimeout => H::SessionRecoveryTimeout,
        H::ReinitializationFailed(e) => H::ReinitializationFailed(e),
        H::ControlRequestTimeout => H::ControlRequestTimeout,
        // A variant of a newer rmcp (or rmcp's `auth` feature, which only its own
        // `AuthClient` produces): kept as its message.
        other => H::UnexpectedServerResponse(Cow::Owned(other.to_string())),
    }
}

/// Runs a blocking session call on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> idjag::Result<T> + Send + 'static,
) -> idjag::Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(idjag::Error::internal(
            Step::Transport,
            "the tokio runtime is shutting down",
        )),
    }
}

impl<C> IdjagHttpClient<C>
where
    C: StreamableHttpClient + Sync,
{
    /// The token for `url`: from the cache on the calling task, else on the blocking pool.
    async fn token(&self, url: &str) -> idjag::Result<Token> {
        if let Some(token) = self.session.cached_token(url) {
            return Ok(token);
        }
        let (session, url) = (self.session.clone(), url.to_owned());
        blocking(move || session.access_token(&url)).await
    }

    /// `call` with the session's token; on a challenge, one `handle_challenge` and one retry.
    async fn authorized<T, F, Fut>(&self, url: &str, call: F) -> HttpResult<T, C::Error>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, StreamableHttpError<C::Error>>>,
    {
        let token = self
            .token(url)
            .await
            .map_err(|e| StreamableHttpError::Client(Error::Idjag(e)))?;
        let (status, www_authenticate) = match call(token.bare_token().to_owned()).await {
            Err(StreamableHttpError::AuthRequired(c)) => (401, c.www_authenticate_header),
            Err(StreamableHttpError::InsufficientScope(c)) => (403, c.www_authenticate_header),
            other => return other.map_err(lift),
        };
        log::debug!("idjag-rmcp: HTTP {status} with a challenge from the MCP server, handling it");
        let (session, server) = (self.session.clone(), url.to_owned());
        let retry = blocking(move || {
            session.handle_challenge(&server, status, &www_authenticate, Some(token.bare_token()))
        })
        .await
        .map_err(|e| StreamableHttpError::Client(Error::Idjag(e)))?;
        call(retry.bare_token().to_owned()).await.map_err(lift)
    }
}

impl<C> StreamableHttpClient for IdjagHttpClient<C>
where
    C: StreamableHttpClient + Sync,
{
    type Error = Error<C::Error>;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<StreamableHttpPostResponse, C::Error> {
        self.authorized(&uri, |token| {
            self.inner.post_message(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                Some(token),
                custom_headers.clone(),
            )
        })
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> HttpResult<StreamableHttpPostResponse, C::Error> {
        self.authorized(&uri, |token| {
            self.inner.post_message_with_max_sse_event_size(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                Some(token),
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> HttpResult<StreamableHttpPostResponse, C::Error> {
        self.authorized(&uri, |token| {
            self.inner.post_message_with_response_limits(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                Some(token),
                custom_headers.clone(),
                limits,
            )
        })
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<(), C::Error> {
        self.authorized(&uri, |token| {
            self.inner.delete_session(
                uri.clone(),
                session_id.clone(),
                Some(token),
                custom_headers.clone(),
            )
        })
        .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<BoxStream<'static, Result<Sse, SseError>>, C::Error> {
        self.authorized(&uri, |token| {
            self.inner.get_stream(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                Some(token),
                custom_headers.clone(),
            )
        })
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> HttpResult<BoxStream<'static, Result<Sse, SseError>>, C::Error> {
        self.authorized(&uri, |token| {
            self.inner.get_stream_with_max_sse_event_size(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                Some(token),
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
    }
}
