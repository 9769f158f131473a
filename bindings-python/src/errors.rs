//! The exception tree (STYLE §4 items 17, 20, 22): one base `idjag.IdjagError(Exception)`
//! with `.code`, and one subclass per core [`ErrorKind`], also inheriting the natural builtin
//! (`ValueError`, `ConnectionError`, `TimeoutError`) where that is idiomatic.
//!
//! The classes are created here at module initialisation (with `type(name, bases, dict)`, since
//! multiple inheritance from builtins is not expressible with `create_exception!`), live in
//! `idjag._native` and are re-exported by `idjag` and `idjag.errors`. The message of every
//! exception is the core's `Display`, which never contains a secret.

use idjag::{Error, ErrorKind};
use pyo3::exceptions::{PyConnectionError, PyException, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The Python class of each kind: (kind, class name, parent in the tree, extra builtin base,
/// docstring). The parent is `None` for direct subclasses of `IdjagError`.
pub(crate) const CLASSES: &[(ErrorKind, &str, Option<&str>, Builtin, &str)] = &[
    (
        ErrorKind::InvalidArgument,
        "InvalidArgumentError",
        None,
        Builtin::ValueError,
        "A caller-supplied argument is malformed (bad URL, empty token, unknown enum value...).",
    ),
    (
        ErrorKind::Configuration,
        "ConfigurationError",
        None,
        Builtin::ValueError,
        "The configuration is invalid or contradictory (unknown key, missing credential...).",
    ),
    (
        ErrorKind::Transport,
        "TransportError",
        None,
        Builtin::ConnectionError,
        "The request could not be sent or the response not received (DNS, connect, TLS, I/O).",
    ),
    (
        ErrorKind::Timeout,
        "IdjagTimeoutError",
        Some("TransportError"),
        Builtin::TimeoutError,
        "A connect, read or total timeout elapsed.",
    ),
    (
        ErrorKind::HttpStatus,
        "HttpStatusError",
        None,
        Builtin::None,
        "A non-2xx HTTP response without a parseable OAuth error body (see `.status`).",
    ),
    (
        ErrorKind::OauthError,
        "OAuthServerError",
        None,
        Builtin::None,
        "The server answered with an RFC 6749 section 5.2 error: see `.error`, \
         `.error_description`, `.error_uri` and `.status`.",
    ),
    (
        ErrorKind::ResponseInvalid,
        "ResponseError",
        None,
        Builtin::None,
        "A response could not be used (content type, malformed JSON, missing or invalid members).",
    ),
    (
        ErrorKind::ResponseTooLarge,
        "ResponseTooLargeError",
        Some("ResponseError"),
        Builtin::None,
        "A response body exceeded the configured size cap.",
    ),
    (
        ErrorKind::InsecureUrl,
        "InsecureUrlError",
        None,
        Builtin::None,
        "A URL is not https (and not loopback), or otherwise unsafe to contact.",
    ),
    (
        ErrorKind::RedirectRefused,
        "RedirectRefusedError",
        None,
        Builtin::None,
        "A redirect was refused (token endpoints never redirect; metadata only same-origin).",
    ),
    (
        ErrorKind::IssuerMismatch,
        "IssuerMismatchError",
        None,
        Builtin::None,
        "A metadata document's `issuer` is not exactly the issuer used to fetch it.",
    ),
    (
        ErrorKind::ResourceMismatch,
        "ResourceMismatchError",
        None,
        Builtin::None,
        "A protected-resource `resource` does not match the MCP server URL, or a returned \
         `resource` was not requested.",
    ),
    (
        ErrorKind::NotSupported,
        "NotSupportedError",
        None,
        Builtin::None,
        "The server does not support enterprise-managed authorization.",
    ),
    (
        ErrorKind::ReauthenticationRequired,
        "ReauthenticationRequired",
        None,
        Builtin::None,
        "The user's identity assertion is expired or rejected and cannot be renewed: sign the \
         user in again and call `Session.set_subject_token`.",
    ),
    (
        ErrorKind::VerificationFailed,
        "VerificationError",
        None,
        Builtin::None,
        "An ID-JAG failed verification; `.reason` says why.",
    ),
    (
        ErrorKind::Internal,
        "InternalError",
        None,
        Builtin::None,
        "A bug in idjag or an unexpected internal state (including a caught Rust panic).",
    ),
];

/// The builtin exception a class also inherits.
#[derive(Clone, Copy)]
pub(crate) enum Builtin {
    None,
    ValueError,
    ConnectionError,
    TimeoutError,
}

struct Classes {
    base: Py<PyType>,
    by_kind: Vec<(ErrorKind, Py<PyType>)>,
}

static TREE: PyOnceLock<Classes> = PyOnceLock::new();

const BASE_DOC: &str = "Base class of every idjag error.\n\n\
`code` is the stable snake_case error code shared by every idjag language binding; `step` the \
protocol step that failed; `action` what the caller should do (`reauthenticate`, `reconfigure`, \
`retry`, `denied`). For OAuth error responses, `error`, `error_description`, `error_uri` and \
`status` carry the server's answer. `reason` is a finer machine-readable reason (verifier \
rejections). Messages never contain tokens or secrets.";

fn new_class<'py>(
    py: Python<'py>,
    name: &str,
    bases: Bound<'py, PyTuple>,
    doc: &str,
    code: Option<&str>,
) -> PyResult<Bound<'py, PyType>> {
    let ns = PyDict::new(py);
    ns.set_item("__module__", "idjag._native")?;
    ns.set_item("__doc__", doc)?;
    if let Some(code) = code {
        ns.set_item("code", code)?;
    }
    let cls = py
        .get_type::<PyType>()
        .call1((name, bases, ns))?
        .cast_into::<PyType>()?;
    Ok(cls)
}

