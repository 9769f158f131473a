//! Event delivery for a [`Session`](super::Session): events raised while the session works
//! are held back on the calling thread and delivered when the public call is about to
//! return, after every session lock has been released and every flight has landed.
//!
//! The callback contract (also on [`SessionBuilder::on_event`](super::SessionBuilder::on_event)):
//! - it runs on the thread that made the session call (or, for the IdP metadata fetched in
//!   parallel on the cold path, the events are handed back to that thread first);
//! - it may call anything, including the same session for the same server: no lock is held
//!   and the flight it reports on is over, so a re-entrant `access_token` sees its result;
//! - a panic inside it is caught, ignored and counted ([`Session::event_hook_panics`](super::Session::event_hook_panics)).

use crate::client::{EventHook, HttpEvent};
use crate::error::Step;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What a [`Notice`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoticeKind {
    /// Client credentials are about to be used at an authorization server for the first time
    /// in this session (its issuer and the client id are in the notice).
    CredentialsFirstUse,
    /// The user's identity assertion can no longer be renewed: every server's next call
    /// fails with `reauthentication_required` until `set_subject_token`.
    WorkIdentityExpired,
}

/// A session-level event that is not an HTTP exchange: trust decisions and state changes
/// worth logging. Never contains a secret. Delivered like [`HttpEvent`]s (see
/// [`SessionBuilder::on_notice`](super::SessionBuilder::on_notice)).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Notice {
    /// What happened.
    pub kind: NoticeKind,
    /// The protocol step it belongs to.
    #[serde(serialize_with = "step_code")]
    pub step: Step,
    /// The server concerned (an AS or IdP issuer), if any.
    pub issuer: Option<String>,
    /// The client id concerned, if any.
    pub client_id: Option<String>,
    /// A sentence for people.
    pub message: String,
}

fn step_code<S: serde::Serializer>(step: &Step, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(step.code())
}

/// A subscriber to [`Notice`]s.
pub type NoticeHook = Arc<dyn Fn(&Notice) + Send + Sync>;

/// The user's hooks and how often they panicked.
#[derive(Default)]
pub(crate) struct Hooks {
    hooks: Vec<EventHook>,
    notice_hooks: Vec<NoticeHook>,
    panics: AtomicU64,
}

impl Hooks {
    pub(crate) fn new(hooks: Vec<EventHook>, notice_hooks: Vec<NoticeHook>) -> Arc<Hooks> {
        Arc::new(Hooks {
            hooks,
            notice_hooks,
            panics: AtomicU64::new(0),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    fn deliver_notice(&self, notice: &Notice) {
        for hook in &self.notice_hooks {
            if catch_unwind(AssertUnwindSafe(|| hook(notice))).is_err() {
                self.panics.fetch_add(1, Ordering::Relaxed);
                log::warn!(target: "idjag", "a notice hook panicked; the panic was ignored");
            }
        }
    }

    /// Raises `notice`: queued while a session call runs on this thread, else delivered.
    pub(crate) fn notify(self: &Arc<Self>, notice: Notice) {
        log::info!(target: "idjag", "{}", notice.message);
        if self.notice_hooks.is_empty() {
            return;
        }
        let notice = PENDING.with(|p| match p.borrow_mut().as_mut() {
            Some(queue) => {
                queue.push(Pending::Notice(self.clone(), notice));
                None
            }
            None => Some(notice),
        });
        if let Some(n) = notice {
            self.deliver_notice(&n);
        }
    }

    pub(crate) fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    fn deliver(&self, event: &HttpEvent) {
        for hook in &self.hooks {
            if catch_unwind(AssertUnwindSafe(|| hook(event))).is_err() {
                self.panics.fetch_add(1, Ordering::Relaxed);
                log::warn!(target: "idjag", "an event hook panicked; the panic was ignored");
            }
        }
    }

    /// The hook the session installs on its [`Client`](crate::Client): it defers delivery
    /// while a session call is running on this thread, else delivers at once.
    pub(crate) fn client_hook(self: &Arc<Self>) -> EventHook {
        let hooks = self.clone();
        Arc::new(move |event: &HttpEvent| {
            let deferred = PENDING.with(|p| match p.borrow_mut().as_mut() {
                Some(queue) => {
                    queue.push(Pending::Http(hooks.clone(), event.clone()));
                    true
                }
                None => false,
            });
            if !deferred {
                hooks.deliver(event);
            }
        })
    }
}

pub(crate) enum Pending {
    Http(Arc<Hooks>, HttpEvent),
    Notice(Arc<Hooks>, Notice),
}

impl Pending {
    fn deliver(self) {
        match self {
            Pending::Http(h, e) => h.deliver(&e),
            Pending::Notice(h, n) => h.deliver_notice(&n),
        }
    }
}

type Queue = Vec<Pending>;

thread_local! {
    static PENDING: RefCell<Option<Queue>> = const { RefCell::new(None) };
}

/// Holds events back on this thread until [`Deferred::deliver`]. Nested scopes share the
/// outermost one's queue.
pub(crate) struct Deferred {
    outermost: bool,
}

impl Deferred {
    pub(crate) fn begin() -> Deferred {
        let outermost = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if p.is_none() {
                *p = Some(Vec::new());
                true
            } else {
                false
            }
        });
        Deferred { outermost }
    }

    /// Takes the events held back so far without delivering them (for a helper thread that
    /// hands them to the thread it works for).
    pub(crate) fn take(self) -> Queue {
        let mut this = std::mem::ManuallyDrop::new(self);
        if !this.outermost {
            return Vec::new();
        }
        this.outermost = false;
        PENDING.with(|p| p.borrow_mut().take()).unwrap_or_default()
    }

    /// Delivers the held-back events. Call with no session lock held.
    pub(crate) fn deliver(self) {
        for pending in self.take() {
            pending.deliver();
        }
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        // Unwinding: drop what was queued rather than run callbacks during a panic.
        if self.outermost {
            PENDING.with(|p| p.borrow_mut().take());
        }
    }
}

/// Queues events collected on another thread onto this thread's pending queue (or delivers
/// them when none is open).
pub(crate) fn adopt(events: Queue) {
    let rest = PENDING.with(|p| match p.borrow_mut().as_mut() {
        Some(queue) => {
            queue.extend(events);
            None
        }
        None => Some(events),
    });
    for pending in rest.into_iter().flatten() {
        pending.deliver();
    }
}
