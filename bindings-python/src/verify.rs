//! `idjag.Verifier`: the authorization-server side (verify presented ID-JAGs).

use crate::convert::{json_text, map_to_py, q, q_list};
use crate::events::Events;
use crate::run;
use crate::session::py_opt;
use idjag::clock::{ManualClock, SharedClock};
use idjag::verify::token_error_response;
use idjag::{Error, ErrorKind, IdJagVerifier, RejectReason, Step, VerifiedGrant, VerifierConfig};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::{PyTraverseError, PyVisit};
use std::sync::Arc;

/// A verified ID-JAG: what the authorization server may grant. Immutable. Its `repr` shows
/// claim names, not claim values (they may be personal data).
#[pyclass(frozen, module = "idjag._native", name = "VerifiedGrant")]
pub(crate) struct PyVerifiedGrant {
    g: VerifiedGrant,
}

#[pymethods]
impl PyVerifiedGrant {
    /// The IdP issuer.
    #[getter]
    fn iss(&self) -> &str {
        &self.g.iss
    }

    /// The user in the IdP's namespace (link accounts by `(iss, sub)`, not by email).
    #[getter]
    fn sub(&self) -> &str {
        &self.g.sub
    }

    /// The client the ID-JAG was issued to (equal to the authenticated client).
    #[getter]
    fn client_id(&self) -> &str {
        &self.g.client_id
    }

    /// The resources to audience-restrict the access token to (never empty).
    #[getter]
    fn resource(&self) -> Vec<String> {
        self.g.resource.clone()
    }

    /// The first (usually only) resource.
    #[getter]
    fn primary_resource(&self) -> &str {
        self.g.primary_resource()
    }

    /// Whether `resource` is the configured default because the ID-JAG had none.
    #[getter]
    fn resource_defaulted(&self) -> bool {
        self.g.resource_defaulted
    }

    /// The granted scope (intersection of requested and asserted scopes when both exist).
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.g.scope.as_deref()
    }

    /// `exp` (Unix seconds).
    #[getter]
    fn exp(&self) -> i64 {
        self.g.exp
    }

    /// `iat` (Unix seconds).
    #[getter]
    fn iat(&self) -> i64 {
        self.g.iat
    }

    /// `jti` (now recorded as used).
    #[getter]
    fn jti(&self) -> &str {
        &self.g.jti
    }

    /// Every claim of the ID-JAG.
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        map_to_py(py, &self.g.claims)
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifiedGrant(iss={}, client_id={}, resource={}, scope={}, exp={}, claims={})",
            q(&self.g.iss),
            q(&self.g.client_id),
            q_list(&self.g.resource),
            py_opt(self.g.scope.as_deref()),
            self.g.exp,
            q_list(&self.g.claims.keys().collect::<Vec<_>>()),
        )
    }
}

/// Verifies ID-JAGs for one authorization server (signature through the IdP's JWKS, `typ`,
/// `iss`, `aud`, `client_id`, `resource`, lifetime, single-use `jti`). Thread-safe: build one
/// at startup and share it.
#[pyclass(frozen, subclass, module = "idjag._native", name = "Verifier")]
pub(crate) struct PyVerifier {
    inner: IdJagVerifier,
    events: Events,
}

#[pymethods]
impl PyVerifier {
    /// `insecure_fixed_clock` (Unix seconds) freezes the verifier's clock, for replaying
    /// recorded vectors only.
    ///
    /// # Security Warning
    ///
    /// A frozen clock accepts expired ID-JAGs forever; never set it in production.
    #[new]
    #[pyo3(signature = (config, *, on_event = None, insecure_fixed_clock = None))]
    fn new(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        on_event: Option<Py<PyAny>>,
        insecure_fixed_clock: Option<i64>,
    ) -> PyResult<Self> {
        if let Some(cb) = &on_event {
            if !cb.bind(py).is_callable() {
                return Err(PyTypeError::new_err("on_event must be callable"));
            }
        }
        let json = json_text(config)?;
        let events = Events::new(on_event);
        let hook = events.hook();
        let inner = run(py, "Verifier()", move || {
            let cfg = VerifierConfig::from_json(&json)?;
            let mut client = idjag::Client::builder().on_event(hook);
            let mut builder = IdJagVerifier::builder(cfg);
            if let Some(t) = insecure_fixed_clock {
                let clock: SharedClock = Arc::new(ManualClock::new(t));
                client = client.clock(Arc::clone(&clock));
                builder = builder.clock(clock);
            }
            builder.client(client.build()?).build()
        })?;
        Ok(PyVerifier { inner, events })
    }

    /// This authorization server's issuer (the only accepted `aud`).
    #[getter]
    fn issuer(&self) -> &str {
        self.inner.issuer()
    }

    /// Verifies `assertion` (the jwt-bearer grant's `assertion`), presented by the already
    /// authenticated client `client_id`, with the grant request's `scope` if any. On success
    /// the `jti` is recorded as used. A rejection raises `VerificationError` whose `.reason` is
    /// one of `reject_reasons()`; unavailable keys or replay store raise the transport-class
    /// error (answer 503, not `invalid_grant`: see `error_response`).
    #[pyo3(signature = (assertion, client_id, scope = None))]
    fn verify(
        &self,
        py: Python<'_>,
        assertion: &str,
        client_id: &str,
        scope: Option<&str>,
    ) -> PyResult<PyVerifiedGrant> {
        let r = run(py, "Verifier.verify", || {
            self.inner.verify(assertion, client_id, scope)
        });
        self.events.deliver(py);
        Ok(PyVerifiedGrant { g: r? })
    }

    /// Fetches the JWK Set of every trusted IdP that has none cached (start-up warm-up and
    /// health check).
    fn prefetch_keys(&self, py: Python<'_>) -> PyResult<()> {
        let r = run(py, "Verifier.prefetch_keys", || self.inner.prefetch_keys());
        self.events.deliver(py);
        r
    }

    fn __repr__(&self) -> String {
        format!("Verifier(issuer={})", q(self.inner.issuer()))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.events.traverse(&visit)
    }
}

/// Every verifier rejection reason (`VerificationError.reason`), in declaration order.
#[pyfunction]
pub(crate) fn reject_reasons() -> Vec<&'static str> {
    RejectReason::ALL.iter().map(|r| r.code()).collect()
}

/// The token endpoint's answer for an error raised by `Verifier.verify`: `(status, body)`.
/// Generic on the wire: every rejection is `400 invalid_grant` with the same description,
/// whatever its reason; key or replay-store trouble is `503 temporarily_unavailable`.
#[pyfunction]
pub(crate) fn token_error_response_for<'py>(
    py: Python<'py>,
    code: &str,
) -> PyResult<(u16, Bound<'py, PyDict>)> {
    let kind = ErrorKind::from_code(code).unwrap_or(ErrorKind::Internal);
    let r = token_error_response(&Error::new(kind, Step::Verify, ""));
    let body = PyDict::new(py);
    body.set_item("error", &r.body.error)?;
    if let Some(d) = &r.body.error_description {
        body.set_item("error_description", d)?;
    }
    Ok((r.status, body))
}
