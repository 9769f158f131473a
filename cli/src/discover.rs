//! `idjag discover URL [--idp ISSUER]`: the core's assessment of an MCP server
//! ([`idjag::assess`]), printed as a report with a verdict, or as JSON.

use crate::output::{print_json, say, step_json, Failure, Trace};
use idjag::assess::{assess, AssessOptions, Assessment, CheckStatus};
use idjag::{AuthorizationServerMetadata, Client, CredentialRoute, Error, SessionConfig, Step};
use serde_json::Value;

fn list(v: &Option<Vec<String>>) -> String {
    match v {
        Some(l) if !l.is_empty() => l.join(", "),
        Some(_) => "(empty)".into(),
        None => "(not advertised)".into(),
    }
}

fn mark(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "✓",
        CheckStatus::Warn => "!",
        CheckStatus::Fail => "✗",
        _ => "?",
    }
}

fn metadata_lines(m: &AuthorizationServerMetadata) {
    say!(
        "  token_endpoint  {}",
        m.token_endpoint.as_deref().unwrap_or("-")
    );
    say!("  grant types     {}", list(&m.grant_types_supported));
    say!(
        "  grant profiles  {}",
        list(&m.authorization_grant_profiles_supported)
    );
    say!("  client auth     {}", m.auth_methods().join(", "));
}

fn report(a: &Assessment) {
    say!("MCP server      {}", a.server_url);
    if let Some(c) = &a.challenge {
        if c.www_authenticate {
            say!(
                "challenge       HTTP {}, WWW-Authenticate resource_metadata={} scope={}{}",
                c.status,
                c.resource_metadata.as_deref().unwrap_or("-"),
                c.scope.as_deref().unwrap_or("-"),
                c.error
                    .as_deref()
                    .map(|e| format!(" error={e}"))
                    .unwrap_or_default()
            );
        } else {
            say!(
                "challenge       HTTP {}, no WWW-Authenticate header",
                c.status
            );
        }
    }
    if let (Some(url), Some(prm)) = (&a.resource_metadata_url, &a.resource_metadata) {
        say!("PRM             {url}");
        say!("  resource      {}", prm.resource);
        say!("  auth servers  {}", prm.authorization_servers.join(", "));
        say!("  scopes        {}", list(&prm.scopes_supported));
    }
    for s in &a.authorization_servers {
        say!(
            "AS              {}{}",
            s.issuer,
            if s.selected { "  (selected)" } else { "" }
        );
        if let Some(m) = &s.metadata {
            metadata_lines(m);
        }
    }
    if let Some(idp) = &a.idp {
        say!("IdP             {}", idp.issuer);
        if let Some(m) = &idp.metadata {
            say!(
                "  token_endpoint  {}",
                m.token_endpoint.as_deref().unwrap_or("-")
            );
            say!(
                "  token exchange advertised: {}",
                idp.token_exchange_advertised
            );
            say!(
                "  id-jag advertised: {} (absence is not proof of non-support)",
                idp.id_jag_advertised
            );
        }
    }
    say!("checks");
    let mut last_url = None;
    for c in &a.checks {
        if last_url != Some(&c.url) {
            say!("  {}", c.url);
            last_url = Some(&c.url);
        }
        let kind = c.kind.map(|k| format!(" [{k}]")).unwrap_or_default();
        say!("    {} {:<30} {}{kind}", mark(c.status), c.id, c.message);
    }
    say!(
        "verdict         {} {}",
        if a.ok { "✓" } else { "✗" },
        a.summary
    );
}

pub fn run(
    url: &str,
    idp: Option<&str>,
    config: Option<&str>,
    json_out: bool,
    verbose: bool,
) -> Result<(), Failure> {
    let session_config = match config {
        Some(c) => Some(SessionConfig::from_json(&crate::input::config(
            crate::input::source(Some(c), "configuration"),
        )?)?),
        None => None,
    };
    let trace = Trace::new(verbose);
    let client = Client::builder().on_event(trace.hook()).build()?;
    let options = AssessOptions {
        idp_issuer: idp
            .map(str::to_string)
            .or_else(|| session_config.as_ref().and_then(|c| c.idp.issuer.clone())),
        resource_match: session_config
            .as_ref()
            .map(|c| c.resource_match)
            .unwrap_or_default(),
    };
    let a = assess(&client, url, &options);
    // Which credentials the configuration would send where (the core's routing rule).
    let routes: Vec<CredentialRoute> = session_config
        .as_ref()
        .map(|c| {
            a.authorization_servers
                .iter()
                .map(|s| c.credential_route(&s.issuer))
                .collect()
        })
        .unwrap_or_default();
    let mut doc = match serde_json::to_value(&a) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(
                Error::internal(Step::Discovery, "could not serialize the assessment").into(),
            )
        }
    };
    if session_config.is_some() {
        doc.insert(
            "credentials".into(),
            serde_json::to_value(&routes).unwrap_or(Value::Null),
        );
    }
    doc.insert(
        "steps".into(),
        trace.snapshot().iter().map(step_json).collect(),
    );
    if !json_out {
        report(&a);
        for r in &routes {
            say!(
                "credentials     {} {} → {}: {}",
                if r.allowed { "✓" } else { "✗" },
                match (&r.client_id, r.source) {
                    (Some(id), source) => format!(
                        "client `{id}` (from `{source}`{})",
                        if r.shared_secret {
                            ", shared secret"
                        } else {
                            ""
                        }
                    ),
                    (None, _) => "no credentials".to_string(),
                },
                r.issuer,
                r.reason
            );
        }
    }
    match &a.error {
        None => {
            if json_out {
                print_json(&Value::Object(doc));
            }
            Ok(())
        }
        Some(f) => {
            let mut failure = Failure::from(f.error.clone()).with_url(Some(f.url.clone()));
            if json_out {
                failure = failure.with_members(doc);
            }
            Err(failure)
        }
    }
}
