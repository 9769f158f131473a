//! Everything the command prints goes through here: terminal-safe text, JSON documents,
//! error lines and documents, hints, step traces and times.
//!
//! Claims, header names, metadata, challenge parameters and error messages come from tokens
//! and servers: [`say!`] and [`tell!`] escape every control character (C0, DEL, C1 such as
//! the one-byte CSI U+009B), bidirectional overrides and line separators of the whole line
//! they print, and [`print_json`] escapes those JSON leaves as `\uXXXX` (serde_json only
//! escapes C0), so no escape, OSC or CSI sequence reaches the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use crate::exit;
use idjag::{Action, Error, ErrorKind, HttpEvent, Step};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Characters a terminal may interpret, beyond printable text.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `s` with every unsafe character written as `\u{XX}`: legible, and inert on a terminal.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON with the unsafe characters serde_json leaves raw (DEL, C1, bidi) escaped
/// as `\uXXXX`. They can only occur inside string literals, so the document stays valid and
/// means the same.
pub fn json_text(v: &Value) -> String {
    let text = v.to_string();
    if !text.chars().any(is_unsafe) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// One line on stdout, escaped.
pub fn print_line(line: &str) {
    println!("{}", terminal_safe(line));
}

/// One line on stderr, escaped.
pub fn print_err(line: &str) {
    eprintln!("{}", terminal_safe(line));
}

/// One JSON document on stdout.
pub fn print_json(v: &Value) {
    println!("{}", json_text(v));
}

/// `say!(…)`: `format!` then [`print_line`].
macro_rules! say {
    ($($t:tt)*) => { $crate::output::print_line(&format!($($t)*)) };
}

/// `tell!(…)`: `format!` then [`print_err`].
macro_rules! tell {
    ($($t:tt)*) => { $crate::output::print_err(&format!($($t)*)) };
}

pub(crate) use {say, tell};

/// An access token that is not header-safe ([`idjag::response::header_safe_token`], the
/// core's one rule) is refused rather than printed.
pub fn check_token(token: &str) -> Result<(), Error> {
    if !idjag::response::header_safe_token(token) {
        return Err(Error::new(
            ErrorKind::ResponseInvalid,
            Step::AsGrant,
            "the access token has characters that are not header-safe (control characters, \
             whitespace, non-ASCII, quotes, backslashes, commas); refusing to print it",
        ));
    }
    Ok(())
}

/// The token alone on stdout, for `$(idjag token …)`, once [`check_token`] accepted it.
pub fn print_token(token: &str) -> Result<(), Error> {
    check_token(token)?;
    println!("{token}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Failures

/// A failed command: the core error plus what the command knows about it.
pub struct Failure {
    pub error: Error,
    ctx: Box<Context>,
}

#[derive(Default)]
struct Context {
    /// The URL concerned (the failing request's, or the one named by the check).
    url: Option<String>,
    /// A hint that knows more than the error kind (e.g. a missing `--config` file).
    hint: Option<&'static str>,
    /// The command's own input (a token argument, stdin) was bad: shown as step `input`.
    input: bool,
    /// More members of the `--json` document (verify's `wire`, discover's assessment).
    extra: Map<String, Value>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error,
            ctx: Box::default(),
        }
    }
}

impl Failure {
    pub fn with_url(mut self, url: Option<String>) -> Self {
        self.ctx.url = url;
        self
    }

    pub fn with_hint(mut self, hint: &'static str) -> Self {
        self.ctx.hint = Some(hint);
        self
    }

    pub fn input(mut self) -> Self {
        self.ctx.input = true;
        self
    }

    /// Adds members to the `--json` document (the error's own members win).
    pub fn with_members(mut self, members: Map<String, Value>) -> Self {
        self.ctx.extra.extend(members);
        self
    }

    fn step(&self) -> &'static str {
        if self.ctx.input {
            "input"
        } else {
            self.error.step().code()
        }
    }

    fn hint(&self) -> &'static str {
        self.ctx.hint.unwrap_or_else(|| hint(&self.error))
    }

    /// `idjag: error [code] during step: message (url) [HTTP s] → hint`.
    pub fn line(&self) -> String {
        let e = &self.error;
        let place = if self.ctx.input {
            "reading the token".to_string()
        } else {
            format!("during {}", e.step())
        };
        let mut line = format!("idjag: error [{}] {place}: {}", e.code(), e.message());
        if let Some(o) = e.oauth_error() {
            let _ = write!(line, "; server said `{}`", o.error);
            if let Some(d) = &o.error_description {
                let _ = write!(line, ": {d}");
            }
        }
        if let Some(u) = &self.ctx.url {
            if !line.contains(u.as_str()) {
                let _ = write!(line, " ({u})");
            }
        }
        if let Some(s) = e.status() {
            let _ = write!(line, " [HTTP {s}]");
        }
        let _ = write!(line, " → {}", self.hint());
        line
    }

    /// The `--json` failure document: `{ok: false, code, number, exit_code, step, action,
    /// hint, message, url, status, oauth, reason}` plus the command's extra members.
    pub fn document(&self) -> Value {
        let e = &self.error;
        let mut doc = self.ctx.extra.clone();
        let fields = json!({
            "ok": false,
            "code": e.code(),
            "number": exit::number(e.kind()),
            "exit_code": exit::code(e.kind()),
            "step": self.step(),
            "action": e.action().code(),
            "hint": self.hint(),
            "message": e.message(),
            "url": self.ctx.url,
            "status": e.status(),
            "oauth": e.oauth_error(),
            "reason": e.reason(),
        });
        if let Value::Object(m) = fields {
            doc.extend(m);
        }
        Value::Object(doc)
    }
}

