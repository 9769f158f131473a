//! `idjag.Session`: the high-level MCP client (one per signed-in user, shared by every thread).

use crate::convert::{json_text, json_to_py, map_to_py, q, subject_type};
use crate::events::Events;
use crate::run;
use idjag::{Discovery, SessionConfig, Token};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::{PyTraverseError, PyVisit};
use std::sync::Arc;

/// An access token for one MCP server. Immutable; `repr` never shows the token.
#[pyclass(frozen, module = "idjag._native", name = "Token")]
pub(crate) struct PyToken {
    pub(crate) t: Arc<Token>,
}

#[pymethods]
impl PyToken {
    /// The access token itself (a secret: do not log it).
    #[getter]
    fn access_token(&self) -> &str {
        self.t.access_token.expose_secret()
    }

    /// The `Authorization` header value, `Bearer <token>` (a secret: do not log it).
    #[getter]
    fn authorization(&self) -> String {
        self.t.authorization_header()
    }

    /// Always `Bearer`.
    #[getter]
    fn token_type(&self) -> &str {
        &self.t.token_type
    }

    /// Expiry, Unix seconds.
    #[getter]
    fn expires_at(&self) -> i64 {
        self.t.expires_at
    }

    /// The granted scope, if known.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.t.scope.as_deref()
    }

    /// The MCP server's resource identifier.
    #[getter]
    fn resource(&self) -> &str {
        &self.t.resource
    }

    /// The issuer of the authorization server that issued the token.
    #[getter]
    fn authorization_server(&self) -> &str {
        &self.t.authorization_server
    }

    /// The decoded, unverified claims of the ID-JAG this token was redeemed from (personal
    /// data such as `sub` or `email`, never a secret), or `None`.
    #[getter]
    fn id_jag_claims<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.t
            .id_jag_claims
            .as_ref()
            .map(|c| map_to_py(py, c))
            .transpose()
    }

    fn __repr__(&self) -> String {
        format!(
            "Token(token_type={}, expires_at={}, scope={}, resource={}, authorization_server={}, access_token=<redacted>)",
            q(&self.t.token_type),
            self.t.expires_at,
            py_opt(self.t.scope.as_deref()),
            q(&self.t.resource),
            q(&self.t.authorization_server),
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "idjag.Token holds a secret and cannot be pickled or copied",
        ))
    }
}

// (Also used by `verify.rs`.)
pub(crate) use crate::convert::py_opt;

/// What discovery found for an MCP server. Immutable, no secrets.
#[pyclass(frozen, module = "idjag._native", name = "Discovery")]
pub(crate) struct PyDiscovery {
    d: Discovery,
}

#[pymethods]
impl PyDiscovery {
    /// The MCP server URL that was discovered.
    #[getter]
    fn server_url(&self) -> &str {
        &self.d.server_url
    }

    /// The URL the protected-resource metadata was fetched from.
    #[getter]
    fn resource_metadata_url(&self) -> &str {
        &self.d.resource_metadata_url
    }

    /// The PRM `resource` (what tokens are requested for).
    #[getter]
    fn resource(&self) -> &str {
        self.d.resource()
    }

    /// The chosen authorization server's issuer (the ID-JAG audience).
    #[getter]
    fn authorization_server(&self) -> &str {
        self.d.audience()
    }

    /// The authorization server's token endpoint, if it has one.
    #[getter]
    fn token_endpoint(&self) -> Option<&str> {
        self.d.authorization_server.token_endpoint.as_deref()
    }

    /// The scope of the server's challenge, if it sent one.
    #[getter]
    fn challenged_scope(&self) -> Option<&str> {
        self.d.challenged_scope.as_deref()
    }

    /// The scope that would be requested by default.
    #[getter]
    fn default_scope(&self) -> Option<String> {
        self.d.default_scope()
    }

    /// Whether the authorization server advertises enterprise-managed authorization (the
    /// ID-JAG grant profile and the jwt-bearer grant).
    #[getter]
    fn supports_enterprise_managed_authorization(&self) -> bool {
        self.d
            .authorization_server
            .supports_enterprise_managed_authorization()
    }

    /// The protected-resource metadata document (RFC 9728) as a `dict`.
    #[getter]
    fn resource_metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&*self.d.resource_metadata).unwrap_or_default();
        json_to_py(py, &v)
    }

    /// The authorization server metadata document (RFC 8414) as a `dict`.
    #[getter]
    fn authorization_server_metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(&*self.d.authorization_server).unwrap_or_default();
        json_to_py(py, &v)
    }

    fn __repr__(&self) -> String {
        format!(
            "Discovery(server_url={}, resource={}, authorization_server={}, token_endpoint={})",
            q(&self.d.server_url),
            q(self.d.resource()),
            q(self.d.audience()),
            py_opt(self.d.authorization_server.token_endpoint.as_deref()),
        )
    }
}

