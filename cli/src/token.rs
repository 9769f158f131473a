//! `idjag token --server URL --config FILE`.

use crate::output::{human_time, now_secs, step_json, Trace};
use idjag::{Error, Session, SessionConfig};
use serde_json::json;
use std::io::Read;

pub fn read_config(path: &str) -> Result<String, Error> {
    let mut s = String::new();
    if path == "-" {
        std::io::stdin()
            .take(1024 * 1024)
            .read_to_string(&mut s)
            .map_err(|_| Error::configuration("could not read the configuration from stdin"))?;
    } else {
        s = std::fs::read_to_string(path).map_err(|e| {
            Error::configuration(format!(
                "could not read configuration file `{path}`: {}",
                e.kind()
            ))
        })?;
    }
    Ok(s)
}

pub fn run(server: &str, config: &str, json: bool, verbose: bool) -> Result<(), Error> {
    let cfg = SessionConfig::from_json(&read_config(config)?)?;
    let trace = Trace::new(verbose);
    let session = Session::builder(cfg).on_event(trace.hook()).build()?;
    let token = session.access_token(server)?;
    if json {
        let now = now_secs();
        let out = json!({
            "access_token": token.access_token.expose_secret(),
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "expires_in": (token.expires_at - now).max(0),
            "scope": token.scope,
            "resource": token.resource,
            "authorization_server": token.authorization_server,
            "steps": trace.snapshot().iter().map(step_json).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        // The token alone on stdout, for `curl -H "Authorization: Bearer $(idjag token …)"`.
        println!("{}", token.access_token.expose_secret());
        if !verbose {
            return Ok(());
        }
        eprintln!(
            "token for {} from {} (scope: {}), expires {}",
            token.resource,
            token.authorization_server,
            token.scope.as_deref().unwrap_or("-"),
            human_time(token.expires_at, now_secs())
        );
    }
    Ok(())
}
