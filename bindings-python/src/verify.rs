//! `idjag.Verifier`: the authorization-server side (verify presented ID-JAGs).

use crate::convert::{json_text, map_to_py, q, q_list};
use crate::events::Events;
use crate::run;
use crate::session::py_opt;
use idjag::clock::{ManualClock, SharedClock};
use idjag::verify::{token_error_response, token_error_response_from_parts};
use idjag::{Error, ErrorKind, IdJagVerifier, RejectReason, VerifiedGrant, VerifierConfig};
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

    /// The scope to grant (sorted, space-separated), or `None` to grant no scope. Never more
    /// than the ID-JAG's `scope` claim (or, without one, the configured `default_scope`).
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.g.scope.as_ref().map(|s| s.as_str())
    }

    /// Where the grantable scope came from: `"id_jag"`, `"default_scope"` or
    /// `"no_statement"` (the ID-JAG has no `scope` claim and no default is configured).
    #[getter]
    fn scope_source(&self) -> &'static str {
        self.g.scope_source.code()
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

    /// Whether this is the first accepted presentation of this ID-JAG: always `True` under
    /// the default replay policy `single_use`; `False` for a re-presentation accepted under
    /// the weaker `until_exp`.
    #[getter]
    fn first_use(&self) -> bool {
        self.g.first_use
    }

    /// The IdP tenant (`tenant` claim) of a multi-tenant IdP, or `None`: with it, the user is
    /// `(iss, tenant, sub)`.
    #[getter]
    fn tenant(&self) -> Option<&str> {
        self.g.tenant.as_deref()
    }

    /// This authorization server's tenant for the user (`aud_tenant` claim), or `None`.
    #[getter]
    fn aud_tenant(&self) -> Option<&str> {
        self.g.aud_tenant.as_deref()
    }

    /// This authorization server's own identifier for the user (`aud_sub` claim), or `None`.
    #[getter]
    fn aud_sub(&self) -> Option<&str> {
        self.g.aud_sub.as_deref()
    }

    /// The authentication context class the user's authentication satisfied (`acr`), or
    /// `None`.
    #[getter]
    fn acr(&self) -> Option<&str> {
        self.g.acr.as_deref()
    }

    /// When the user last actively authenticated (`auth_time`, Unix seconds), or `None`.
    #[getter]
    fn auth_time(&self) -> Option<i64> {
        self.g.auth_time
    }

    /// Every claim of the ID-JAG.
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        map_to_py(py, &self.g.claims)
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifiedGrant(iss={}, client_id={}, resource={}, scope={}, exp={}, first_use={}, claims={})",
            q(&self.g.iss),
            q(&self.g.client_id),
            q_list(&self.g.resource),
            py_opt(self.g.scope.as_ref().map(|s| s.as_str())),
            self.g.exp,
            if self.g.first_use { "True" } else { "False" },
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
    /// one of `reject_reasons()` (for the step-up reasons `acr_not_accepted` and
    /// `auth_time_too_old`, `.acr_values` / `.max_age` carry what a new authentication must
    /// meet); unavailable keys or replay store raise the transport-class error (answer 503,
    /// not `invalid_grant`: see `token_error_response`).
    #[pyo3(signature = (assertion, client_id, scope = None))]
    fn verify(
        &self,
        py: Python<'_>,
        assertion: &str,
        client_id: &str,
        scope: Option<&str>,
    ) -> PyResult<PyVerifiedGrant> {
        let r = run(py, "Verifier.verify", || {
            Ok(self.inner.verify(assertion, client_id, scope))
        })?;
        match r {
            Ok(g) => Ok(PyVerifiedGrant { g }),
            Err(e) => Err(verification_error(py, &e)),
        }
    }

    /// Fetches the JWK Set of every trusted IdP that has none cached (start-up warm-up and
    /// health check).
    fn prefetch_keys(&self, py: Python<'_>) -> PyResult<()> {
        run(py, "Verifier.prefetch_keys", || self.inner.prefetch_keys())
    }

    fn __repr__(&self) -> String {
        format!("Verifier(issuer={})", q(self.inner.issuer()))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.events.traverse(&visit)
    }
}

/// The exception for a `verify` error, with the step-up requirement of an
/// `insufficient_user_authentication` answer as `acr_values` / `max_age` (see
/// [`register_error_attributes`] for their class-level `None`).
fn verification_error(py: Python<'_>, err: &Error) -> PyErr {
    let exc = crate::errors::to_py(py, err);
    let wire = token_error_response(err);
    if wire.acr_values.is_some() || wire.max_age.is_some() {
        let value = exc.value(py);
        // Setting attributes on an exception instance cannot fail short of memory
        // exhaustion; the exception is raised either way.
        let _ = value.setattr("acr_values", wire.acr_values.as_deref());
        let _ = value.setattr("max_age", wire.max_age);
    }
    exc
}

/// Gives `VerificationError` the class-level attributes `acr_values` and `max_age` (`None`;
/// set on instances raised for a step-up rejection). Call after the exception classes exist.
pub(crate) fn register_error_attributes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let cls = m.getattr("VerificationError")?;
    cls.setattr("acr_values", m.py().None())?;
    cls.setattr("max_age", m.py().None())?;
    Ok(())
}

/// Every verifier rejection reason (`VerificationError.reason`), in declaration order.
#[pyfunction]
pub(crate) fn reject_reasons() -> Vec<&'static str> {
    RejectReason::ALL.iter().map(|r| r.code()).collect()
}

/// The token endpoint's answer for an error raised by `Verifier.verify` (its `code`,
/// `reason`, and for the step-up reasons its `acr_values` / `max_age`): `(status, body)`.
/// Generic on the wire: a `scope_not_granted` rejection is `400 invalid_scope`,
/// `acr_not_accepted` / `auth_time_too_old` are `400 insufficient_user_authentication` with
/// the `acr_values` / `max_age` members (RFC 9470 §3) when given, every other rejection
/// `400 invalid_grant`, each with one fixed description; key or replay-store trouble is
/// `503 temporarily_unavailable`.
#[pyfunction]
#[pyo3(signature = (code, reason = None, *, acr_values = None, max_age = None))]
pub(crate) fn token_error_response_for<'py>(
    py: Python<'py>,
    code: &str,
    reason: Option<&str>,
    acr_values: Option<&str>,
    max_age: Option<u64>,
) -> PyResult<(u16, Bound<'py, PyDict>)> {
    let kind = ErrorKind::from_code(code).unwrap_or(ErrorKind::Internal);
    let reason = reason.and_then(RejectReason::from_code);
    let r = token_error_response_from_parts(kind, reason, acr_values, max_age);
    let body = PyDict::new(py);
    body.set_item("error", r.body.error.as_str())?;
    if let Some(d) = &r.body.error_description {
        body.set_item("error_description", d)?;
    }
    if let Some(a) = &r.acr_values {
        body.set_item("acr_values", a)?;
    }
    if let Some(m) = r.max_age {
        body.set_item("max_age", m)?;
    }
    Ok((r.status, body))
}
