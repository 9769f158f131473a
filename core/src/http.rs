//! The HTTP seam: one [`HttpClient`] trait, plain request/response types, and the default
//! implementation on a single pooled `ureq` agent ([`UreqHttpClient`]).
//!
//! Policy (https-only except loopback, redirect rules, size caps) is enforced by the core on
//! top of whichever client is plugged in, so a host-supplied client cannot weaken it. The
//! client only has to honour [`HttpRequest::max_response_bytes`] (the core checks it again)
//! and must not follow redirects itself.

use crate::error::{Error, ErrorKind, Step};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;
use zeroize::Zeroize;

/// HTTP method. idjag only ever needs these two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET` (metadata, JWKS, MCP probe).
    Get,
    /// `POST` (token endpoints, MCP JSON-RPC).
    Post,
}

impl Method {
    /// `"GET"` or `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// An outgoing request. Header values and the body may hold secrets: `Debug` redacts the
/// `Authorization` header and the body, and both are zeroized on drop.
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Header name/value pairs (names lowercase).
    pub headers: Vec<(String, String)>,
    /// Request body (empty for GET).
    pub body: Vec<u8>,
    /// The most response-body bytes the caller accepts; larger bodies must fail with
    /// [`ErrorKind::ResponseTooLarge`].
    pub max_response_bytes: usize,
}

impl HttpRequest {
    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Drop for HttpRequest {
    fn drop(&mut self) {
        self.body.zeroize();
        for (_, v) in self.headers.iter_mut() {
            v.zeroize();
        }
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("dpop") {
                    (k.as_str(), "[redacted]")
                } else {
                    (k.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field(
                "body",
                &format_args!("[{} bytes redacted]", self.body.len()),
            )
            .finish()
    }
}

/// A received response. The body is zeroized on drop and redacted in `Debug`.
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// The body, at most `max_response_bytes` long.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of a header (case-insensitive name; first occurrence).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (case-insensitive name), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Drop for HttpResponse {
    fn drop(&mut self) {
        self.body.zeroize();
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field(
                "body",
                &format_args!("[{} bytes redacted]", self.body.len()),
            )
            .finish()
    }
}

/// Sends one HTTP request. Implementations must not follow redirects and must bound the
/// response body by [`HttpRequest::max_response_bytes`]. Errors use the kinds
/// [`ErrorKind::Transport`], [`ErrorKind::Timeout`] and [`ErrorKind::ResponseTooLarge`].
pub trait HttpClient: Send + Sync {
    /// Sends `request` and returns the response (any status).
    fn execute(&self, request: &HttpRequest) -> Result<HttpResponse, Error>;
}

impl<F> HttpClient for F
where
    F: Fn(&HttpRequest) -> Result<HttpResponse, Error> + Send + Sync,
{
    fn execute(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        self(request)
    }
}

/// Settings of the default HTTP client and of the core's HTTP policy.
#[derive(Clone)]
pub struct HttpConfig {
    /// TCP + TLS connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Most time to wait for the response head, and to read the body (default 10 s each).
    pub read_timeout: Duration,
    /// Bound on one whole request including the body (default 30 s), split over its phases
    /// by [`PhaseTimeouts`].
    pub total_timeout: Duration,
    /// Cap on metadata/JWKS response bodies (default 1 MiB).
    pub max_metadata_bytes: usize,
    /// Cap on token-endpoint response bodies (default 64 KiB).
    pub max_token_bytes: usize,
    /// Extra trusted CA roots (PEM, one or more certificates) added to the Mozilla roots, for
    /// enterprise PKI.
    pub ca_bundle_pem: Option<String>,
    /// Proxy URL (`http://host:port`, `socks5://…`). `None` uses no proxy unless
    /// [`HttpConfig::proxy_from_env`] is set.
    pub proxy: Option<String>,
    /// Read the proxy from `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` (default false).
    pub proxy_from_env: bool,
    /// `User-Agent` header value.
    pub user_agent: String,
    /// Most redirects followed on a metadata GET (same origin, https; default 3).
    pub max_metadata_redirects: u8,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_metadata_bytes: 1024 * 1024,
            max_token_bytes: 64 * 1024,
            ca_bundle_pem: None,
            proxy: None,
            proxy_from_env: false,
            user_agent: concat!("idjag/", env!("CARGO_PKG_VERSION")).to_string(),
            max_metadata_redirects: 3,
        }
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_metadata_bytes", &self.max_metadata_bytes)
            .field("max_token_bytes", &self.max_token_bytes)
            .field(
                "ca_bundle_pem",
                &self.ca_bundle_pem.as_ref().map(|_| "[pem]"),
            )
            .field("proxy", &self.proxy.as_ref().map(|p| redact_userinfo(p)))
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

fn redact_userinfo(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("redacted");
            let _ = url.set_password(None);
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "[unparseable]".into(),
    }
}

/// How [`HttpConfig::total_timeout`] is split over the phases of one exchange, so that their
/// sum never exceeds it: resolve + connect (together at most `connect_timeout`, at most half
/// the total), sending
/// headers and body (a tenth of the rest each), then waiting for the response head and reading
/// the body (each at most `read_timeout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseTimeouts {
    /// Resolving the host name (half of the connect budget).
    pub resolve: Duration,
    /// TCP + TLS connect (and proxy negotiation).
    pub connect: Duration,
    /// Sending the request head; likewise sending the body.
    pub send: Duration,
    /// Waiting for the response head.
    pub recv_response: Duration,
    /// Reading the response body.
    pub recv_body: Duration,
}

