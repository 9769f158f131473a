//! The default [`HttpClient`](super::HttpClient): pooled `ureq` agents (rustls on aws-lc-rs),
//! the caching resolver in front of the system (or a plugged) resolver, and the check of every
//! resolved address for requests under [`AddressPolicy::GlobalOnly`].

use super::policy::is_global_ip;
use super::{
    AddressPolicy, HttpClient, HttpConfig, HttpRequest, HttpResponse, Method, PhaseTimeouts,
};
use crate::error::{Error, ErrorKind, Step};
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// Resolves host names for [`UreqHttpClient`] instead of the system resolver (tests, DNS over
/// HTTPS, pinned addresses). Called with no lock held, never for IP literals; answers are
/// cached for 30 seconds (a name missed by two threads at once may be asked twice).
pub trait DnsResolver: Send + Sync {
    /// The addresses of `host`. `timeout` is the time left for the resolve phase, when one
    /// is set; a resolver that may take longer must give up by then.
    fn resolve(&self, host: &str, timeout: Option<Duration>) -> std::io::Result<Vec<IpAddr>>;
}

/// The default [`HttpClient`]: `ureq` agents (rustls, keep-alive) sharing one DNS cache — one
/// for requests that may reach any address, one that connects only to globally reachable
/// ones ([`AddressPolicy`]) — no redirects, status codes returned as data, bounded timeouts and
/// body sizes.
#[derive(Clone)]
pub struct UreqHttpClient {
    any: ureq::Agent,
    global_only: ureq::Agent,
    dns: Dns,
    config: HttpConfig,
}

impl fmt::Debug for UreqHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UreqHttpClient")
    }
}

impl UreqHttpClient {
    /// Builds the client from `config`, resolving names with the system resolver.
    pub fn new(config: &HttpConfig) -> Result<Self, Error> {
        UreqHttpClient::build(config, Arc::new(SystemResolver))
    }

    /// Builds the client from `config`, resolving names with `resolver`.
    pub fn with_resolver(
        config: &HttpConfig,
        resolver: Arc<dyn DnsResolver>,
    ) -> Result<Self, Error> {
        UreqHttpClient::build(config, resolver)
    }

    fn build(config: &HttpConfig, resolver: Arc<dyn DnsResolver>) -> Result<Self, Error> {
        let roots = match &config.ca_bundle_pem {
            None => RootCerts::Specific(std::sync::Arc::new(mozilla_roots())),
            Some(pem) => {
                let mut certs = mozilla_roots();
                let mut extra = 0usize;
                for item in ureq::tls::parse_pem(pem.as_bytes()) {
                    match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => {
                            certs.push(c);
                            extra += 1;
                        }
                        Ok(_) => {}
                        Err(_) => {
                            return Err(Error::configuration("`ca_bundle_pem` is not valid PEM"))
                        }
                    }
                }
                if extra == 0 {
                    return Err(Error::configuration(
                        "`ca_bundle_pem` contains no CERTIFICATE block",
                    ));
                }
                RootCerts::Specific(std::sync::Arc::new(certs))
            }
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(crypto_provider()?)
            .build();
        let proxy = match &config.proxy {
            Some(p) => Some(
                ureq::Proxy::new(p)
                    .map_err(|_| Error::configuration("`proxy` is not a valid proxy URL"))?,
            ),
            None if config.proxy_from_env => ureq::Proxy::try_from_env(),
            None => None,
        };
        let phases = PhaseTimeouts::of(config);
        let agent_config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .https_only(false) // the core enforces https-except-loopback itself
            .tls_config(tls)
            .proxy(proxy)
            .user_agent(config.user_agent.as_str())
            .accept("application/json")
            // One deadline per exchange (ureq's per-call timeout: arithmetic on each phase
            // boundary, no per-read syscalls) and a cap per phase under it (see
            // `PhaseTimeouts`); the body read gets what is left.
            .timeout_per_call(Some(phases.total))
            .timeout_connect(Some(phases.connect))
            .timeout_send_request(Some(phases.send))
            .timeout_send_body(Some(phases.send))
            .timeout_recv_response(Some(phases.recv_response))
            .timeout_recv_body(Some(phases.recv_body))
            .timeout_resolve(Some(phases.resolve))
            .max_idle_connections(64)
            .max_idle_connections_per_host(8)
            .build();
        let dns = Dns {
            inner: Arc::new(DnsInner {
                backend: resolver,
                cache: Mutex::new(HashMap::new()),
                resolve_timeout: phases.resolve,
            }),
        };
        let agent = |policy| {
            ureq::Agent::with_parts(
                agent_config.clone(),
                ureq::unversioned::transport::DefaultConnector::new(),
                PolicyResolver {
                    dns: dns.clone(),
                    policy,
                },
            )
        };
        Ok(UreqHttpClient {
            any: agent(AddressPolicy::Any),
            global_only: agent(AddressPolicy::GlobalOnly),
            dns,
            config: config.clone(),
        })
    }
}

