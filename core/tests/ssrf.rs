//! SSRF guard (RFC 9728 §7.7, SPEC §3.5): a public MCP server cannot steer the client into an
//! internal network through the URLs it supplies. An in-memory HTTP client plays the servers
//! (public host names cannot be reached from tests) and records every URL requested.

use idjag::http::{HttpRequest, HttpResponse};
use idjag::{Client, DiscoveryOptions, Error, ErrorKind};
use serde_json::json;
use std::sync::{Arc, Mutex};

fn json_resp(status: u16, v: serde_json::Value, extra: &[(&str, &str)]) -> HttpResponse {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    HttpResponse {
        status,
        headers,
        body: v.to_string().into_bytes(),
    }
}

/// A public MCP server whose PRM/AS documents are given; every URL asked is recorded.
fn client(
    challenge: &'static str,
    prm: serde_json::Value,
    as_meta: serde_json::Value,
) -> (Client, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let http = move |req: &HttpRequest| -> Result<HttpResponse, Error> {
        log.lock().expect("l").push(req.url.clone());
        Ok(match req.url.as_str() {
            "https://mcp.example.com/mcp" => {
                json_resp(401, json!({}), &[("www-authenticate", challenge)])
            }
            u if u.starts_with("https://mcp.example.com/.well-known/oauth-protected-resource") => {
                json_resp(200, prm.clone(), &[])
            }
            u if u.starts_with("https://as.example.com/.well-known/") => {
                json_resp(200, as_meta.clone(), &[])
            }
            _ => json_resp(404, json!({}), &[]),
        })
    };
    (
        Client::builder()
            .http_client(Arc::new(http))
            .build()
            .expect("client"),
        seen,
    )
}

fn good_prm(servers: &[&str]) -> serde_json::Value {
    json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": servers})
}

fn good_as() -> serde_json::Value {
    json!({"issuer": "https://as.example.com", "token_endpoint": "https://as.example.com/token",
           "grant_types_supported": [idjag::urn::GRANT_JWT_BEARER],
           "authorization_grant_profiles_supported": [idjag::urn::GRANT_PROFILE_ID_JAG]})
}

#[test]
fn public_server_cannot_point_the_prm_into_the_internal_network() {
    let (c, seen) = client(
        r#"Bearer resource_metadata="https://169.254.169.254/latest/meta-data""#,
        good_prm(&["https://as.example.com"]),
        good_as(),
    );
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("metadata service refused");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    assert!(
        !seen
            .lock()
            .expect("l")
            .iter()
            .any(|u| u.contains("169.254")),
        "nothing was sent to the internal address"
    );
}

#[test]
fn internal_authorization_servers_are_skipped_and_endpoints_checked() {
    // One internal AS listed first, then a good one: the good one is used.
    let (c, seen) = client(
        "Bearer",
        good_prm(&["https://10.0.0.5", "https://as.example.com"]),
        good_as(),
    );
    let d = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect("the public AS is used");
    assert_eq!(d.audience(), "https://as.example.com");
    assert!(!seen
        .lock()
        .expect("l")
        .iter()
        .any(|u| u.contains("10.0.0.5")));

    // Only an internal AS: refused.
    let (c, _) = client("Bearer", good_prm(&["http://localhost:8080"]), good_as());
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("internal AS");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");

    // A public AS whose token endpoint points inside: refused.
    let mut meta = good_as();
    meta["token_endpoint"] = json!("https://192.168.0.10/token");
    let (c, _) = client("Bearer", good_prm(&["https://as.example.com"]), meta);
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("internal token endpoint");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
}

// ---------------------------------------------------------------------------------------
// Resolved addresses (B4: the guard checks addresses, not only names). The real default HTTP
// client runs with a resolver test double that maps every name it knows to loopback; a
// loopback listener counts the connections that get through. No name is ever resolved by
// the system, and nothing is ever connected to outside 127.0.0.1.