impl PhaseTimeouts {
    /// The split for `config`.
    pub fn of(config: &HttpConfig) -> PhaseTimeouts {
        let total = config.total_timeout.max(Duration::from_millis(10));
        let connect_budget = config.connect_timeout.min(total / 2);
        let resolve = connect_budget / 2;
        let connect = connect_budget - resolve;
        let rest = total - connect_budget;
        let send = (rest / 10).min(config.read_timeout);
        let recv_total = rest - send * 2;
        let recv_response = (recv_total * 2 / 3).min(config.read_timeout);
        let recv_body = (recv_total - recv_response).min(config.read_timeout);
        PhaseTimeouts {
            resolve,
            connect,
            send,
            recv_response,
            recv_body,
        }
    }

    /// The longest one exchange can take.
    pub fn sum(&self) -> Duration {
        self.resolve + self.connect + self.send * 2 + self.recv_response + self.recv_body
    }
}

/// Whether `host` (as in a URL) names the local machine: `localhost`, `127.0.0.0/8`, `::1`.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Parses `url` and enforces the transport rule (SPEC §3.5, §4.1 item 1): `https`, or `http`
/// to a loopback host only. No userinfo, no fragment.
pub fn check_url(url: &str, step: Step) -> Result<url::Url, Error> {
    let parsed = url::Url::parse(url).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            step,
            format!(
                "`{}` is not an absolute URL ({e})",
                crate::error::sanitize_server_text(url)
            ),
        )
    })?;
    let host = parsed.host().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            step,
            format!("`{parsed}` has no host"),
        )
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::new(
            ErrorKind::InsecureUrl,
            step,
            "URLs with credentials (user:password@) are refused",
        ));
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback_host(&host) => Ok(parsed),
        "http" => Err(Error::new(
            ErrorKind::InsecureUrl,
            step,
            format!("`{parsed}` is plain http; only https (or http to a loopback host) is allowed"),
        )),
        other => Err(Error::new(
            ErrorKind::InsecureUrl,
            step,
            format!("scheme `{other}` is not allowed (https only)"),
        )),
    }
}

/// Whether `host` is a literal address (or name) of an internal network: loopback,
/// `localhost`, private (RFC 1918), shared (RFC 6598), link-local (incl. cloud metadata
/// services at 169.254.169.254), unique-local IPv6, unspecified. Names other than `localhost`
/// are not resolved here.
pub fn is_internal_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => internal_v4(*ip),
        url::Host::Ipv6(ip) => {
            let seg0 = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (seg0 & 0xfe00) == 0xfc00 // fc00::/7 unique local
                || (seg0 & 0xffc0) == 0xfe80 // fe80::/10 link local
                || ip.to_ipv4_mapped().is_some_and(internal_v4)
        }
    }
}

fn internal_v4(ip: std::net::Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10 shared address space
}

