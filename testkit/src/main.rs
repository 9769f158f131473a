//! `idjag-testkit serve [--json] [options]`: runs the kit until stdin reaches EOF.

use idjag_testkit::{AsMetadataVariants, Options, TestKit};
use std::io::{Read, Write};

const USAGE: &str = "\
usage: idjag-testkit serve [--json] [--tls] [--as-path /as] [--as-metadata all|oidc-only|oidc-append-only]
                           [--as-auth-methods m1,m2] [--id-jag-alg ES256|RS256|EdDSA] [--ed25519]
                           [--user NAME] [--lenient-basic] [--plain-secrets]

Starts an IdP, an MCP authorization server and an MCP server on loopback, prints their URLs
and credentials (one JSON line with --json), and serves until stdin is closed.";

fn parse(args: &[String]) -> Result<(bool, Options), String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("serve") => {}
        Some("-h") | Some("--help") | Some("help") => return Err(String::new()),
        _ => return Err("expected the `serve` command".into()),
    }
    let mut json = false;
    let mut o = Options::default();
    while let Some(a) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--json" => json = true,
            "--tls" => o.tls = true,
            "--ed25519" => o.ed25519_key = true,
            "--lenient-basic" => o.lenient_basic = true,
            "--plain-secrets" => o.plain_secrets = true,
            "--as-path" => o.as_path = Some(val("--as-path")?),
            "--as-metadata" => {
                o.as_metadata = match val("--as-metadata")?.as_str() {
                    "all" => AsMetadataVariants::default(),
                    "oidc-only" => AsMetadataVariants::oidc_only(),
                    "oidc-append-only" => AsMetadataVariants::oidc_append_only(),
                    other => return Err(format!("unknown --as-metadata {other}")),
                }
            }
            "--as-auth-methods" => {
                o.as_auth_methods = val("--as-auth-methods")?
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "--id-jag-alg" => {
                let v = val("--id-jag-alg")?;
                o.id_jag_alg =
                    idjag_testkit::Alg::parse(&v).ok_or_else(|| format!("unknown alg {v}"))?;
            }
            "--user" => o.default_user = val("--user")?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((json, o))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (json, opts) = match parse(&args) {
        Ok(v) => v,
        Err(e) => {
            if e.is_empty() {
                println!("{USAGE}");
                std::process::exit(0);
            }
            eprintln!("idjag-testkit: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let kit = match TestKit::try_start_with(opts) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("idjag-testkit: {e}");
            std::process::exit(1);
        }
    };
    let info = kit.info_json();
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{info}");
    } else {
        let get = |k: &str| {
            info.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let _ = writeln!(
            out,
            "idjag-testkit is running (close stdin / Ctrl-D to stop)"
        );
        for k in [
            "mcp_url",
            "prm_url",
            "as_issuer",
            "as_token_endpoint",
            "idp_issuer",
            "idp_token_endpoint",
            "idp_jwks_uri",
            "admin_url",
        ] {
            let _ = writeln!(out, "  {k:<20} {}", get(k));
        }
        let _ = writeln!(
            out,
            "  clients:\n{}",
            serde_json::to_string_pretty(&info["clients"]).unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "  context:\n{}",
            serde_json::to_string_pretty(&info["context"]).unwrap_or_default()
        );
    }
    let _ = out.flush();
    drop(out);
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 4096];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    drop(kit);
}
