//! `idjag verify --config FILE --client-id ID [--scope S] ASSERTION`: what an MCP
//! authorization server would decide about an ID-JAG.

use crate::output::{human_time, now_secs};
use crate::token::read_config;
use idjag::verify::token_error_response;
use idjag::{Error, IdJagVerifier, VerifierConfig};
use serde_json::json;
use std::io::Read;

pub fn run(
    config: &str,
    client_id: &str,
    scope: Option<&str>,
    assertion: &str,
    json_out: bool,
) -> Result<(), Error> {
    let cfg = VerifierConfig::from_json(&read_config(config)?)?;
    let verifier = IdJagVerifier::from_config(cfg)?;
    let assertion = if assertion == "-" {
        let mut s = String::new();
        std::io::stdin()
            .take(128 * 1024)
            .read_to_string(&mut s)
            .map_err(|_| Error::invalid_argument("could not read the assertion from stdin"))?;
        s.trim().to_string()
    } else {
        assertion.to_string()
    };
    match verifier.verify(&assertion, client_id, scope) {
        Ok(g) => {
            if json_out {
                println!(
                    "{}",
                    json!({"ok": true, "grant": {
                        "iss": g.iss, "sub": g.sub, "client_id": g.client_id, "resource": g.resource,
                        "resource_defaulted": g.resource_defaulted, "scope": g.scope, "exp": g.exp,
                        "iat": g.iat, "jti": g.jti, "claims": g.claims}})
                );
            } else {
                let now = now_secs();
                println!("accepted");
                println!("  iss        {}", g.iss);
                println!("  sub        {}", g.sub);
                println!("  client_id  {}", g.client_id);
                println!(
                    "  resource   {}{}",
                    g.resource.join(", "),
                    if g.resource_defaulted {
                        " (default: the ID-JAG had none)"
                    } else {
                        ""
                    }
                );
                println!("  scope      {}", g.scope.as_deref().unwrap_or("-"));
                println!("  exp        {}", human_time(g.exp, now));
                println!("  jti        {}", g.jti);
            }
            Ok(())
        }
        Err(e) => {
            if json_out {
                let wire = token_error_response(&e);
                println!(
                    "{}",
                    json!({"ok": false, "code": e.code(), "reason": e.reason(), "message": e.message(),
                           "wire": {"status": wire.status, "body": wire.body}})
                );
            }
            Err(e)
        }
    }
}
