//! `idjag inspect [JWT]`.

use crate::input;
use crate::output::{human_time, now_secs, print_json, say, Failure};
use idjag::Error;
use serde_json::Value;

/// `exp = 1300 = 1970-01-01T00:21:40Z (…)` for NumericDate claims, the JSON value otherwise.
fn claim_value(name: &str, v: &Value, now: i64) -> String {
    match (name, v.as_i64()) {
        ("exp" | "iat" | "nbf" | "auth_time", Some(t)) => format!("{t} = {}", human_time(t, now)),
        ("exp" | "iat" | "nbf" | "auth_time", None) if v.is_number() => {
            format!("{v} (not a NumericDate this tool can show as a date)")
        }
        _ => v.to_string(),
    }
}

pub fn run(jwt: Option<&str>, json: bool) -> Result<(), Failure> {
    let token = input::token(input::source(jwt, "token"), "token")?;
    let now = now_secs();
    let i = idjag::jwt::inspect(&token, now).map_err(|e| {
        Failure::from(e)
            .input()
            .with_hint("pass a JWT: base64url header.payload.signature (five parts for a JWE)")
    })?;
    if json {
        let v = serde_json::to_value(&i)
            .map_err(|_| Error::internal(idjag::Step::Config, "could not serialize"))?;
        print_json(&v);
        return Ok(());
    }
    say!(
        "kind: {}",
        serde_json::to_value(i.kind)
            .unwrap_or_default()
            .as_str()
            .unwrap_or("?")
    );
    say!("header:");
    for (k, v) in &i.header {
        say!("  {k}: {v}");
    }
    if !i.claims.is_empty() {
        say!("claims:");
        for (k, v) in &i.claims {
            say!("  {k}: {}", claim_value(k, v, now));
        }
    }
    if i.warnings.is_empty() {
        say!("warnings: none");
    } else {
        say!("warnings:");
        for w in &i.warnings {
            say!("  ! {w}");
        }
    }
    say!("(decoded without verifying the signature)");
    Ok(())
}
