//! `idjag.Client`: the two legs as plain calls (leg 1 `request_id_jag`, leg 2 `redeem_id_jag`),
//! for callers that manage discovery and caching themselves.

use crate::convert::{json_text, py_opt, subject_type};
use crate::events::Events;
use crate::run;
use idjag::{
    AccessToken, ClientCredentials, IdJag, IdJagRequest, RedeemRequest, SecretString, TokenEndpoint,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};

/// Leg 1 result: an ID-JAG. Immutable; `repr` never shows the assertion.
#[pyclass(frozen, module = "idjag._native", name = "IdJag")]
pub(crate) struct PyIdJag {
    pub(crate) j: IdJag,
}

#[pymethods]
impl PyIdJag {
    /// The ID-JAG (a secret: do not log it).
    #[getter]
    fn assertion(&self) -> &str {
        self.j.assertion.expose_secret()
    }

    /// `issued_token_type` (always the id-jag URN).
    #[getter]
    fn issued_token_type(&self) -> &str {
        &self.j.issued_token_type
    }

    /// `token_type` as sent (`N_A`), if any.
    #[getter]
    fn token_type(&self) -> Option<&str> {
        self.j.token_type.as_deref()
    }

    /// `expires_in` seconds, if sent.
    #[getter]
    fn expires_in(&self) -> Option<u64> {
        self.j.expires_in
    }

    /// Expiry (Unix seconds): from `expires_in` at receipt, else the JWT `exp` claim.
    #[getter]
    fn expires_at(&self) -> Option<i64> {
        self.j.expires_at
    }

    /// The granted scope (the `scope` member, else the requested one).
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.j.scope.as_deref()
    }

    /// The granted resources, if the IdP returned them.
    #[getter]
    fn resource(&self) -> Option<Vec<String>> {
        self.j.resource.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "IdJag(expires_in={}, expires_at={}, scope={}, assertion=<redacted>)",
            opt_num(self.j.expires_in),
            opt_num(self.j.expires_at),
            py_opt(self.j.scope.as_deref()),
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "idjag.IdJag holds a secret and cannot be pickled or copied",
        ))
    }
}

/// Leg 2 result: an access token. Immutable; `repr` never shows the token.
#[pyclass(frozen, module = "idjag._native", name = "AccessToken")]
pub(crate) struct PyAccessToken {
    t: AccessToken,
}

#[pymethods]
impl PyAccessToken {
    /// The access token (a secret: do not log it).
    #[getter]
    fn access_token(&self) -> &str {
        self.t.access_token.expose_secret()
    }

    /// `Bearer`.
    #[getter]
    fn token_type(&self) -> &str {
        &self.t.token_type
    }

    /// `expires_in` seconds, if sent.
    #[getter]
    fn expires_in(&self) -> Option<u64> {
        self.t.expires_in
    }

    /// Expiry (Unix seconds), when `expires_in` was sent.
    #[getter]
    fn expires_at(&self) -> Option<i64> {
        self.t.expires_at
    }

    /// The granted scope (the `scope` member, else the requested one).
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.t.scope.as_deref()
    }

    /// The granted resources, if the server returned them.
    #[getter]
    fn resource(&self) -> Option<Vec<String>> {
        self.t.resource.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "AccessToken(token_type={}, expires_in={}, expires_at={}, scope={}, access_token=<redacted>)",
            crate::convert::q(&self.t.token_type),
            opt_num(self.t.expires_in),
            opt_num(self.t.expires_at),
            py_opt(self.t.scope.as_deref()),
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "idjag.AccessToken holds a secret and cannot be pickled or copied",
        ))
    }
}

fn opt_num<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "None".to_string(), |n| n.to_string())
}

/// Client credentials from the `client` object of the shared configuration shape; the parsing
/// and checks are the core's (`ClientConfig::credentials_from_json`).
pub(crate) fn credentials(json: &str, key: &str) -> idjag::Result<ClientCredentials> {
    idjag::ClientConfig::credentials_from_json(json, key)
}

/// The protocol client: leg 1 and leg 2 as plain calls, one pooled HTTP agent. Thread-safe.
#[pyclass(frozen, subclass, module = "idjag._native", name = "Client")]
pub(crate) struct PyClient {
    inner: idjag::Client,
    events: Events,
}