/// How long a resolved name is reused.
const DNS_TTL: Duration = Duration::from_secs(30);
/// Most names kept.
const DNS_CACHE_MAX: usize = 256;

/// The system resolver (`getaddrinfo`), on a helper thread when a timeout is set, so that a
/// hung lookup cannot outlast the resolve phase.
struct SystemResolver;

impl DnsResolver for SystemResolver {
    fn resolve(&self, host: &str, timeout: Option<Duration>) -> std::io::Result<Vec<IpAddr>> {
        let target = (host.to_string(), 0u16);
        let lookup = move || -> std::io::Result<Vec<IpAddr>> {
            Ok(target.to_socket_addrs()?.map(|a| a.ip()).collect())
        };
        let Some(timeout) = timeout else {
            return lookup();
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("idjag-resolve".into())
            .spawn(move || {
                let _ = tx.send(lookup());
            })?;
        rx.recv_timeout(timeout).unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "name resolution timed out",
            ))
        })
    }
}

/// ureq resolves the host before every request, even on a pooled connection. This cache
/// answers IP literals at once and keeps names for [`DNS_TTL`], so a warm request costs no
/// lookup and no thread, while a cold lookup stays bounded by the resolve timeout. Its lock is
/// never held while the backend resolves.
#[derive(Clone)]
struct Dns {
    inner: Arc<DnsInner>,
}

/// When a name was resolved, and its addresses.
type Resolved = (Instant, Arc<[IpAddr]>);

struct DnsInner {
    backend: Arc<dyn DnsResolver>,
    cache: Mutex<HashMap<String, Resolved>>,
    resolve_timeout: Duration,
}

impl fmt::Debug for Dns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Dns")
    }
}

impl Dns {
    fn lookup(&self, host: &str, timeout: Option<Duration>) -> std::io::Result<Arc<[IpAddr]>> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Arc::from([ip]));
        }
        let key = host.to_ascii_lowercase();
        let now = Instant::now();
        {
            let cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, addrs)) = cache.get(&key) {
                if now.duration_since(*at) < DNS_TTL {
                    return Ok(addrs.clone());
                }
            }
        }
        let addrs: Arc<[IpAddr]> = self.inner.backend.resolve(host, timeout)?.into();
        if addrs.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the name has no address",
            ));
        }
        let evicted = {
            let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
            let mut evicted = Vec::new();
            if cache.len() >= DNS_CACHE_MAX {
                let stale: Vec<String> = cache
                    .iter()
                    .filter(|(_, (at, _))| now.duration_since(*at) >= DNS_TTL)
                    .map(|(k, _)| k.clone())
                    .collect();
                evicted.extend(stale.iter().filter_map(|k| cache.remove(k)));
                if cache.len() >= DNS_CACHE_MAX {
                    evicted.extend(cache.drain().map(|(_, v)| v));
                }
            }
            evicted.extend(cache.insert(key, (now, addrs.clone())));
            evicted
        };
        drop(evicted);
        Ok(addrs)
    }
}

