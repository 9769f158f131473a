//! Shared printing: error lines, step traces, times.

use idjag::{Action, Error, HttpEvent};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the user should do, in words.
pub fn action_hint(a: Action) -> &'static str {
    match a {
        Action::Reauthenticate => "sign the user in again at the IdP and retry",
        Action::Reconfigure => "fix the configuration or the registration at the server",
        Action::Retry => "retry later",
        Action::Denied => "access is denied by policy; ask an administrator",
        _ => "see the error reference in docs/GUIDE.md",
    }
}

/// One line: failed step, kind, message, the server's OAuth error, and what to do.
pub fn error_line(e: &Error) -> String {
    let mut line = format!(
        "idjag: error [{}] during {}: {}",
        e.code(),
        e.step(),
        e.message()
    );
    if let Some(o) = e.oauth_error() {
        line.push_str(&format!("; server said `{}`", o.error));
        if let Some(d) = &o.error_description {
            line.push_str(&format!(": {d}"));
        }
    }
    if let Some(s) = e.status() {
        line.push_str(&format!(" [HTTP {s}]"));
    }
    let hint = if e.kind() == idjag::ErrorKind::InvalidArgument {
        "check the arguments"
    } else {
        action_hint(e.action())
    };
    line.push_str(&format!(" → {hint}"));
    line
}

/// Collects [`HttpEvent`]s from a session or client.
#[derive(Clone, Default)]
pub struct Trace {
    events: Arc<Mutex<Vec<HttpEvent>>>,
    live: bool,
}

impl Trace {
    pub fn new(live: bool) -> Self {
        Trace {
            events: Arc::default(),
            live,
        }
    }

    pub fn hook(&self) -> idjag::EventHook {
        let t = self.clone();
        Arc::new(move |e: &HttpEvent| {
            if t.live {
                eprintln!("  {}", step_line(e));
            }
            t.events
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone());
        })
    }

    pub fn push(&self, e: HttpEvent) {
        if self.live {
            eprintln!("  {}", step_line(&e));
        }
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }

    pub fn len(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn snapshot(&self) -> Vec<HttpEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

pub fn step_line(e: &HttpEvent) -> String {
    let status = match (e.status, e.error) {
        (Some(s), _) => s.to_string(),
        (None, Some(code)) => format!("failed ({code})"),
        (None, None) => "-".into(),
    };
    format!(
        "{:<13} {:<4} {}  → {}  ({:.1} ms, {} bytes)",
        e.step.code(),
        e.method.as_str(),
        e.url,
        status,
        ms(e.duration),
        e.bytes
    )
}

pub fn step_json(e: &HttpEvent) -> Value {
    json!({
        "step": e.step.code(),
        "method": e.method.as_str(),
        "url": e.url,
        "status": e.status,
        "ms": ms(e.duration),
        "bytes": e.bytes,
        "error": e.error,
    })
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-11-26T05:00:00Z (in 4m 10s)`.
pub fn human_time(unix: i64, now: i64) -> String {
    let t = if unix >= 0 {
        UNIX_EPOCH + Duration::from_secs(unix as u64)
    } else {
        UNIX_EPOCH
    };
    let stamp = humantime::format_rfc3339_seconds(t).to_string();
    let delta = unix - now;
    let rel = humantime::format_duration(Duration::from_secs(delta.unsigned_abs())).to_string();
    if delta >= 0 {
        format!("{stamp} (in {rel})")
    } else {
        format!("{stamp} ({rel} ago)")
    }
}
