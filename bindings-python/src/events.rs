//! Session events for Python: a callback and/or the `idjag` logger.
//!
//! The core calls its event hook synchronously on the thread doing the request, while the GIL
//! is released and sometimes while the session holds one of its locks. Calling Python there
//! would need the GIL on every event (a wait of up to the interpreter's switch interval when
//! another thread runs Python) and would deadlock a callback that calls back into the session.
//! So the hook only queues the event (no GIL, no allocation beyond the event), and the thread
//! that made the call delivers the queued events once the core call has returned and the GIL is
//! held again: in order, exactly once, on a thread that holds no idjag lock.

use crate::convert::q;
use idjag::{EventHook, HttpEvent};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::sync::{Arc, Mutex};

/// Most events kept for delivery (a safety bound; the queue is drained after every call).
const MAX_QUEUED: usize = 4096;

/// One HTTP exchange made by idjag. Never contains a secret: no header, no body, and the URL
/// has no query string or fragment.
#[pyclass(frozen, module = "idjag._native", name = "HttpEvent")]
pub(crate) struct PyHttpEvent {
    ev: HttpEvent,
}

#[pymethods]
impl PyHttpEvent {
    /// The protocol step (`discovery`, `idp_exchange`, `as_grant`, ...).
    #[getter]
    fn step(&self) -> &'static str {
        self.ev.step.code()
    }

    /// `GET` or `POST`.
    #[getter]
    fn method(&self) -> &'static str {
        self.ev.method.as_str()
    }

    /// The URL, without query string or fragment.
    #[getter]
    fn url(&self) -> &str {
        &self.ev.url
    }

    /// The response status, or `None` when no response arrived.
    #[getter]
    fn status(&self) -> Option<u16> {
        self.ev.status
    }

    /// Wall time of the exchange in milliseconds.
    #[getter]
    fn duration_ms(&self) -> f64 {
        self.ev.duration.as_secs_f64() * 1000.0
    }

    /// Response body size in bytes.
    #[getter]
    fn bytes(&self) -> usize {
        self.ev.bytes
    }

    /// The error code when the exchange failed at the transport level (`transport`,
    /// `timeout`, ...).
    #[getter]
    fn error(&self) -> Option<&'static str> {
        self.ev.error
    }

    fn __repr__(&self) -> String {
        format!(
            "HttpEvent(step={}, method={}, url={}, status={}, duration_ms={:.3}, bytes={}, error={})",
            q(self.ev.step.code()),
            q(self.ev.method.as_str()),
            q(&self.ev.url),
            self.ev.status.map_or("None".to_string(), |s| s.to_string()),
            self.duration_ms(),
            self.ev.bytes,
            crate::convert::q_opt(self.ev.error),
        )
    }
}

/// Where a session's or client's events go.
pub(crate) struct Events {
    queue: Arc<Mutex<Vec<HttpEvent>>>,
    callback: Option<Py<PyAny>>,
}

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || {
            py.import("logging")?
                .call_method1("getLogger", ("idjag",))
                .map(Bound::unbind)
        })
        .map(|l| l.bind(py))
}

impl Events {
    pub(crate) fn new(callback: Option<Py<PyAny>>) -> Events {
        Events {
            queue: Arc::new(Mutex::new(Vec::new())),
            callback,
        }
    }

    /// The hook to install in the core.
    pub(crate) fn hook(&self) -> EventHook {
        let q = Arc::clone(&self.queue);
        Arc::new(move |ev: &HttpEvent| {
            let mut g = q.lock().unwrap_or_else(|p| p.into_inner());
            if g.len() < MAX_QUEUED {
                g.push(ev.clone());
            }
        })
    }

    /// Lets the garbage collector see the callback (it may refer back to its session).
    pub(crate) fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(cb) = &self.callback {
            visit.call(cb)?;
        }
        Ok(())
    }

    /// Delivers the queued events to the callback and the `idjag` logger (DEBUG level).
    /// Exceptions raised by the callback are reported with `sys.unraisablehook` and do not
    /// affect the call that produced the event.
    pub(crate) fn deliver(&self, py: Python<'_>) {
        let pending = {
            let mut g = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            if g.is_empty() {
                return;
            }
            std::mem::take(&mut *g)
        };
        let log = logger(py)
            .ok()
            .filter(|l| {
                l.call_method1("isEnabledFor", (10,))
                    .and_then(|v| v.is_truthy())
                    .unwrap_or(false)
            })
            .cloned();
        for ev in pending {
            if let Some(l) = &log {
                let r = l.call_method1(
                    "debug",
                    (
                        "%s %s %s -> %s in %.1f ms (%d bytes)",
                        ev.step.code(),
                        ev.method.as_str(),
                        ev.url.as_str(),
                        ev.status.map_or_else(
                            || ev.error.unwrap_or("error").to_string(),
                            |s| s.to_string(),
                        ),
                        ev.duration.as_secs_f64() * 1000.0,
                        ev.bytes,
                    ),
                );
                if let Err(e) = r {
                    e.write_unraisable(py, None);
                }
            }
            if let Some(cb) = &self.callback {
                let obj = match Bound::new(py, PyHttpEvent { ev }) {
                    Ok(o) => o,
                    Err(e) => {
                        e.write_unraisable(py, None);
                        continue;
                    }
                };
                if let Err(e) = cb.bind(py).call1((obj,)) {
                    e.write_unraisable(py, Some(cb.bind(py)));
                }
            }
        }
    }
}
