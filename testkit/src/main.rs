//! `idjag-testkit serve [--json] [options]`: runs the kit until stdin reaches EOF.

use idjag_testkit::{AsMetadataVariants, Options, TestKit};
use std::io::{Read, Write};

const USAGE: &str = "\
usage: idjag-testkit serve [--json] [--tls] [--as-path /as] [--as-metadata all|oidc-only|oidc-append-only]
                           [--as-auth-methods m1,m2] [--id-jag-alg ES256|RS256|EdDSA] [--ed25519]
                           [--user NAME] [--lenient-basic] [--plain-secrets] [--mcp-path /mcp2]...
                           [--extra-audience ISSUER]... [--extra-resource URL]...
                           [--mcp-authorization-server ISSUER] [--mcp-scopes S1,S2]
                           [--id-token-ttl SECS] [--id-jag-ttl SECS] [--as-token-ttl SECS]
                           [--idp-key FILE]... [--key-seed SEED] [--idp-port PORT]

Starts an IdP, an MCP authorization server and an MCP server on loopback, prints their URLs
and credentials (one JSON line with --json), and serves until stdin is closed.

  --mcp-path /mcp2         another MCP server on the MCP origin (repeatable)
  --extra-audience ISSUER  the IdP also issues ID-JAGs for this authorization server (yours)
  --extra-resource URL     the IdP also accepts this `resource` (your MCP server)
  --mcp-authorization-server ISSUER
                           the MCP server's protected-resource metadata names this AS instead
                           of the kit's (the IdP issues ID-JAGs for it); the MCP server accepts
                           that AS's JWT access tokens (signature by the JWKS its metadata
                           names, exact iss, aud containing the MCP URL, exp) besides the kit
                           AS's own
  --mcp-scopes S1,S2       the MCP server's scopes (PRM scopes_supported and the scope of its
                           401 challenges; default mcp:read,mcp:write,mcp:admin and
                           mcp:read mcp:write); an empty list for a server without scopes
  --id-token-ttl SECS      lifetime of ID tokens (default 3600)
  --id-jag-ttl SECS        lifetime of ID-JAGs (default 300)
  --as-token-ttl SECS      lifetime of the kit AS's access tokens (default 300); a few seconds
                           make a client's renewal observable
  --idp-key FILE           fixed IdP signing key, unencrypted PKCS#8 PEM (P-256 → ES256,
                           RSA → RS256, Ed25519 → EdDSA); kid = RFC 7638 thumbprint
  --key-seed SEED          derive the IdP's ES256 key (and EdDSA with --ed25519) from SEED
  --idp-port PORT          fixed IdP port (with fixed keys: the same issuer and JWKS every run)";

/// Longest lifetime a `--*-ttl` flag accepts (one year).
const MAX_TTL_SECS: u64 = 365 * 86_400;

fn ttl(name: &str, v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(n) if (1..=MAX_TTL_SECS).contains(&n) => Ok(n),
        _ => Err(format!(
            "{name} needs a number of seconds from 1 to {MAX_TTL_SECS}"
        )),
    }
}

/// Fixed IdP keys from `--idp-key` files, then seed-derived ones for the algorithms the
/// files do not cover.
fn fixed_keys(
    files: &[String],
    seed: Option<&str>,
    ed25519: bool,
) -> Result<Vec<idjag_testkit::TestKey>, String> {
    use idjag_testkit::{Alg, TestKey};
    let mut keys: Vec<TestKey> = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("--idp-key {f}: {e}"))?;
        let key = TestKey::from_pkcs8_pem(&text).map_err(|e| format!("--idp-key {f}: {e}"))?;
        if keys.iter().any(|k| k.alg() == key.alg()) {
            return Err(format!("--idp-key {f}: a second {} key", key.alg()));
        }
        keys.push(key);
    }
    if let Some(seed) = seed {
        let mut algs = vec![Alg::ES256];
        if ed25519 {
            algs.push(Alg::EdDSA);
        }
        for alg in algs {
            if !keys.iter().any(|k| k.alg() == alg) {
                keys.push(TestKey::from_seed(alg, seed).map_err(|e| format!("--key-seed: {e}"))?);
            }
        }
    }
    Ok(keys)
}

fn parse(args: &[String]) -> Result<(bool, Options), String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("serve") => {}
        Some("-h") | Some("--help") | Some("help") => return Err(String::new()),
        _ => return Err("expected the `serve` command".into()),
    }
    let mut json = false;
    let mut o = Options::default();
    let mut key_files: Vec<String> = Vec::new();
    let mut key_seed: Option<String> = None;
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
            // Another MCP server on the MCP origin (`{mcp origin}/mcp2`), repeatable.
            "--mcp-path" => o.extra_mcp_paths.push(val("--mcp-path")?),
            "--extra-audience" => o.extra_audiences.push(val("--extra-audience")?),
            "--extra-resource" => o.extra_resources.push(val("--extra-resource")?),
            "--mcp-authorization-server" => {
                o.mcp_authorization_server = Some(val("--mcp-authorization-server")?)
            }
            "--mcp-scopes" => {
                let scopes: Vec<String> = val("--mcp-scopes")?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                o.scopes_supported = scopes.clone();
                o.challenge_scopes = scopes;
            }
            "--id-token-ttl" => o.id_token_ttl_secs = ttl(a, &val(a)?)?,
            "--id-jag-ttl" => o.id_jag_ttl_secs = ttl(a, &val(a)?)?,
            "--as-token-ttl" => o.as_token_ttl_secs = ttl(a, &val(a)?)?,
            "--idp-key" => key_files.push(val("--idp-key")?),
            "--key-seed" => key_seed = Some(val("--key-seed")?),
            "--idp-port" => {
                let v = val("--idp-port")?;
                match v.parse::<u16>() {
                    Ok(p) if p > 0 => o.idp_port = Some(p),
                    _ => return Err(format!("--idp-port needs a port from 1 to 65535, not {v}")),
                }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    o.idp_signing_keys = fixed_keys(&key_files, key_seed.as_deref(), o.ed25519_key)?;
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
