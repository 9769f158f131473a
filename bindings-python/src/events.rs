//! Session events for Python: a callback and/or the `idjag` logger.
//!
//! The core calls event hooks on the thread that made the call, with no idjag lock held (a
//! session delivers them when its call is done; a client during the request). That thread is
//! inside [`run`](crate::run), with the GIL released. Calling Python right there would mean
//! taking the GIL again for every event (a wait of up to the interpreter's switch interval
//! while another thread runs Python), so the hook only records the event in a per-thread list,
//! and `run` hands the list to the callback and the logger as soon as the core call has
//! returned and the GIL is held again: in order, exactly once, on the calling thread, before
//! the Python method returns, with no idjag lock held — so the callback may call the session,
//! even for the same server. Events of one thread never reach another thread's call.
//!
//! An event raised outside `run` (a thread of the core's own that did not hand its events
//! back) is delivered at once, taking the GIL for it; the core holds no lock when it calls
//! hooks, so that cannot deadlock.

use crate::convert::q;
use idjag::{EventHook, HttpEvent};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::RefCell;
use std::sync::Arc;

/// Most events recorded for one delivery (a safety bound; the list is drained after every
/// core call).
const MAX_RECORDED: usize = 4096;

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

/// Where a session's or client's events go: the Python callback (if any) and the `idjag`
/// logger.
pub(crate) struct Events {
    sink: Arc<Sink>,
}

struct Sink {
    callback: Option<Py<PyAny>>,
}

/// Events recorded on this thread during [`run`](crate::run), with their sink.
struct Recorded {
    /// How many `run` calls are open on this thread (nested only through a callback).
    depth: usize,
    events: Vec<(Arc<Sink>, HttpEvent)>,
}

thread_local! {
    static RECORDED: RefCell<Recorded> = const {
        RefCell::new(Recorded { depth: 0, events: Vec::new() })
    };
}

/// Marks this thread as inside a core call until dropped (panics included).
pub(crate) struct Recording(());

impl Recording {
    pub(crate) fn start() -> Recording {
        RECORDED.with(|r| r.borrow_mut().depth += 1);
        Recording(())
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        RECORDED.with(|r| {
            let mut r = r.borrow_mut();
            r.depth = r.depth.saturating_sub(1);
        });
    }
}

/// Delivers every event recorded on this thread (call with the GIL, after the core call).
pub(crate) fn deliver_recorded(py: Python<'_>) {
    let pending = RECORDED.with(|r| std::mem::take(&mut r.borrow_mut().events));
    for (sink, ev) in pending {
        sink.deliver(py, ev);
    }
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

fn debug_enabled(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    logger(py)
        .ok()
        .filter(|l| {
            l.call_method1("isEnabledFor", (10,))
                .and_then(|v| v.is_truthy())
                .unwrap_or(false)
        })
        .cloned()
}

impl Sink {
    /// Logs `ev` at DEBUG on the `idjag` logger and calls the callback. Exceptions raised by
    /// the callback (or the logger) are reported with `sys.unraisablehook` and do not affect
    /// the call that produced the event.
    fn deliver(&self, py: Python<'_>, ev: HttpEvent) {
        if let Some(l) = debug_enabled(py) {
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
                    return;
                }
            };
            if let Err(e) = cb.bind(py).call1((obj,)) {
                e.write_unraisable(py, Some(cb.bind(py)));
            }
        }
    }
}

impl Events {
    pub(crate) fn new(callback: Option<Py<PyAny>>) -> Events {
        Events {
            sink: Arc::new(Sink { callback }),
        }
    }

    /// The hook to install in the core.
    pub(crate) fn hook(&self) -> EventHook {
        let sink = Arc::downgrade(&self.sink);
        Arc::new(move |ev: &HttpEvent| {
            let Some(sink) = sink.upgrade() else {
                return; // the Python object is gone
            };
            let outside = RECORDED.with(|r| {
                let mut r = r.borrow_mut();
                if r.depth == 0 {
                    return true;
                }
                if r.events.len() < MAX_RECORDED {
                    r.events.push((sink.clone(), ev.clone()));
                }
                false
            });
            if outside {
                Python::attach(|py| sink.deliver(py, ev.clone()));
            }
        })
    }

    /// Lets the garbage collector see the callback (it may refer back to its session).
    pub(crate) fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(cb) = &self.sink.callback {
            visit.call(cb)?;
        }
        Ok(())
    }
}