/// SSRF guard for URLs a server handed us (RFC 9728 §7.7, SPEC §3.5): when the MCP server the
/// user chose is on a public host, a URL it points us to (PRM location, authorization server,
/// token endpoint, JWKS) must not lead into an internal network. Internal-to-internal is
/// allowed (development, on-premises deployments); the user's own configuration is never
/// checked by this.
pub fn check_server_supplied_url(
    context: &url::Url,
    target: &str,
    step: Step,
) -> Result<url::Url, Error> {
    let t = check_url(target, step)?;
    let context_internal = context.host().as_ref().is_some_and(is_internal_host);
    let target_internal = t.host().as_ref().is_some_and(is_internal_host);
    if target_internal && !context_internal {
        return Err(Error::new(
            ErrorKind::InsecureUrl,
            step,
            format!(
                "`{}` points into an internal network but was supplied by the public server `{}`; refused (RFC 9728 §7.7)",
                crate::error::sanitize_server_text(t.as_str()),
                context.origin().ascii_serialization()
            ),
        ));
    }
    Ok(t)
}

/// Whether an IP address is loopback (helper for hosts that resolve names themselves).
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    ip.is_loopback()
}

#[cfg(feature = "ureq")]
pub use ureq_client::UreqHttpClient;

#[cfg(feature = "ureq")]
mod ureq_client {
    use super::*;
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

    /// The default [`HttpClient`]: one pooled `ureq` agent (rustls, keep-alive), no redirects,
    /// status codes returned as data, bounded timeouts and body sizes.
    #[derive(Clone)]
    pub struct UreqHttpClient {
        agent: ureq::Agent,
    }