/// What to do about an error, in words that fit its kind, step and reason.
pub fn hint(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::InvalidArgument => "check the arguments (see `idjag help`)",
        ErrorKind::Configuration if e.step() == Step::Config => {
            "fix the configuration named in the message (keys: docs/GUIDE.md §3)"
        }
        ErrorKind::Configuration => {
            "the configuration does not match what the server publishes; fix it"
        }
        ErrorKind::Transport => {
            "check the URL, DNS, proxy and TLS trust (`ca_bundle_pem`), then retry"
        }
        ErrorKind::Timeout => "the server is slow or unreachable; retry later",
        ErrorKind::HttpStatus if e.status().is_some_and(|s| s >= 500 || s == 429) => {
            "the server is failing; retry later"
        }
        ErrorKind::HttpStatus => "check the URL: the server does not serve this document",
        ErrorKind::OauthError => oauth_hint(e),
        ErrorKind::ResponseInvalid | ErrorKind::ResponseTooLarge => {
            "the server's answer is not compliant; report it to its operator"
        }
        ErrorKind::InsecureUrl => {
            "use https (plain http only to a loopback host); a public server may not point \
             into an internal network"
        }
        ErrorKind::RedirectRefused => "use the final URL; token endpoints never redirect",
        ErrorKind::IssuerMismatch => {
            "the metadata names another issuer: do not proceed; the server's operator must fix \
             its issuer (RFC 8414 §3.3)"
        }
        ErrorKind::ResourceMismatch => {
            "use the server's canonical URL, or `resource_match: same_origin_prefix` if the \
             deployment requires it"
        }
        ErrorKind::NotSupported => {
            "ask the server's operator to enable the id-jag grant profile (jwt-bearer), or use \
             the interactive flow"
        }
        ErrorKind::ReauthenticationRequired => "sign the user in again at the IdP and retry",
        ErrorKind::VerificationFailed => verify_hint(e),
        ErrorKind::Internal => "a bug in idjag; please report it",
        _ => "see the error reference in docs/GUIDE.md §4",
    }
}

fn oauth_hint(e: &Error) -> &'static str {
    let code = e.oauth_error().map(|o| o.error.as_str()).unwrap_or("");
    match (e.action(), code, e.step()) {
        (Action::Reauthenticate, _, _) => "sign the user in again at the IdP and retry",
        (Action::Denied, _, _) => "access is denied by policy; ask an administrator",
        (Action::Retry, "invalid_grant", Step::AsGrant) => {
            "the authorization server refused the ID-JAG; retry once with a fresh one, then \
             check the IdP's client mapping"
        }
        (Action::Retry, _, _) => "retry later",
        (_, "invalid_client", Step::AsGrant) => {
            "fix the client credentials registered at the authorization server"
        }
        (_, "invalid_client", _) => "fix the client credentials registered at the IdP",
        (_, "invalid_target", _) => {
            "the IdP does not allow this audience or resource for the client; ask its administrator"
        }
        (_, "invalid_scope", _) => "request a scope the server allows",
        (_, "unsupported_grant_type" | "unauthorized_client", _) => {
            "the grant is not enabled for this client at the server; ask its operator"
        }
        _ => "fix the configuration or the registration at the server",
    }
}