use idjag::http::{AddressPolicy, DnsResolver, HttpClient, HttpConfig, Method, UreqHttpClient};
use idjag::{ClientCredentials, RedeemRequest};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Accepts and drops connections on 127.0.0.1, counting them, until dropped (bounded: the
/// thread checks its stop flag every 10 ms and gives up after 60 s).
struct Listener {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    fn start() -> Listener {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (accepted.clone(), stop.clone());
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(60);
            while !s.load(Ordering::SeqCst) && Instant::now() < until {
                match l.accept() {
                    Ok((conn, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        drop(conn);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Listener {
            port,
            accepted,
            stop,
        }
    }

    fn connections(&self) -> usize {
        // Let an in-flight accept land.
        std::thread::sleep(Duration::from_millis(50));
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The resolver double: known names → loopback only; anything else is "not found".
#[derive(Default)]
struct LoopbackDns {
    names: Vec<&'static str>,
    asked: Mutex<Vec<String>>,
}

impl DnsResolver for LoopbackDns {
    fn resolve(&self, host: &str, _: Option<Duration>) -> std::io::Result<Vec<IpAddr>> {
        self.asked.lock().expect("l").push(host.to_string());
        if self.names.contains(&host) {
            Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
        } else {
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "unknown"))
        }
    }
}

/// Answers the requests it knows, in memory.
type Memory = dyn Fn(&HttpRequest) -> Option<HttpResponse> + Send + Sync;

/// An HTTP client that plays the public MCP server (and any host in `memory`) in memory and
/// sends everything else through the real default client with the resolver double.
/// `classify` is what its `resolve` answers for the core's classification of hosts (global
/// addresses here are only ever *answers*, never connected to).
struct Split {
    memory: Box<Memory>,
    real: UreqHttpClient,
    classify: HashMap<&'static str, IpAddr>,
}

impl HttpClient for Split {
    fn execute(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        match (self.memory)(request) {
            Some(r) => Ok(r),
            None => self.real.execute(request),
        }
    }

    fn resolve(&self, host: &str, port: u16) -> Option<Vec<IpAddr>> {
        match self.classify.get(host) {
            Some(ip) => Some(vec![*ip]),
            None => self.real.resolve(host, port),
        }
    }
}

const PUBLIC_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(93, 184, 215, 14));

fn real_client(dns: Arc<LoopbackDns>) -> UreqHttpClient {
    let config = HttpConfig {
        total_timeout: Duration::from_secs(5),
        ..HttpConfig::default()
    };
    UreqHttpClient::with_resolver(&config, dns).expect("http")
}

fn public_mcp(
    prm: serde_json::Value,
    as_meta: serde_json::Value,
    dns: Arc<LoopbackDns>,
    classify: &[(&'static str, IpAddr)],
) -> Client {
    let memory = move |req: &HttpRequest| -> Option<HttpResponse> {
        let u = req.url.as_str();
        if u == "https://mcp.example.com/mcp" {
            Some(json_resp(401, json!({}), &[("www-authenticate", "Bearer")]))
        } else if u.starts_with("https://mcp.example.com/.well-known/oauth-protected-resource") {
            Some(json_resp(200, prm.clone(), &[]))
        } else if u.starts_with("https://as.example.com/.well-known/") {
            Some(json_resp(200, as_meta.clone(), &[]))
        } else {
            None
        }
    };
    let mut map: HashMap<&'static str, IpAddr> = classify.iter().copied().collect();
    map.entry("mcp.example.com").or_insert(PUBLIC_IP);
    map.entry("as.example.com").or_insert(PUBLIC_IP);
    Client::builder()
        .http_client(Arc::new(Split {
            memory: Box::new(memory),
            real: real_client(dns),
            classify: map,
        }))
        .build()
        .expect("client")
}

#[test]
fn default_client_refuses_non_global_addresses_under_global_only() {
    let l = Listener::start();
    let dns = Arc::new(LoopbackDns {
        names: vec!["internal.attacker.test"],
        ..Default::default()
    });
    let http = real_client(dns.clone());
    let req = |policy| HttpRequest {
        method: Method::Get,
        url: format!("https://internal.attacker.test:{}/x", l.port),
        headers: vec![],
        body: vec![],
        max_response_bytes: 1024,
        address_policy: policy,
        timeout: None,
    };
    let e = http
        .execute(&req(AddressPolicy::GlobalOnly))
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
    assert_eq!(l.connections(), 0, "nothing was connected");
    // The same name under `Any` connects (the double resolves, the listener counts; the TLS
    // handshake then fails against the bare listener).
    let e = http.execute(&req(AddressPolicy::Any)).expect_err("no TLS");
    assert_ne!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    assert_eq!(l.connections(), 1);
    // IP literals are checked too, and a literal under GlobalOnly never reaches the resolver.
    let mut r = req(AddressPolicy::GlobalOnly);
    r.url = format!("http://127.0.0.1:{}/x", l.port);
    assert_eq!(
        http.execute(&r).expect_err("literal").kind(),
        ErrorKind::InsecureUrl
    );
    assert_eq!(l.connections(), 1);
    assert_eq!(dns.asked.lock().expect("l").len(), 1, "one lookup, cached");
}

#[test]
fn public_server_cannot_reach_internal_addresses_through_dns_names() {
    let l = Listener::start();
    let dns = Arc::new(LoopbackDns {
        names: vec!["as.attacker.test", "prm.attacker.test"],
        ..Default::default()
    });
    // An authorization server whose (public-looking) name resolves to loopback.
    let issuer = format!("https://as.attacker.test:{}", l.port);
    let c = public_mcp(good_prm(&[issuer.as_str()]), good_as(), dns.clone(), &[]);
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("internal AS by address");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    assert!(e.to_string().contains("RFC 9728 §7.7"), "{e}");
    // A challenge pointing the PRM at such a name.
    let c = public_mcp(good_prm(&["https://as.example.com"]), good_as(), dns, &[]);
    let e = c
        .discover(
            "https://mcp.example.com/mcp",
            &DiscoveryOptions {
                resource_metadata_url: Some(format!("https://prm.attacker.test:{}/prm", l.port)),
                ..Default::default()
            },
        )
        .expect_err("internal PRM by address");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    assert_eq!(l.connections(), 0, "nothing reached the internal listener");
}

#[test]
fn dns_rebinding_of_the_token_endpoint_is_caught_at_connect_time() {
    // At discovery the token endpoint's name looks public (the classification answer); when
    // leg 2 connects, the real resolver answers loopback: the connection is refused.
    let l = Listener::start();
    let dns = Arc::new(LoopbackDns {
        names: vec!["token.rebind.test"],
        ..Default::default()
    });
    let mut meta = good_as();
    let te = format!("https://token.rebind.test:{}/token", l.port);
    meta["token_endpoint"] = json!(te);
    let c = public_mcp(
        good_prm(&["https://as.example.com"]),
        meta,
        dns,
        &[("token.rebind.test", PUBLIC_IP)],
    );
    let d = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect("discovered: the endpoint looked public");
    assert!(!d.internal);
    let e = c
        .redeem_id_jag(&RedeemRequest::new(
            idjag::TokenEndpoint::new(
                te.clone(),
                ClientCredentials::new("c").with_secret("s3cret-planted"),
            )
            .issuer("https://as.example.com"),
            "eyJ.planted.assertion",
        ))
        .expect_err("refused at connect time");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains("planted"),
        "no assertion or secret in the error"
    );
    assert_eq!(l.connections(), 0, "the ID-JAG never left the process");
}

#[test]
fn internal_server_by_resolution_may_use_internal_names() {
    // An on-premises MCP server whose name resolves to a private address (split DNS): its
    // authorization server may resolve internally too.
    let l = Listener::start();
    let dns = Arc::new(LoopbackDns {
        names: vec!["as.corp.test"],
        ..Default::default()
    });
    let issuer = format!("https://as.corp.test:{}", l.port);
    let memory = {
        let prm =
            json!({"resource": "https://mcp.corp.test/mcp", "authorization_servers": [issuer]});
        move |req: &HttpRequest| -> Option<HttpResponse> {
            let u = req.url.as_str();
            if u == "https://mcp.corp.test/mcp" {
                Some(json_resp(401, json!({}), &[("www-authenticate", "Bearer")]))
            } else if u.starts_with("https://mcp.corp.test/.well-known/oauth-protected-resource") {
                Some(json_resp(200, prm.clone(), &[]))
            } else {
                None
            }
        }
    };
    let c = Client::builder()
        .http_client(Arc::new(Split {
            memory: Box::new(memory),
            real: real_client(dns),
            classify: [("mcp.corp.test", IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)))]
                .into_iter()
                .collect(),
        }))
        .build()
        .expect("client");
    let e = c
        .discover("https://mcp.corp.test/mcp", &DiscoveryOptions::default())
        .expect_err("the bare listener speaks no TLS");
    assert_ne!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    assert!(l.connections() >= 1, "the internal AS was contacted");
}

#[test]
fn trailing_dot_localhost_is_internal() {
    // `localhost.` is loopback: a public server may not point there (the name check refuses
    // it before any request; the in-memory client records every URL asked).
    let (c, seen) = client("Bearer", good_prm(&["https://localhost.:8443"]), good_as());
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("internal AS");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    assert!(!seen
        .lock()
        .expect("l")
        .iter()
        .any(|u| u.contains("localhost.")));
}

// ---------------------------------------------------------------------------------------
// B9: server text in discovery errors, and the form of issuers (RFC 8414 §2).

#[test]
fn issuers_with_control_characters_or_unusual_forms_are_refused() {
    for bad in [
        "https://as.example.com/\n[forged] log line",
        "https://as.example.com/\u{1b}[31mred",
        "https://AS.example.com",
        "https://as.example.com:443",
        "https://as.example.com/a b",
        "https://as.example.com?x=1",
        "https://as.example.com#f",
    ] {
        let mut meta = good_as();
        meta["issuer"] = json!(bad); // the server echoes the same string: exact match
        let (c, _) = client("Bearer", good_prm(&[bad]), meta);
        let e = c
            .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
            .expect_err(bad);
        assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{bad:?}: {e}");
        let shown = e.to_string();
        assert!(
            !shown.chars().any(char::is_control),
            "{bad:?}: control characters in {shown:?}"
        );
        // The caller's own issuer gets `invalid_argument`.
        let e = c.authorization_server_metadata(bad).expect_err(bad);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}: {e}");
        assert!(!e.to_string().chars().any(char::is_control));
    }
    // Plain issuers, with or without a path or trailing slash, still work.
    for good in [
        "https://as.example.com",
        "https://as.example.com/",
        "https://as.example.com/t/1",
    ] {
        let mut meta = good_as();
        meta["issuer"] = json!(good);
        let (c, _) = client("Bearer", good_prm(&[good]), meta);
        let d = c
            .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
            .expect(good);
        assert_eq!(d.audience(), good);
    }
}

#[test]
fn server_text_in_discovery_errors_is_sanitized() {
    // A listed issuer with an escape sequence, whose metadata names another issuer: the
    // message quotes the listed one.
    let (c, _) = client(
        "Bearer",
        good_prm(&["https://as.example.com/\u{1b}[2J\u{1b}[31m"]),
        good_as(),
    );
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("refused");
    assert!(!e.to_string().chars().any(char::is_control), "{e:?}");
    // The caller's own choice of AS, quoted in a configuration error.
    let (c, _) = client("Bearer", good_prm(&["https://as.example.com"]), good_as());
    let e = c
        .discover(
            "https://mcp.example.com/mcp",
            &DiscoveryOptions {
                authorization_server: Some("https://as.example.com/\u{7}\n".into()),
                ..Default::default()
            },
        )
        .expect_err("not listed");
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(!e.to_string().chars().any(char::is_control), "{e:?}");

    // A mismatching issuer and resource carrying control characters and a huge length.
    let long = format!("https://evil.example/\u{7}{}", "x".repeat(5000));
    let mut meta = good_as();
    meta["issuer"] = json!(long);
    let (c, _) = client("Bearer", good_prm(&["https://as.example.com"]), meta);
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("issuer mismatch");
    assert_eq!(e.kind(), ErrorKind::IssuerMismatch, "{e}");
    let shown = e.to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.len() < 1500, "truncated: {} bytes", shown.len());

    let prm = json!({"resource": format!("https://mcp.example.com/\u{1b}[2J{}", "y".repeat(5000)),
                     "authorization_servers": ["https://as.example.com"]});
    let (c, _) = client("Bearer", prm, good_as());
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("resource mismatch");
    assert_eq!(e.kind(), ErrorKind::ResourceMismatch, "{e}");
    let shown = e.to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.len() < 1500, "truncated: {} bytes", shown.len());
}