/// Creates the classes and adds them to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = new_class(
        py,
        "IdjagError",
        PyTuple::new(py, [py.get_type::<PyException>()])?,
        BASE_DOC,
        Some(ErrorKind::Internal.code()),
    )?;
    for attr in [
        "step",
        "action",
        "error",
        "error_description",
        "error_uri",
        "status",
        "reason",
    ] {
        base.setattr(attr, py.None())?;
    }
    m.add("IdjagError", &base)?;
    let mut made: Vec<(&str, Bound<'_, PyType>)> = Vec::with_capacity(CLASSES.len());
    let mut by_kind: Vec<(ErrorKind, Py<PyType>)> = Vec::with_capacity(CLASSES.len());
    for (kind, name, parent, builtin, doc) in CLASSES {
        let parent_cls = match parent {
            None => base.clone(),
            Some(p) => made
                .iter()
                .find(|(n, _)| n == p)
                .map(|(_, c)| c.clone())
                .ok_or_else(|| PyValueError::new_err(format!("idjag: parent {p} not defined")))?,
        };
        let builtin_cls = match builtin {
            Builtin::None => None,
            Builtin::ValueError => Some(py.get_type::<PyValueError>()),
            Builtin::ConnectionError => Some(py.get_type::<PyConnectionError>()),
            Builtin::TimeoutError => Some(py.get_type::<PyTimeoutError>()),
        };
        let bases = match builtin_cls {
            Some(b) => PyTuple::new(py, [parent_cls.into_any(), b.into_any()])?,
            None => PyTuple::new(py, [parent_cls.into_any()])?,
        };
        let cls = new_class(py, name, bases, doc, Some(kind.code()))?;
        m.add(*name, &cls)?;
        by_kind.push((*kind, cls.clone().unbind()));
        made.push((name, cls));
    }
    let _ = TREE.set(
        py,
        Classes {
            base: base.unbind(),
            by_kind,
        },
    );
    Ok(())
}

fn class_for<'py>(py: Python<'py>, kind: ErrorKind) -> Option<Bound<'py, PyType>> {
    let tree = TREE.get(py)?;
    tree.by_kind
        .iter()
        .find(|(k, _)| *k == kind)
        .or_else(|| tree.by_kind.iter().find(|(k, _)| *k == ErrorKind::Internal))
        .map(|(_, c)| c.bind(py).clone())
        .or_else(|| Some(tree.base.bind(py).clone()))
}

/// Converts a core error into the matching Python exception, with every attribute set and
/// the error's `source()` as `__cause__`.
pub(crate) fn to_py(py: Python<'_>, err: &Error) -> PyErr {
    match build(py, err) {
        Ok(e) => e,
        Err(e) => e,
    }
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let Some(cls) = class_for(py, err.kind()) else {
        return Ok(PyException::new_err(err.to_string()));
    };
    let exc = cls.call1((err.to_string(),))?;
    exc.setattr("code", err.code())?;
    exc.setattr("step", err.step().code())?;
    exc.setattr("action", err.action().code())?;
    exc.setattr("status", err.status())?;
    exc.setattr("reason", err.reason())?;
    let oauth = err.oauth_error();
    exc.setattr("error", oauth.map(|o| o.error.as_str()))?;
    exc.setattr(
        "error_description",
        oauth.and_then(|o| o.error_description.as_deref()),
    )?;
    exc.setattr("error_uri", oauth.and_then(|o| o.error_uri.as_deref()))?;
    let pyerr = PyErr::from_value(exc);
    if let Some(src) = std::error::Error::source(err) {
        // The core guarantees that a cause's message is free of secrets.
        pyerr.set_cause(py, Some(PyException::new_err(src.to_string())));
    }
    Ok(pyerr)
}

/// A new error of `kind` raised by the binding itself (argument checks).
pub(crate) fn to_py_new(kind: ErrorKind, message: &str) -> PyErr {
    Python::attach(|py| to_py(py, &Error::new(kind, idjag::Step::Config, message)))
}

/// An `internal` error for a Rust panic caught at the boundary.
pub(crate) fn panic_error(py: Python<'_>, what: &str) -> PyErr {
    to_py(
        py,
        &Error::internal(
            idjag::Step::Config,
            format!("idjag panicked in {what}; this is a bug, please report it"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core kind has exactly one class (the Python side checks the codes too).
    #[test]
    fn every_kind_has_a_class() {
        for kind in ErrorKind::ALL {
            let n = CLASSES.iter().filter(|c| c.0 == *kind).count();
            assert_eq!(n, 1, "{}", kind.code());
        }
        assert_eq!(CLASSES.len(), ErrorKind::ALL.len());
        for (_, name, parent, _, _) in CLASSES {
            if let Some(p) = parent {
                let pos_parent = CLASSES.iter().position(|c| c.1 == *p);
                let pos_self = CLASSES.iter().position(|c| c.1 == *name);
                assert!(pos_parent < pos_self, "{name}: parent {p} must come first");
            }
        }
    }
}