    impl fmt::Debug for UreqHttpClient {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("UreqHttpClient")
        }
    }

    impl UreqHttpClient {
        /// Builds the agent from `config`.
        pub fn new(config: &HttpConfig) -> Result<Self, Error> {
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
                                return Err(Error::configuration(
                                    "`ca_bundle_pem` is not valid PEM",
                                ))
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
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .https_only(false) // the core enforces https-except-loopback itself
                .tls_config(tls)
                .proxy(proxy)
                .user_agent(config.user_agent.as_str())
                .accept("application/json")
                // Per-phase timeouts whose sum is at most `total_timeout` (see
                // `PhaseTimeouts`): as strict a bound as `timeout_global`, at a fraction of
                // its per-request cost (measured in bench/session).
                .timeout_connect(Some(phases.connect))
                .timeout_send_request(Some(phases.send))
                .timeout_send_body(Some(phases.send))
                .timeout_recv_response(Some(phases.recv_response))
                .timeout_recv_body(Some(phases.recv_body))
                .timeout_resolve(Some(phases.resolve))
                .max_idle_connections(64)
                .max_idle_connections_per_host(8)
                .build();
            let agent = ureq::Agent::with_parts(
                agent,
                ureq::unversioned::transport::DefaultConnector::new(),
                CachingResolver::default(),
            );
            Ok(UreqHttpClient { agent })
        }
    }

    /// ureq resolves the host before every request, even on a pooled connection, and with a
    /// resolve timeout it runs each lookup on a new thread. This resolver answers IP literals
    /// at once and keeps names for [`DNS_TTL`], so a warm request costs no lookup and no
    /// thread, while a cold lookup stays bounded by the resolve timeout.
    #[derive(Debug, Default)]
    struct CachingResolver {
        inner: ureq::unversioned::resolver::DefaultResolver,
        cache: std::sync::Mutex<
            std::collections::HashMap<
                String,
                (
                    std::time::Instant,
                    ureq::unversioned::resolver::ResolvedSocketAddrs,
                ),
            >,
        >,
    }

    /// How long a resolved name is reused.
    const DNS_TTL: Duration = Duration::from_secs(30);
    /// Most names kept.
    const DNS_CACHE_MAX: usize = 256;

    impl ureq::unversioned::resolver::Resolver for CachingResolver {
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
            let port = uri
                .port_u16()
                .unwrap_or(if uri.scheme_str() == Some("https") {
                    443
                } else {
                    80
                });
            if let Ok(ip) = host.parse::<IpAddr>() {
                let mut out = self.empty();
                out.push(std::net::SocketAddr::new(ip, port));
                return Ok(out);
            }
            let key = format!("{host}:{port}");
            let now = std::time::Instant::now();
            {
                let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((at, addrs)) = cache.get(&key) {
                    if now.duration_since(*at) < DNS_TTL {
                        return Ok(addrs.clone());
                    }
                }
            }
            let addrs = self.inner.resolve(uri, config, timeout)?;
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= DNS_CACHE_MAX {
                cache.retain(|_, (at, _)| now.duration_since(*at) < DNS_TTL);
                if cache.len() >= DNS_CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(key, (now, addrs.clone()));
            Ok(addrs)
        }
    }

    fn mozilla_roots() -> Vec<Certificate<'static>> {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect()
    }

    fn map_err(e: ureq::Error) -> Error {
        match e {
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

    impl HttpClient for UreqHttpClient {
        fn execute(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
            let result = match request.method {
                Method::Get => {
                    let mut b = self.agent.get(&request.url);
                    for (k, v) in &request.headers {
                        b = b.header(k.as_str(), v.as_str());
                    }
                    b.call()
                }
                Method::Post => {
                    let mut b = self.agent.post(&request.url);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_only() {
        assert!(check_url("https://idp.example.com/x", Step::Discovery).is_ok());
        assert!(check_url("http://127.0.0.1:8080/x", Step::Discovery).is_ok());
        assert!(check_url("http://127.9.9.9/x", Step::Discovery).is_ok());
        assert!(check_url("http://localhost/x", Step::Discovery).is_ok());
        assert!(check_url("http://[::1]:9/x", Step::Discovery).is_ok());
        let e = check_url("http://idp.example.com/x", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        let e = check_url("http://localhost.evil.com/x", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        let e = check_url("ftp://idp.example.com/x", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        let e = check_url("https://u:p@idp.example.com/x", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        let e = check_url("not a url", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn internal_hosts() {
        let internal =
            |u: &str| is_internal_host(&url::Url::parse(u).expect("url").host().expect("host"));
        for u in [
            "https://127.0.0.1/",
            "https://localhost/",
            "https://a.localhost/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
        ] {
            assert!(internal(u), "{u}");
        }
        for u in [
            "https://as.example.com/",
            "https://8.8.8.8/",
            "https://[2001:db8::1]/",
            "https://172.32.0.1/",
        ] {
            assert!(!internal(u), "{u}");
        }
        let public = url::Url::parse("https://mcp.example.com/mcp").expect("url");
        let local = url::Url::parse("http://127.0.0.1:8000/mcp").expect("url");
        let e =
            check_server_supplied_url(&public, "https://169.254.169.254/latest", Step::Discovery)
                .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        assert!(
            check_server_supplied_url(&public, "https://as.example.com", Step::Discovery).is_ok()
        );
        assert!(
            check_server_supplied_url(&local, "http://127.0.0.1:9000", Step::Discovery).is_ok()
        );
    }

    #[test]
    fn request_debug_redacts_authorization_and_body() {
        let r = HttpRequest {
            method: Method::Post,
            url: "https://as.example/token".into(),
            headers: vec![("authorization".into(), "Basic c2VjcmV0".into())],
            body: b"assertion=planted".to_vec(),
            max_response_bytes: 10,
        };
        let shown = format!("{r:?}");
        assert!(!shown.contains("c2VjcmV0"));
        assert!(!shown.contains("planted"));
        let resp = HttpResponse {
            status: 200,
            headers: vec![],
            body: b"{\"access_token\":\"planted\"}".to_vec(),
        };
        assert!(!format!("{resp:?}").contains("planted"));
    }

    #[test]
    fn phase_timeouts_never_exceed_the_total() {
        for (connect, read, total) in [
            (5_000, 10_000, 30_000),
            (400, 400, 400),
            (5_000, 10_000, 1_000),
            (1, 1, 1),
            (60_000, 60_000, 120_000),
        ] {
            let c = HttpConfig {
                connect_timeout: Duration::from_millis(connect),
                read_timeout: Duration::from_millis(read),
                total_timeout: Duration::from_millis(total),
                ..HttpConfig::default()
            };
            let p = PhaseTimeouts::of(&c);
            assert!(
                p.sum() <= c.total_timeout.max(Duration::from_millis(10)),
                "{p:?}"
            );
            assert!(
                p.recv_response <= c.read_timeout && p.resolve + p.connect <= c.connect_timeout
            );
            assert!(!p.recv_response.is_zero() && !p.connect.is_zero());
        }
        let d = PhaseTimeouts::of(&HttpConfig::default());
        assert_eq!(d.resolve + d.connect, Duration::from_secs(5));
        assert_eq!(d.recv_response, Duration::from_secs(10));
    }

    #[test]
    fn config_debug_hides_proxy_credentials() {
        let c = HttpConfig {
            proxy: Some("http://user:pw-planted@proxy.local:3128".into()),
            ..HttpConfig::default()
        };
        assert!(!format!("{c:?}").contains("pw-planted"));
    }
}