/// The high-level MCP client: discovers, exchanges, redeems, caches and renews access tokens
/// for MCP servers, and reacts to 401/403 challenges. Thread-safe: share one per signed-in user.
#[pyclass(frozen, subclass, module = "idjag._native", name = "Session")]
pub(crate) struct PySession {
    inner: idjag::Session,
    events: Events,
}

#[pymethods]
impl PySession {
    #[new]
    #[pyo3(signature = (config, *, on_event = None))]
    fn new(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        on_event: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        if let Some(cb) = &on_event {
            if !cb.bind(py).is_callable() {
                return Err(PyTypeError::new_err("on_event must be callable"));
            }
        }
        let json = json_text(config)?;
        let events = Events::new(on_event);
        let hook = events.hook();
        let session = run(py, "Session()", move || {
            let cfg = SessionConfig::from_json(&json)?;
            idjag::Session::builder(cfg).on_event(hook).build()
        });
        Ok(PySession {
            inner: session?,
            events,
        })
    }

    /// An access token for the MCP server at `server_url`: from the cache (no I/O), or
    /// discovered, exchanged and redeemed (releases the GIL while it waits).
    fn access_token(&self, py: Python<'_>, server_url: &str) -> PyResult<PyToken> {
        let r = run(py, "Session.access_token", || {
            self.inner.access_token(server_url)
        });
        Ok(PyToken { t: Arc::new(r?) })
    }

    /// The token `access_token(server_url)` would return without doing any I/O, or `None`
    /// when a call would have to talk to a server (nothing cached, or renewal due). Lets
    /// async code take the fast path on the event loop and go to a thread only when needed.
    fn cached_token(&self, server_url: &str) -> Option<PyToken> {
        self.inner
            .cached_token(server_url)
            .map(|t| PyToken { t: Arc::new(t) })
    }

    /// Reacts to a 401/403 response of the MCP server and returns the token to retry with
    /// (401: a fresh token; 403 `insufficient_scope`: a token with the union of scopes).
    /// `rejected_token` is the token the rejected request carried (bare, or the whole
    /// `Bearer …` value): a 401 against an older token returns the current one at once, a 401
    /// against the current one mints a new one. Bounded: only a token rejected right after
    /// its own minting, several times in a row, fails instead of looping.
    #[pyo3(signature = (server_url, status, www_authenticate = None, rejected_token = None))]
    fn handle_challenge(
        &self,
        py: Python<'_>,
        server_url: &str,
        status: u16,
        www_authenticate: Option<&str>,
        rejected_token: Option<&str>,
    ) -> PyResult<PyToken> {
        let header = www_authenticate.unwrap_or("");
        let r = run(py, "Session.handle_challenge", || {
            self.inner
                .handle_challenge(server_url, status, header, rejected_token)
        });
        Ok(PyToken { t: Arc::new(r?) })
    }

    /// Replaces the user's identity assertion (after the host app signed the user in again).
    /// Cached access tokens stay valid until they expire.
    #[pyo3(signature = (token, token_type = "id_token", refresh_token = None))]
    fn set_subject_token(
        &self,
        py: Python<'_>,
        token: &str,
        token_type: &str,
        refresh_token: Option<&str>,
    ) -> PyResult<()> {
        let tt = subject_type(token_type)?;
        let token = idjag::SecretString::new(token);
        let refresh = refresh_token.map(idjag::SecretString::new);
        run(py, "Session.set_subject_token", || {
            self.inner.set_subject_token(token, tt, refresh)
        })
    }

    /// Drops the cached tokens and discovery of `server_url`.
    fn invalidate(&self, py: Python<'_>, server_url: &str) -> PyResult<()> {
        run(py, "Session.invalidate", || {
            self.inner.invalidate(server_url);
            Ok(())
        })
    }

    /// Leg 1 alone: an ID-JAG for `audience` (the authorization server's issuer) and
    /// `resource`, from the session's IdP with its subject-token lifecycle (refresh of an
    /// expired ID token included). For SDK providers that redeem the ID-JAG themselves.
    #[pyo3(signature = (audience, resource, scope = None))]
    fn request_id_jag(
        &self,
        py: Python<'_>,
        audience: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> PyResult<crate::client::PyIdJag> {
        let r = run(py, "Session.request_id_jag", || {
            self.inner.request_id_jag(audience, resource, scope)
        });
        Ok(crate::client::PyIdJag { j: r? })
    }

    /// Discovery for `server_url` (cached per session).
    fn discover(&self, py: Python<'_>, server_url: &str) -> PyResult<PyDiscovery> {
        let r = run(py, "Session.discover", || self.inner.discover(server_url));
        Ok(PyDiscovery { d: r? })
    }

    fn __repr__(&self) -> String {
        "Session(...)".to_string()
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "idjag.Session holds secrets and cannot be pickled or copied",
        ))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.events.traverse(&visit)
    }
}
