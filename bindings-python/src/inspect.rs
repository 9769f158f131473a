//! `idjag.inspect(token)` and `idjag.parse_www_authenticate(header)`: offline helpers.

use crate::convert::{map_to_py, q, q_list};
use crate::run;
use idjag::challenge::ResourceChallenge;
use idjag::jwt::{Inspection, TokenKind};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::time::{SystemTime, UNIX_EPOCH};

/// The decoded parts of a JWT (unverified: never make a trust decision from it). Holds the
/// header and claims, never the token or its signature.
#[pyclass(frozen, module = "idjag._native", name = "Inspection")]
pub(crate) struct PyInspection {
    i: Inspection,
}

fn kind_code(k: TokenKind) -> &'static str {
    match k {
        TokenKind::IdJag => "id_jag",
        TokenKind::IdToken => "id_token",
        TokenKind::Jwt => "jwt",
        TokenKind::Encrypted => "encrypted",
    }
}

#[pymethods]
impl PyInspection {
    /// `id_jag`, `id_token`, `jwt` or `encrypted`.
    #[getter]
    fn kind(&self) -> &'static str {
        kind_code(self.i.kind)
    }

    /// The JOSE header.
    #[getter]
    fn header<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        map_to_py(py, &self.i.header)
    }

    /// The claims (empty for an encrypted token).
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        map_to_py(py, &self.i.claims)
    }

    /// `exp` (Unix seconds).
    #[getter]
    fn expires_at(&self) -> Option<i64> {
        self.i.expires_at
    }

    /// `iat` (Unix seconds).
    #[getter]
    fn issued_at(&self) -> Option<i64> {
        self.i.issued_at
    }

    /// `nbf` (Unix seconds).
    #[getter]
    fn not_before(&self) -> Option<i64> {
        self.i.not_before
    }

    /// Whether `exp` was in the past at inspection time.
    #[getter]
    fn expired(&self) -> bool {
        self.i.expired
    }

    /// Problems worth showing an operator (expired, wrong `typ`, missing `jti`, ...).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.i.warnings.clone()
    }

    fn __repr__(&self) -> String {
        let alg = self
            .i
            .header
            .get("alg")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        format!(
            "Inspection(kind={}, alg={}, claims={}, expires_at={}, expired={}, warnings={})",
            q(kind_code(self.i.kind)),
            q(alg),
            q_list(&self.i.claims.keys().collect::<Vec<_>>()),
            self.i
                .expires_at
                .map_or_else(|| "None".to_string(), |e| e.to_string()),
            if self.i.expired { "True" } else { "False" },
            self.i.warnings.len(),
        )
    }
}

/// Decodes a JWT without verifying it (diagnostics only). `now` (Unix seconds, default: the
/// current time) decides `expired`.
#[pyfunction]
#[pyo3(signature = (token, *, now = None))]
pub(crate) fn inspect(py: Python<'_>, token: &str, now: Option<i64>) -> PyResult<PyInspection> {
    let now = now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    let token = token.to_string();
    let i = run(py, "inspect", move || idjag::jwt::inspect(&token, now))?;
    Ok(PyInspection { i })
}

/// The parameters of an MCP server's `WWW-Authenticate` challenge (RFC 6750 / RFC 9728).
#[pyclass(frozen, module = "idjag._native", name = "ResourceChallenge")]
pub(crate) struct PyResourceChallenge {
    c: ResourceChallenge,
}

#[pymethods]
impl PyResourceChallenge {
    /// `resource_metadata` (RFC 9728 section 5.1).
    #[getter]
    fn resource_metadata(&self) -> Option<&str> {
        self.c.resource_metadata.as_deref()
    }

    /// `scope`.
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.c.scope.as_deref()
    }

    /// `error` (`invalid_token`, `insufficient_scope`, ...).
    #[getter]
    fn error(&self) -> Option<&str> {
        self.c.error.as_ref().map(|e| e.as_str())
    }

    /// `error_description`.
    #[getter]
    fn error_description(&self) -> Option<&str> {
        self.c.error_description.as_deref()
    }

    fn __repr__(&self) -> String {
        use crate::convert::py_opt;
        format!(
            "ResourceChallenge(resource_metadata={}, scope={}, error={}, error_description={})",
            py_opt(self.c.resource_metadata.as_deref()),
            py_opt(self.c.scope.as_deref()),
            py_opt(self.c.error.as_ref().map(|e| e.as_str())),
            py_opt(self.c.error_description.as_deref()),
        )
    }
}

/// Parses `WWW-Authenticate` header values (one per header line) into the parameters of the
/// Bearer challenge.
#[pyfunction]
pub(crate) fn parse_www_authenticate(headers: &Bound<'_, PyAny>) -> PyResult<PyResourceChallenge> {
    let values: Vec<String> = match headers.extract::<String>() {
        Ok(s) => vec![s],
        Err(_) => headers.extract()?,
    };
    let c = ResourceChallenge::parse(values.iter().map(String::as_str));
    Ok(PyResourceChallenge { c })
}
