//! `idjag._native`: the PyO3 extension behind the `idjag` Python package (STYLE §4 items 20,
//! 26, 40, 43–45). Thin by design: argument conversion, error mapping, GIL handling. Every
//! OAuth decision lives in the `idjag` core.
//!
//! - Every pyclass is `frozen` and internally synchronized; the core objects are `Send + Sync`.
//! - Every call into the core runs with the GIL released (`run`) and inside
//!   `catch_unwind`: a Rust panic becomes `idjag.InternalError`, never an abort.
//! - Results holding secrets show `<redacted>` in `repr` and refuse pickling.
#![forbid(unsafe_code)]

mod client;
mod convert;
mod errors;
mod events;
mod inspect;
mod session;
mod verify;

use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs a core call with the GIL released, turning a core error into the matching
/// `idjag` exception and a panic into `idjag.InternalError`. The call's events are delivered
/// (with the GIL, on this thread) once it has returned (see [`events`]).
pub(crate) fn run<T, F>(py: Python<'_>, what: &str, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> idjag::Result<T> + Send,
{
    let r = py.detach(move || {
        let _recording = events::Recording::start();
        catch_unwind(AssertUnwindSafe(f))
    });
    events::deliver_recorded(py);
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(errors::to_py(py, &e)),
        Err(_) => Err(errors::panic_error(py, what)),
    }
}

/// Every error code of the core, in declaration order (`ErrorKind::ALL`).
#[pyfunction]
fn error_codes() -> Vec<&'static str> {
    idjag::ErrorKind::ALL.iter().map(|k| k.code()).collect()
}

/// Every protocol step name an error can carry (`Step::ALL`).
#[pyfunction]
fn step_codes() -> Vec<&'static str> {
    idjag::Step::ALL.iter().map(|s| s.code()).collect()
}

/// Every action an error can suggest (`Action::ALL`).
#[pyfunction]
fn action_codes() -> Vec<&'static str> {
    idjag::Action::ALL.iter().map(|a| a.code()).collect()
}

/// Raises an `idjag.InternalError` from a deliberate Rust panic (tests the panic guard).
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    run(py, "_panic_for_tests", || -> idjag::Result<()> {
        panic!("deliberate panic for the panic-guard test")
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    verify::register_error_attributes(m)?;
    m.add_class::<session::PySession>()?;
    m.add_class::<session::PyToken>()?;
    m.add_class::<session::PyDiscovery>()?;
    m.add_class::<client::PyClient>()?;
    m.add_class::<client::PyIdJag>()?;
    m.add_class::<client::PyAccessToken>()?;
    m.add_class::<events::PyHttpEvent>()?;
    m.add_class::<inspect::PyInspection>()?;
    m.add_class::<inspect::PyResourceChallenge>()?;
    m.add_class::<verify::PyVerifier>()?;
    m.add_class::<verify::PyVerifiedGrant>()?;
    m.add_function(wrap_pyfunction!(verify::reject_reasons, m)?)?;
    m.add_function(wrap_pyfunction!(verify::token_error_response_for, m)?)?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(step_codes, m)?)?;
    m.add_function(wrap_pyfunction!(action_codes, m)?)?;
    m.add_function(wrap_pyfunction!(inspect::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(inspect::parse_www_authenticate, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
