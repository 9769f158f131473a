//! Promise-returning calls (STYLE §4 item 46): the core call runs on the libuv thread pool
//! (a napi async work), never on the event loop.
//!
//! - The Promise is made with the global `Promise` constructor; its `resolve`/`reject` are
//!   kept as references and called on the JavaScript thread when the work completes (one
//!   hop, no extra threadsafe function per call).
//! - The core call runs inside `catch_unwind`: a panic rejects with an `internal`
//!   `IdjagError` and never unwinds into libuv (which would abort Node).
//! - Events queued by the call are delivered to `onEvent` just before the Promise settles.
//! - An optional `AbortSignal`: already aborted → the call is not started and the Promise
//!   rejects with `signal.reason`; aborted later → the Promise rejects with `signal.reason`
//!   at once. Work already running on the pool cannot be interrupted: it finishes within the
//!   configured timeouts and its result is dropped. The listener is removed when the call
//!   settles, so a long-lived signal does not accumulate listeners.

use crate::errors;
use crate::events::Events;
use napi::bindgen_prelude::{
    FnArgs, Function, FunctionRef, JsObjectValue, Object, ObjectRef, ToNapiValue, Unknown,
};
use napi::{Env, JsValue, Result, Task};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

type Work<T> = Box<dyn FnOnce() -> idjag::Result<T> + Send>;
/// An abort listener: `() => void`.
type Listener<'e> = Function<'e, (), ()>;
/// `signal.addEventListener('abort', listener, { once: true })`.
type AddListener<'e> = Function<'e, FnArgs<(String, Listener<'e>, serde_json::Value)>, Unknown<'e>>;
/// `signal.removeEventListener('abort', listener)`.
type RemoveListener<'e> = Function<'e, FnArgs<(String, Listener<'e>)>, Unknown<'e>>;

/// The two settle functions of a Promise.
struct Settle<D: ToNapiValue> {
    resolve: FunctionRef<D, Unknown<'static>>,
    reject: FunctionRef<Unknown<'static>, Unknown<'static>>,
}

/// The abort listener registered on a signal.
struct Abort {
    signal: ObjectRef<false>,
    listener: FunctionRef<(), ()>,
}

impl Abort {
    /// `signal.removeEventListener('abort', listener)` and drops both references.
    fn remove(self, env: &Env) {
        let _ = (|| -> Result<()> {
            let signal = self.signal.get_value(env)?;
            let listener = self.listener.borrow_back(env)?;
            let remove: RemoveListener = signal.get_named_property("removeEventListener")?;
            remove.apply(signal, ("abort".to_string(), listener).into())?;
            Ok(())
        })();
        let _ = self.signal.unref(env);
    }
}

/// The pending half of a call, shared by the work and the abort listener.
struct Pending<D: ToNapiValue> {
    settle: Option<Settle<D>>,
    abort: Option<Abort>,
}

type Shared<D> = Arc<Mutex<Pending<D>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a call's events go: the JavaScript object holding `onEvent` and its queue.
pub(crate) struct Owner {
    this: ObjectRef<false>,
    events: Events,
}

impl Owner {
    /// `Some` when the object has an `onEvent` callback.
    pub(crate) fn of(this: &Object, events: &Events) -> Result<Option<Owner>> {
        if !events.enabled() {
            return Ok(None);
        }
        Ok(Some(Owner {
            this: this.create_ref::<false>()?,
            events: events.clone(),
        }))
    }

    fn deliver_and_release(self, env: &Env) {
        self.events.deliver(env, &self.this);
        let _ = self.this.unref(env);
    }
}

struct Job<T: Send + 'static, D: ToNapiValue + Send + 'static> {
    what: &'static str,
    work: Option<Work<T>>,
    to_js: fn(T) -> D,
    out: Option<idjag::Result<D>>,
    shared: Shared<D>,
    owner: Option<Owner>,
}

impl<T: Send + 'static, D: ToNapiValue + Send + 'static> Task for Job<T, D> {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        let (work, to_js, what) = (self.work.take(), self.to_js, self.what);
        let r = catch_unwind(AssertUnwindSafe(move || match work {
            Some(w) => w().map(to_js),
            None => Err(idjag::Error::internal(
                idjag::Step::Config,
                "work ran twice",
            )),
        }));
        self.out = Some(r.unwrap_or_else(|_| Err(errors::panic_error(what))));
        Ok(())
    }

    fn resolve(&mut self, env: Env, _: ()) -> Result<()> {
        if let Some(owner) = self.owner.take() {
            owner.deliver_and_release(&env);
        }
        let (settle, abort) = {
            let mut p = lock(&self.shared);
            (p.settle.take(), p.abort.take())
        };
        if let Some(a) = abort {
            a.remove(&env);
        }
        let Some(settle) = settle else {
            return Ok(()); // aborted: already rejected
        };
        let out = self
            .out
            .take()
            .unwrap_or_else(|| Err(errors::panic_error(self.what)));
        match out {
            Ok(v) => {
                settle.resolve.borrow_back(&env)?.call(v)?;
            }
            Err(e) => {
                let js = errors::js_error(&env, &e)?;
                settle.reject.borrow_back(&env)?.call(js)?;
            }
        }
        Ok(())
    }

    fn reject(&mut self, env: Env, _err: napi::Error) -> Result<()> {
        // `compute` never fails; settle anyway so a caller can never hang.
        self.out = Some(Err(errors::panic_error(self.what)));
        self.resolve(env, ())
    }
}

/// Reads `options.signal` (or `undefined`): `Err` when it is not an `AbortSignal`-like object.
pub(crate) fn signal<'e>(env: &Env, options: Option<&Object<'e>>) -> Result<Option<Object<'e>>> {
    let Some(o) = options else { return Ok(None) };
    let s: Option<Unknown> = o.get_named_property("signal")?;
    let Some(s) = s else { return Ok(None) };
    match s.get_type()? {
        napi::ValueType::Undefined | napi::ValueType::Null => Ok(None),
        napi::ValueType::Object => {
            let obj = s.coerce_to_object()?;
            let has =
                obj.has_named_property("aborted")? && obj.has_named_property("addEventListener")?;
            if !has {
                return Err(errors::invalid_argument(
                    env,
                    "`signal` must be an AbortSignal",
                ));
            }
            Ok(Some(obj))
        }
        _ => Err(errors::invalid_argument(
            env,
            "`signal` must be an AbortSignal",
        )),
    }
}