#[pymethods]
impl PyClient {
    /// `insecure_fixed_clock` (Unix seconds) freezes the client's clock (expiry bookkeeping,
    /// client-assertion `iat`/`exp`), for replaying recorded vectors only.
    ///
    /// # Security Warning
    ///
    /// Tokens then never look expired; never set it in production.
    #[new]
    #[pyo3(signature = (*, timeout_ms = None, connect_timeout_ms = None, ca_bundle_pem = None, proxy = None, on_event = None, insecure_fixed_clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        timeout_ms: Option<u64>,
        connect_timeout_ms: Option<u64>,
        ca_bundle_pem: Option<String>,
        proxy: Option<String>,
        on_event: Option<Py<PyAny>>,
        insecure_fixed_clock: Option<i64>,
    ) -> PyResult<Self> {
        if let Some(cb) = &on_event {
            if !cb.bind(py).is_callable() {
                return Err(PyTypeError::new_err("on_event must be callable"));
            }
        }
        // The HTTP keys of the shared configuration, validated and mapped by the core.
        let settings = idjag::config::HttpSettings {
            timeout_ms,
            connect_timeout_ms,
            ca_bundle_pem,
            proxy,
            ..Default::default()
        };
        settings
            .validate()
            .map_err(|e| crate::errors::to_py(py, &e))?;
        let http = settings.to_http_config();
        let events = Events::new(on_event);
        let hook = events.hook();
        let inner = run(py, "Client()", move || {
            let mut b = idjag::Client::builder().http_config(http).on_event(hook);
            if let Some(t) = insecure_fixed_clock {
                b = b.clock(std::sync::Arc::new(idjag::clock::ManualClock::new(t)));
            }
            b.build()
        })?;
        Ok(PyClient { inner, events })
    }

    /// Leg 1: exchanges the user's identity assertion at the IdP token endpoint for an
    /// ID-JAG (RFC 8693). `client` is the IdP client in the shared configuration shape.
    #[pyo3(signature = (token_endpoint, audience, subject_token, client, *, subject_token_type = "id_token", resource = None, scope = None, idp_issuer = None, auth_methods_supported = None))]
    #[allow(clippy::too_many_arguments)]
    fn request_id_jag(
        &self,
        py: Python<'_>,
        token_endpoint: String,
        audience: String,
        subject_token: &str,
        client: &Bound<'_, PyAny>,
        subject_token_type: &str,
        resource: Option<String>,
        scope: Option<String>,
        idp_issuer: Option<String>,
        auth_methods_supported: Option<Vec<String>>,
    ) -> PyResult<PyIdJag> {
        let tt = subject_type(subject_token_type)?;
        let client_json = json_text(client)?;
        let subject = SecretString::new(subject_token);
        let r = run(py, "Client.request_id_jag", move || {
            let creds = credentials(&client_json, "client")?;
            let mut idp = TokenEndpoint::new(token_endpoint, creds);
            idp.issuer = idp_issuer;
            idp.auth_methods_supported = auth_methods_supported;
            let mut req = IdJagRequest::new(idp, audience, subject, tt);
            req.resource = resource;
            req.scope = scope;
            self.inner.request_id_jag(&req)
        });
        Ok(PyIdJag { j: r? })
    }

    /// Leg 2: redeems an ID-JAG at the MCP authorization server's token endpoint for an
    /// access token (RFC 7523 jwt-bearer). `client` is the AS client in the shared shape.
    #[pyo3(signature = (token_endpoint, assertion, client, *, issuer = None, resource = None, scope = None, auth_methods_supported = None))]
    #[allow(clippy::too_many_arguments)]
    fn redeem_id_jag(
        &self,
        py: Python<'_>,
        token_endpoint: String,
        assertion: &str,
        client: &Bound<'_, PyAny>,
        issuer: Option<String>,
        resource: Option<String>,
        scope: Option<String>,
        auth_methods_supported: Option<Vec<String>>,
    ) -> PyResult<PyAccessToken> {
        let client_json = json_text(client)?;
        let assertion = SecretString::new(assertion);
        let r = run(py, "Client.redeem_id_jag", move || {
            let creds = credentials(&client_json, "client")?;
            let mut endpoint = TokenEndpoint::new(token_endpoint, creds);
            endpoint.issuer = issuer;
            endpoint.auth_methods_supported = auth_methods_supported;
            let mut req = RedeemRequest::new(endpoint, assertion);
            req.resource = resource;
            req.scope = scope;
            self.inner.redeem_id_jag(&req)
        });
        Ok(PyAccessToken { t: r? })
    }

    /// Authorization-server (or IdP) metadata for `issuer` (RFC 8414 / OIDC Discovery, in
    /// the MCP order, with the exact issuer check), as a `dict`. Cached per client.
    fn authorization_server_metadata<'py>(
        &self,
        py: Python<'py>,
        issuer: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = run(py, "Client.authorization_server_metadata", || {
            self.inner.authorization_server_metadata(issuer)
        });
        let v = serde_json::to_value(&*r?).unwrap_or_default();
        crate::convert::json_to_py(py, &v)
    }

    fn __repr__(&self) -> String {
        "Client(...)".to_string()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.events.traverse(&visit)
    }
}
