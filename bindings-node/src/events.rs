//! Events (`onEvent`) for JavaScript: every HTTP exchange (`{type: "http", …}`, the core's
//! [`HttpEvent`] view) and, for a `Session`, every session notice (`{type: "notice", …}`, the
//! core's [`Notice`] view: first use of credentials at an authorization server, the work
//! identity expiring), in the order the core raised them.
//!
//! The core calls its hooks on the thread that made the call, after the call's locks are
//! released: here, a libuv pool thread. JavaScript can only run on its own thread, so the hook
//! only queues the event ([`Events::hook`]); the queue is drained on the JavaScript thread just
//! before the call's Promise settles ([`Events::deliver`]), so a caller that awaits a call has
//! seen its events, in order. The callback may call back into the object (no idjag lock is
//! held). An exception thrown by the callback does not affect the call: it is reported with
//! `process.emitWarning`.
//!
//! The callback is kept as a non-enumerable own property `onEvent` of the JavaScript object
//! (a `Session`, `Client` or `Verifier`), not as a strong reference held by Rust, so a
//! callback that refers back to its object does not keep both alive forever.

use crate::convert;
use idjag::{EventHook, HttpEvent, Notice, NoticeHook};
use napi::bindgen_prelude::{FnArgs, Function, JsObjectValue, Object, ObjectRef, Unknown};
use napi::{Env, Property, PropertyAttributes, Result};
use std::sync::{Arc, Mutex};

/// Most events kept for delivery (a safety bound; the queue is drained after every call).
const MAX_QUEUED: usize = 4096;

/// The property holding the callback.
pub(crate) const PROPERTY: &str = "onEvent";

/// One queued event.
enum Queued {
    Http(HttpEvent),
    Notice(Notice),
}

type Queue = Arc<Mutex<Vec<Queued>>>;

fn push(q: &Queue, item: Queued) {
    let mut g = q.lock().unwrap_or_else(|p| p.into_inner());
    if g.len() < MAX_QUEUED {
        g.push(item);
    }
}

/// The events of one object, waiting for the JavaScript thread.
#[derive(Clone, Default)]
pub(crate) struct Events {
    queue: Option<Queue>,
}

impl Events {
    /// Reads `options.onEvent`; when it is a function, stores it on `this` and returns a queue.
    pub(crate) fn install(
        env: &Env,
        this: &mut Object,
        options: Option<&Object>,
    ) -> Result<Events> {
        let Some(options) = options else {
            return Ok(Events::default());
        };
        let cb: Option<Unknown> = options.get_named_property(PROPERTY)?;
        let Some(cb) = cb else {
            return Ok(Events::default());
        };
        match cb.get_type()? {
            napi::ValueType::Undefined | napi::ValueType::Null => return Ok(Events::default()),
            napi::ValueType::Function => {}
            _ => {
                return Err(crate::errors::invalid_argument(
                    env,
                    "`onEvent` must be a function",
                ))
            }
        }
        this.define_properties(&[Property::new()
            .with_utf8_name(PROPERTY)?
            .with_value(&cb)
            .with_property_attributes(PropertyAttributes::Default)])?;
        Ok(Events {
            queue: Some(Arc::new(Mutex::new(Vec::new()))),
        })
    }

    /// Whether a callback is installed.
    pub(crate) fn enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// The HTTP event hook to give the core (`None` without a callback).
    pub(crate) fn hook(&self) -> Option<EventHook> {
        let q = Arc::clone(self.queue.as_ref()?);
        Some(Arc::new(move |ev: &HttpEvent| {
            push(&q, Queued::Http(ev.clone()))
        }))
    }

    /// The session notice hook to give the core (`None` without a callback); it shares the
    /// HTTP events' queue, so JavaScript sees both in the order they were raised.
    pub(crate) fn notice_hook(&self) -> Option<NoticeHook> {
        let q = Arc::clone(self.queue.as_ref()?);
        Some(Arc::new(move |n: &Notice| {
            push(&q, Queued::Notice(n.clone()))
        }))
    }

    /// Calls the callback of `owner` with every queued event (JavaScript thread).
    pub(crate) fn deliver(&self, env: &Env, owner: &ObjectRef<false>) {
        let Some(q) = &self.queue else { return };
        let pending = {
            let mut g = q.lock().unwrap_or_else(|p| p.into_inner());
            if g.is_empty() {
                return;
            }
            std::mem::take(&mut *g)
        };
        let Ok(obj) = owner.get_value(env) else {
            return;
        };
        let Ok(Some(cb)) =
            obj.get_named_property::<Option<Function<serde_json::Value, Unknown>>>(PROPERTY)
        else {
            return;
        };
        for item in pending {
            let v = match &item {
                Queued::Http(e) => convert::http_event(e),
                Queued::Notice(n) => convert::notice(n),
            };
            if let Err(e) = cb.call(v) {
                warn(
                    env,
                    &format!("the idjag onEvent callback threw: {}", e.reason),
                );
            }
        }
    }
}

/// `process.emitWarning(message, 'IdjagWarning')`, ignoring any failure.
pub(crate) fn warn(env: &Env, message: &str) {
    let _ = (|| -> Result<()> {
        let global = env.get_global()?;
        let process: Object = global.get_named_property("process")?;
        let emit: Function<FnArgs<(String, String)>, Unknown> =
            process.get_named_property("emitWarning")?;
        emit.apply(
            process,
            (message.to_string(), "IdjagWarning".to_string()).into(),
        )?;
        Ok(())
    })();
}
