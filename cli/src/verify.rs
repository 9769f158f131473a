//! `idjag verify --config FILE --client-id ID [--scope S] [ASSERTION]`: what an MCP
//! authorization server would decide about an ID-JAG.

use crate::input::{self, Source};
use crate::output::{human_time, now_secs, print_json, say, Failure};
use idjag::verify::token_error_response;
use idjag::{Error, IdJagVerifier, VerifierConfig};
use serde_json::json;

pub fn run(
    config: &str,
    client_id: &str,
    scope: Option<&str>,
    assertion: Option<&str>,
    json_out: bool,
) -> Result<(), Failure> {
    let config_source = input::source(Some(config), "configuration");
    let assertion_source = input::source(assertion, "ID-JAG");
    if config_source == Source::Stdin && assertion_source == Source::Stdin {
        return Err(Failure::from(Error::invalid_argument(
            "stdin can carry the configuration or the ID-JAG, not both",
        ))
        .with_hint("give --config FILE and pipe the ID-JAG on stdin"));
    }
    let cfg = VerifierConfig::from_json(&input::config(config_source)?)?;
    let verifier = IdJagVerifier::from_config(cfg)?;
    let assertion = input::token(assertion_source, "ID-JAG")?;
    match verifier.verify(&assertion, client_id, scope) {
        Ok(g) => {
            if json_out {
                print_json(&json!({"ok": true, "grant": {
                    "iss": g.iss, "sub": g.sub, "client_id": g.client_id, "resource": g.resource,
                    "resource_defaulted": g.resource_defaulted, "scope": g.scope, "exp": g.exp,
                    "iat": g.iat, "jti": g.jti, "claims": g.claims}}));
            } else {
                let now = now_secs();
                say!("accepted");
                say!("  iss        {}", g.iss);
                say!("  sub        {}", g.sub);
                say!("  client_id  {}", g.client_id);
                say!(
                    "  resource   {}{}",
                    g.resource.join(", "),
                    if g.resource_defaulted {
                        " (default: the ID-JAG had none)"
                    } else {
                        ""
                    }
                );
                say!(
                    "  scope      {}",
                    g.scope.as_ref().map_or("-", |s| s.as_str())
                );
                say!("  exp        {}", human_time(g.exp, now));
                say!("  jti        {}", g.jti);
            }
            Ok(())
        }
        Err(e) => {
            let wire = token_error_response(&e);
            let mut member = serde_json::Map::new();
            member.insert(
                "wire".into(),
                json!({"status": wire.status, "body": wire.to_value()}),
            );
            Err(Failure::from(e).with_members(member))
        }
    }
}