/// A resolved address refused for a request under [`AddressPolicy::GlobalOnly`].
#[derive(Debug)]
struct RefusedAddress {
    host: String,
    ip: IpAddr,
}

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` resolves to {}, which is not a globally reachable address; refused for a URL supplied by a public server (RFC 9728 §7.7)",
            self.host, self.ip
        )
    }
}

impl std::error::Error for RefusedAddress {}

/// The resolver of one agent: the shared [`Dns`] cache, and for
/// [`AddressPolicy::GlobalOnly`] the check of every address the connection could use.
#[derive(Debug)]
struct PolicyResolver {
    dns: Dns,
    policy: AddressPolicy,
}

impl ureq::unversioned::resolver::Resolver for PolicyResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let host = uri
            .host()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("https") => 443,
            Some("socks4" | "socks4a" | "socks5" | "socks5h") => 1080,
            _ => 80,
        });
        let budget = if timeout.after.is_not_happening() {
            None
        } else {
            Some(*timeout.after)
        };
        let addrs = self.dns.lookup(host, budget).map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut {
                ureq::Error::Timeout(timeout.reason)
            } else if e.kind() == std::io::ErrorKind::NotFound {
                ureq::Error::HostNotFound
            } else {
                ureq::Error::Io(e)
            }
        })?;
        // Through a proxy ureq resolves the proxy's name here, not the target's: the proxy is
        // the user's configuration and is not checked.
        let is_proxy = config
            .proxy()
            .is_some_and(|p| p.uri().host() == uri.host() && p.uri().port_u16() == uri.port_u16());
        if self.policy == AddressPolicy::GlobalOnly && !is_proxy {
            if let Some(ip) = addrs.iter().find(|ip| !is_global_ip(**ip)) {
                return Err(ureq::Error::Other(Box::new(RefusedAddress {
                    host: crate::error::sanitize_server_text(host),
                    ip: *ip,
                })));
            }
        }
        let mut out = self.empty();
        for ip in addrs.iter() {
            if out.try_push(SocketAddr::new(*ip, port)).is_err() {
                break; // ureq keeps at most 16 addresses
            }
        }
        Ok(out)
    }
}

/// idjag's one crypto provider for TLS: aws-lc-rs, the library jsonwebtoken signs and verifies
/// with too; with the `fips` feature, the FIPS 140-3 validated AWS-LC module, restricted by
/// rustls to FIPS-approved cipher suites and key-exchange groups.
fn crypto_provider() -> Result<std::sync::Arc<rustls::crypto::CryptoProvider>, Error> {
    #[cfg(feature = "fips")]
    let provider = rustls::crypto::default_fips_provider();
    #[cfg(not(feature = "fips"))]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(feature = "fips")]
    if !provider.fips() {
        return Err(Error::configuration(
            "built with the `fips` feature, but AWS-LC is not in FIPS mode",
        ));
    }
    Ok(std::sync::Arc::new(provider))
}

fn mozilla_roots() -> Vec<Certificate<'static>> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect()
}

fn map_err(e: ureq::Error) -> Error {
    match e {
        ureq::Error::Other(inner) if inner.is::<RefusedAddress>() => {
            Error::new(ErrorKind::InsecureUrl, Step::Transport, inner.to_string())
        }
        ureq::Error::Timeout(t) => Error::new(
            ErrorKind::Timeout,
            Step::Transport,
            format!("timed out ({t})"),
        ),
        ureq::Error::BodyExceedsLimit(n) => Error::new(
            ErrorKind::ResponseTooLarge,
            Step::Transport,
            format!("response body exceeds the {n}-byte limit"),
        ),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Error::new(ErrorKind::Timeout, Step::Transport, "timed out (I/O)")
        }
        ureq::Error::Io(io) => Error::new(
            ErrorKind::Transport,
            Step::Transport,
            format!("I/O error: {}", io.kind()),
        )
        .with_source(io),
        other => Error::new(ErrorKind::Transport, Step::Transport, other.to_string()),
    }
}

impl UreqHttpClient {
    fn agent(&self, policy: AddressPolicy) -> &ureq::Agent {
        match policy {
            AddressPolicy::Any => &self.any,
            AddressPolicy::GlobalOnly => &self.global_only,
        }
    }

    /// Per-phase bounds for a request whose overall budget is `limit` (less than the
    /// configured total), as a request-level configuration (same pool).
    fn limit<B>(
        &self,
        builder: ureq::RequestBuilder<B>,
        limit: Option<Duration>,
    ) -> ureq::RequestBuilder<B> {
        match limit {
            Some(t) if t < self.config.total_timeout => {
                let p = PhaseTimeouts::of(&HttpConfig {
                    total_timeout: t,
                    connect_timeout: self.config.connect_timeout.min(t),
                    read_timeout: self.config.read_timeout.min(t),
                    ..HttpConfig::default()
                });
                builder
                    .config()
                    .timeout_per_call(Some(p.total))
                    .timeout_resolve(Some(p.resolve))
                    .timeout_connect(Some(p.connect))
                    .timeout_send_request(Some(p.send))
                    .timeout_send_body(Some(p.send))
                    .timeout_recv_response(Some(p.recv_response))
                    .timeout_recv_body(Some(p.recv_body))
                    .build()
            }
            _ => builder,
        }
    }
}

impl HttpClient for UreqHttpClient {
    fn resolve(&self, host: &str, _port: u16) -> Option<Vec<IpAddr>> {
        self.dns
            .lookup(host, Some(self.dns.inner.resolve_timeout))
            .ok()
            .map(|a| a.to_vec())
    }

    fn execute(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let agent = self.agent(request.address_policy);
        let result = match request.method {
            Method::Get => {
                let mut b = self.limit(agent.get(&request.url), request.timeout);
                for (k, v) in &request.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                b.call()
            }
            Method::Post => {
                let mut b = self.limit(agent.post(&request.url), request.timeout);
                for (k, v) in &request.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                b.send(&request.body[..])
            }
        };
        let mut response = result.map_err(map_err)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_string(), v.to_string()))
            })
            .collect();
        let limit = request.max_response_bytes as u64;
        if let Some(len) = response.body().content_length() {
            if len > limit {
                return Err(Error::new(
                    ErrorKind::ResponseTooLarge,
                    Step::Transport,
                    format!("response body of {len} bytes exceeds the {limit}-byte limit"),
                ));
            }
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(map_err)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