fn verify_hint(e: &Error) -> &'static str {
    match e.reason().unwrap_or("") {
        "too_large" | "malformed" | "encrypted_unsupported" => {
            "this is not a well-formed ID-JAG (a compact JWS): check what was passed"
        }
        "invalid_typ"
        | "unsupported_alg"
        | "crit_unsupported"
        | "header_key_injection"
        | "missing_claim" => {
            "the IdP issues ID-JAGs in a form this verifier refuses (typ, alg, claims)"
        }
        "untrusted_issuer" => "the issuer is not in `trusted_idps`; add it if it is trusted",
        "unknown_key" | "bad_signature" => {
            "the signature does not verify with the issuer's published keys; check `jwks_uri`"
        }
        "audience_mismatch" => "the ID-JAG is for another authorization server (`issuer`)",
        "client_mismatch" => "the ID-JAG was issued to another client: check --client-id",
        "resource_mismatch" => "the ID-JAG's resource is not in `resources`",
        "expired" | "not_yet_valid" | "too_old" | "issued_in_future" | "lifetime_too_long" => {
            "the ID-JAG's times are out of bounds: get a fresh one; check the clocks"
        }
        "replayed" => "an ID-JAG is single-use: get a fresh one",
        "scope_not_granted" => "request only scopes the ID-JAG grants",
        _ => "the ID-JAG was rejected; see the reason codes in docs/GUIDE.md §5",
    }
}

// ---------------------------------------------------------------------------------------
// Step traces

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
        Arc::new(move |e: &HttpEvent| t.push(e.clone()))
    }

    pub fn push(&self, e: HttpEvent) {
        if self.live {
            tell!("  {}", step_line(&e));
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

    /// The URL of the request behind `e`: the last one of its step that failed the same way
    /// (transport error, or the same status), else the last one of its step. Requests of
    /// other steps may run concurrently (the session resolves the IdP in parallel).
    fn url_of(&self, e: &Error) -> Option<String> {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let same_step = || events.iter().rev().filter(|ev| ev.step == e.step());
        let transport = matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout);
        same_step()
            .find(|ev| match e.status() {
                Some(s) => ev.status == Some(s),
                None => transport == ev.error.is_some(),
            })
            .or_else(|| same_step().next())
            .map(|ev| ev.url.clone())
    }

    /// Where a failure of a networked command happened: the URL of the request behind it, or
    /// `fallback`; none when the error precedes any I/O.
    pub fn failure(&self, e: Error, fallback: &str) -> Failure {
        let url = if e.step() == Step::Config {
            None
        } else {
            self.url_of(&e).or_else(|| Some(fallback.to_string()))
        };
        Failure::from(e).with_url(url)
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

// ---------------------------------------------------------------------------------------
// Times

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`), total over `i64` (computed in `i128`).
fn civil_from_days(days: i64) -> (i128, u32, u32) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i128::from(m <= 2), m, d)
}

/// Unix seconds as RFC 3339 UTC. Years outside 0000–9999 (which RFC 3339 cannot write) use
/// the ISO 8601 expanded form, `+10000-01-01T00:00:00Z`. Defined for every `i64`.
pub fn rfc3339(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("+{y}")
    };
    format!(
        "{year}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// A duration in its two largest units: `4m 10s`, `7975y 12d`.
fn span(secs: u128) -> String {
    const UNITS: [(u128, &str); 5] = [
        (31_557_600, "y"),
        (86_400, "d"),
        (3_600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (n, unit) in UNITS {
        if rest >= n {
            parts.push(format!("{}{unit}", rest / n));
            rest %= n;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// `2026-11-26T05:00:00Z (in 4m 10s)`, for any `i64`.
pub fn human_time(unix: i64, now: i64) -> String {
    let delta = i128::from(unix) - i128::from(now);
    let rel = span(delta.unsigned_abs());
    if delta >= 0 {
        format!("{} (in {rel})", rfc3339(unix))
    } else {
        format!("{} ({rel} ago)", rfc3339(unix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_total() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "+10000-01-01T00:00:00Z");
        assert_eq!(rfc3339(-62_135_596_801), "0000-12-31T23:59:59Z");
        assert_eq!(rfc3339(-62_167_219_201), "-0001-12-31T23:59:59Z");
        for t in [i64::MIN, i64::MIN + 1, i64::MAX, -1, 1] {
            let _ = human_time(t, i64::MAX);
            let _ = human_time(t, i64::MIN);
        }
        assert_eq!(human_time(250, 0), "1970-01-01T00:04:10Z (in 4m 10s)");
        assert_eq!(human_time(0, 90_061), "1970-01-01T00:00:00Z (1d 1h ago)");
    }

    #[test]
    fn escapes_what_a_terminal_interprets() {
        assert_eq!(terminal_safe("plain ✓ text"), "plain ✓ text");
        assert_eq!(terminal_safe("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(
            terminal_safe("\u{9b}\u{7f}\u{202e}\n"),
            "\\u{9b}\\u{7f}\\u{202e}\\u{a}"
        );
        let v = json!({"k\u{1b}": "\u{9b}x\u{202e}"});
        let text = json_text(&v);
        assert!(!text.chars().any(is_unsafe), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).expect("valid"), v);
    }
}
