//! `idjag token --server URL [--config FILE]`.

use crate::input;
use crate::output::{
    check_token, human_time, now_secs, print_json, print_token, step_json, tell, Failure, Trace,
};
use idjag::{Session, SessionConfig};
use serde_json::json;

pub fn run(server: &str, config: Option<&str>, json: bool, verbose: bool) -> Result<(), Failure> {
    let text = input::config(input::source(config, "configuration"))?;
    let cfg = SessionConfig::from_json(&text)?;
    let trace = Trace::new(verbose);
    let session = Session::builder(cfg).on_event(trace.hook()).build()?;
    let token = session
        .access_token(server)
        .map_err(|e| trace.failure(e, server))?;
    let secret = token.access_token.expose_secret();
    if json {
        // Same rule as the plain output: a token that is not a b64token is not printed.
        check_token(secret).map_err(|e| trace.failure(e, server))?;
        let now = now_secs();
        print_json(&json!({
            "access_token": secret,
            "token_type": token.token_type,
            "expires_at": token.expires_at,
            "expires_in": token.expires_at.saturating_sub(now).max(0),
            "scope": token.scope,
            "resource": token.resource,
            "authorization_server": token.authorization_server,
            "steps": trace.snapshot().iter().map(step_json).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    // The token alone on stdout, for `curl -H "Authorization: Bearer $(idjag token …)"`.
    print_token(secret).map_err(|e| trace.failure(e, server))?;
    if verbose {
        tell!(
            "token for {} from {} (scope: {}), expires {}",
            token.resource,
            token.authorization_server,
            token.scope.as_deref().unwrap_or("-"),
            human_time(token.expires_at, now_secs())
        );
    }
    Ok(())
}
