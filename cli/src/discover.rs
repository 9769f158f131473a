//! `idjag discover URL`: the PRM → AS metadata → IdP metadata chain and a verdict.

use crate::output::{step_json, Trace};
use idjag::{urn, AuthorizationServerMetadata, Client, Error, ResourceMatch};
use serde_json::{json, Value};

fn list(v: &Option<Vec<String>>) -> String {
    match v {
        Some(l) if !l.is_empty() => l.join(", "),
        Some(_) => "(empty)".into(),
        None => "(not advertised)".into(),
    }
}

fn as_verdict(m: &AuthorizationServerMetadata) -> (bool, Vec<String>) {
    let mut notes = Vec::new();
    let profile = m.supports_id_jag_profile();
    let jwt_bearer = m.supports_jwt_bearer();
    if profile {
        notes.push("advertises the id-jag grant profile".to_string());
    } else {
        notes.push("does not advertise authorization_grant_profiles_supported id-jag".to_string());
    }
    if jwt_bearer {
        notes.push("supports the jwt-bearer grant".to_string());
    } else {
        notes.push("does not list the jwt-bearer grant type".to_string());
    }
    if profile && !jwt_bearer {
        notes.push("inconsistent: the id-jag profile requires jwt-bearer in grant_types_supported (SPEC §2.K)".into());
    }
    if m.token_endpoint.is_none() {
        notes.push("no token_endpoint".into());
    }
    let methods = m
        .token_endpoint_auth_methods_supported
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    notes.push(format!("client authentication: {}", methods.join(", ")));
    (
        m.supports_enterprise_managed_authorization() && m.token_endpoint.is_some(),
        notes,
    )
}

pub fn run(url: &str, idp: Option<&str>, json_out: bool, verbose: bool) -> Result<(), Error> {
    let trace = Trace::new(verbose);
    let client = Client::builder().on_event(trace.hook()).build()?;
    let challenge = client.probe(url)?;
    let (prm_url, prm) = client.protected_resource_metadata(
        url,
        challenge
            .as_ref()
            .and_then(|c| c.resource_metadata.as_deref()),
        ResourceMatch::Exact,
    )?;
    let mut servers = Vec::new();
    let mut supported = false;
    for issuer in &prm.authorization_servers {
        match client.authorization_server_metadata(issuer) {
            Ok(m) => {
                let (ok, notes) = as_verdict(&m);
                supported |= ok;
                servers.push(json!({"issuer": issuer, "ok": ok, "metadata": &*m, "notes": notes}));
            }
            Err(e) => servers.push(
                json!({"issuer": issuer, "ok": false, "error": e.to_string(), "code": e.code()}),
            ),
        }
    }
    let idp_json = match idp {
        None => Value::Null,
        Some(i) => match client.authorization_server_metadata(i) {
            Ok(m) => {
                let te = m.supports_token_exchange();
                let idjag = m
                    .identity_chaining_requested_token_types_supported
                    .as_ref()
                    .is_some_and(|l| l.iter().any(|t| t == urn::TOKEN_TYPE_ID_JAG));
                json!({"issuer": i, "ok": m.token_endpoint.is_some(), "metadata": &*m,
                       "token_exchange_advertised": te, "id_jag_advertised": idjag})
            }
            Err(e) => json!({"issuer": i, "ok": false, "error": e.to_string(), "code": e.code()}),
        },
    };
    if json_out {
        println!(
            "{}",
            json!({
                "server": url,
                "challenge": challenge.as_ref().map(|c| json!({"resource_metadata": c.resource_metadata, "scope": c.scope, "error": c.error})),
                "resource_metadata_url": prm_url,
                "resource_metadata": &*prm,
                "authorization_servers": servers,
                "idp": idp_json,
                "supported": supported,
                "steps": trace.snapshot().iter().map(step_json).collect::<Vec<_>>(),
            })
        );
        return if supported {
            Ok(())
        } else {
            Err(Error::new(
                idjag::ErrorKind::NotSupported,
                idjag::Step::Discovery,
                "no authorization server of this MCP server supports enterprise-managed authorization",
            ))
        };
    }
    println!("MCP server      {url}");
    match &challenge {
        Some(c) => println!(
            "challenge       401/403 resource_metadata={} scope={}",
            c.resource_metadata.as_deref().unwrap_or("-"),
            c.scope.as_deref().unwrap_or("-")
        ),
        None => println!("challenge       none (the server answered without asking for a token)"),
    }
    println!("PRM             {prm_url}");
    println!("  resource      {}", prm.resource);
    println!("  auth servers  {}", prm.authorization_servers.join(", "));
    println!("  scopes        {}", list(&prm.scopes_supported));
    for s in &servers {
        println!("AS              {}", s["issuer"].as_str().unwrap_or("?"));
        if let Some(err) = s["error"].as_str() {
            println!("  ✗ {err}");
            continue;
        }
        let m = &s["metadata"];
        println!(
            "  token_endpoint  {}",
            m["token_endpoint"].as_str().unwrap_or("-")
        );
        for n in s["notes"].as_array().into_iter().flatten() {
            println!("  - {}", n.as_str().unwrap_or(""));
        }
    }
    if !idp_json.is_null() {
        println!(
            "IdP             {}",
            idp_json["issuer"].as_str().unwrap_or("?")
        );
        if let Some(err) = idp_json["error"].as_str() {
            println!("  ✗ {err}");
        } else {
            println!(
                "  token_endpoint  {}",
                idp_json["metadata"]["token_endpoint"]
                    .as_str()
                    .unwrap_or("-")
            );
            println!(
                "  token exchange advertised: {}",
                idp_json["token_exchange_advertised"]
            );
            println!(
                "  id-jag advertised: {} (absence is not proof of non-support)",
                idp_json["id_jag_advertised"]
            );
        }
    }
    println!(
        "verdict         {}",
        if supported {
            "✓ supports enterprise-managed authorization"
        } else {
            "✗ no authorization server supports enterprise-managed authorization"
        }
    );
    if supported {
        Ok(())
    } else {
        Err(Error::new(
            idjag::ErrorKind::NotSupported,
            idjag::Step::Discovery,
            "no authorization server of this MCP server supports enterprise-managed authorization",
        ))
    }
}