/// Whether `signal.aborted` is true.
pub(crate) fn aborted(signal: &Object<'_>) -> bool {
    signal
        .get_named_property::<bool>("aborted")
        .unwrap_or(false)
}

/// A new Promise and its settle functions.
fn promise<'e, D: ToNapiValue + 'static>(env: &'e Env) -> Result<(Unknown<'e>, Settle<D>)> {
    #[allow(clippy::type_complexity)]
    let slot: Rc<
        RefCell<
            Option<(
                FunctionRef<D, Unknown<'static>>,
                FunctionRef<Unknown<'static>, Unknown<'static>>,
            )>,
        >,
    > = Rc::new(RefCell::new(None));
    let fill = Rc::clone(&slot);
    let executor = env.create_function_from_closure("executor", move |ctx| {
        let resolve: Function<D, Unknown<'static>> = ctx.get(0)?;
        let reject: Function<Unknown<'static>, Unknown<'static>> = ctx.get(1)?;
        *fill.borrow_mut() = Some((resolve.create_ref()?, reject.create_ref()?));
        Ok(())
    })?;
    let ctor: Function<Function<(), ()>, Unknown> =
        env.get_global()?.get_named_property("Promise")?;
    let p = ctor.new_instance(executor)?;
    let fns = slot.borrow_mut().take();
    match fns {
        Some((resolve, reject)) => Ok((p, Settle { resolve, reject })),
        None => Err(napi::Error::from_reason(
            "idjag: the Promise executor did not run",
        )),
    }
}

/// The global `Promise` constructor, as an object.
fn promise_ctor(env: &Env) -> Result<Object<'_>> {
    let ctor: Unknown = env.get_global()?.get_named_property("Promise")?;
    ctor.coerce_to_object()
}

/// `Promise.reject(reason)`.
pub(crate) fn rejected<'e>(env: &'e Env, reason: Unknown<'e>) -> Result<Unknown<'e>> {
    let ctor = promise_ctor(env)?;
    let reject: Function<Unknown, Unknown> = ctor.get_named_property("reject")?;
    reject.apply(ctor, reason)
}

/// `Promise.resolve(value)` (the cached fast path: no pool hop).
pub(crate) fn resolved<'e, D: ToNapiValue>(env: &'e Env, value: D) -> Result<Unknown<'e>> {
    let ctor = promise_ctor(env)?;
    let resolve: Function<D, Unknown> = ctor.get_named_property("resolve")?;
    resolve.apply(ctor, value)
}

/// Runs `work` on the libuv pool and returns a Promise of `to_js(result)`; see the module
/// documentation.
pub(crate) fn spawn<'e, T, D>(
    env: &'e Env,
    what: &'static str,
    owner: Option<Owner>,
    signal: Option<Object<'e>>,
    work: impl FnOnce() -> idjag::Result<T> + Send + 'static,
    to_js: fn(T) -> D,
) -> Result<Unknown<'e>>
where
    T: Send + 'static,
    D: ToNapiValue + Send + 'static,
{
    if let Some(s) = &signal {
        if aborted(s) {
            if let Some(o) = owner {
                o.deliver_and_release(env);
            }
            let reason: Unknown = s.get_named_property("reason")?;
            return rejected(env, reason);
        }
    }
    let (p, settle) = promise::<D>(env)?;
    let shared: Shared<D> = Arc::new(Mutex::new(Pending {
        settle: Some(settle),
        abort: None,
    }));
    if let Some(s) = signal {
        let on_abort = Arc::clone(&shared);
        let listener: Function<(), ()> =
            env.create_function_from_closure("onAbort", move |ctx| {
                let (settle, abort) = {
                    let mut p = lock(&on_abort);
                    (p.settle.take(), p.abort.take())
                };
                let env = &*ctx.env;
                if let Some(a) = abort {
                    if let Some(settle) = settle {
                        let signal = a.signal.get_value(env)?;
                        let reason: Unknown = signal.get_named_property("reason")?;
                        settle.reject.borrow_back(env)?.call(reason)?;
                    }
                    let _ = a.signal.unref(env);
                }
                Ok(())
            })?;
        let add: AddListener = s.get_named_property("addEventListener")?;
        add.apply(
            s,
            (
                "abort".to_string(),
                listener,
                serde_json::json!({"once": true}),
            )
                .into(),
        )?;
        lock(&shared).abort = Some(Abort {
            signal: s.create_ref::<false>()?,
            listener: listener.create_ref()?,
        });
    }
    env.spawn(Job {
        what,
        work: Some(Box::new(work)),
        to_js,
        out: None,
        shared,
        owner,
    })?;
    Ok(p)
}
