//! The HTTP seam: one [`HttpClient`] trait, plain request/response types and the settings
//! ([`HttpConfig`], [`PhaseTimeouts`]). The URL policy and the SSRF checks live in
//! [`policy`] (re-exported here); the default implementation on pooled `ureq` agents
//! ([`UreqHttpClient`], with the [`DnsResolver`] seam and the address check of
//! [`AddressPolicy`]) in `http/ureq.rs`.
//!
//! Policy (https-only except loopback, redirect rules, size caps) is enforced by the core on
//! top of whichever client is plugged in, so a host-supplied client cannot weaken it. The
//! client only has to honour [`HttpRequest::max_response_bytes`] (the core checks it again)
//! and must not follow redirects itself; a client that resolves names itself should also honour
//! [`HttpRequest::address_policy`] and [`HttpRequest::timeout`], as the default one does.

use crate::error::Error;
#[cfg(doc)]
use crate::error::ErrorKind;
use std::fmt;
use std::time::Duration;
use zeroize::Zeroize;

pub mod policy;
#[cfg(feature = "ureq")]
mod ureq;

pub use self::policy::{
    check_server_supplied_url, check_url, is_global_ip, is_internal_host, is_loopback_host,
    is_loopback_ip,
};
#[cfg(feature = "ureq")]
pub use self::ureq::{DnsResolver, UreqHttpClient};

/// Which peer addresses a request may connect to (the SSRF guard of RFC 9728 §7.7 applied to
/// the addresses actually connected to, which also defeats DNS rebinding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Any address: the user's own configuration (IdP, the MCP server URL and its well-known
    /// documents) and URLs supplied by an internal server.
    #[default]
    Any,
    /// Only globally reachable addresses ([`is_global_ip`]): the URL was supplied by a public
    /// server (its PRM location, authorization servers, token endpoint). A client that resolves
    /// names itself must refuse to connect when the name resolves to any other address, and
    /// fail with [`ErrorKind::InsecureUrl`]. Through a proxy, which resolves names itself,
    /// only the form of the host is checked (by the core).
    GlobalOnly,
}

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
    /// Which addresses the request may connect to.
    pub address_policy: AddressPolicy,
    /// The most this exchange may take when less than [`HttpConfig::total_timeout`] is left
    /// of an overall deadline (discovery); `None`: the configured bounds.
    pub timeout: Option<Duration>,
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
            .field("address_policy", &self.address_policy)
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

    /// The addresses `host` resolves to, if this client resolves names itself (the default
    /// client does, through its DNS cache, so this costs no extra lookup after a request to
    /// the host). The core uses it to tell an internal MCP server (a name whose addresses are
    /// all non-global, e.g. on-premises behind split DNS) from a public one. `None` (the
    /// default): hosts are judged by their form only.
    fn resolve(&self, host: &str, port: u16) -> Option<Vec<std::net::IpAddr>> {
        let _ = (host, port);
        None
    }
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
    /// One deadline for a whole discovery (probe, PRM, every authorization-server candidate);
    /// `None` (default): twice [`HttpConfig::total_timeout`] (see
    /// [`HttpConfig::discovery_deadline`]).
    pub discovery_timeout: Option<Duration>,
}

impl HttpConfig {
    /// The deadline of one discovery: [`HttpConfig::discovery_timeout`], or twice
    /// [`HttpConfig::total_timeout`] (60 s by default) — room for one exchange that uses its
    /// whole budget plus the usual three fast ones, and a bound on what a server listing many
    /// authorization servers can cost.
    pub fn discovery_deadline(&self) -> Duration {
        self.discovery_timeout
            .unwrap_or_else(|| self.total_timeout.saturating_mul(2))
    }
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
            discovery_timeout: None,
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
            .field("max_metadata_redirects", &self.max_metadata_redirects)
            .field("discovery_timeout", &self.discovery_timeout)
            .finish()
    }
}

/// Also for proxy strings that are not URLs (`user:pw@host:3128`), which `url` parses as a
/// scheme `user` and would print whole.
fn redact_userinfo(u: &str) -> String {
    crate::config::redact_userinfo(u)
}

/// The bounds of one exchange: one deadline, [`HttpConfig::total_timeout`] from the start of
/// the request ([`PhaseTimeouts::total`], ureq's per-call timeout, which costs no more than
/// the phase checks), and a cap per phase under it: resolve + connect (together at most
/// `connect_timeout`, at most half the total), sending headers and body (a tenth of the rest
/// each), then waiting for the response head and reading the body (each at most
/// `read_timeout`). Reading the body therefore gets whatever the earlier phases left of the
/// total (a slow body under a short `timeout_ms` is not cut off by a fixed share), and no
/// exchange outlives the total.
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
    /// The deadline of the whole exchange.
    pub total: Duration,
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
        let recv_response = config.read_timeout.min(total);
        let recv_body = config.read_timeout.min(total);
        PhaseTimeouts {
            resolve,
            connect,
            send,
            recv_response,
            recv_body,
            total,
        }
    }

    /// The longest one exchange can take: the deadline.
    pub fn sum(&self) -> Duration {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_debug_redacts_authorization_and_body() {
        let r = HttpRequest {
            method: Method::Post,
            url: "https://as.example/token".into(),
            headers: vec![("authorization".into(), "Basic c2VjcmV0".into())],
            body: b"assertion=planted".to_vec(),
            max_response_bytes: 10,
            address_policy: AddressPolicy::Any,
            timeout: None,
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
    fn phase_timeouts_are_bounded_by_the_total() {
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
            let total = c.total_timeout.max(Duration::from_millis(10));
            assert_eq!(p.total, total);
            for phase in [p.resolve + p.connect, p.send, p.recv_response, p.recv_body] {
                assert!(phase <= total, "{p:?}");
            }
            // The body may use what the earlier phases left: up to `read_timeout`.
            assert_eq!(p.recv_body, c.read_timeout.min(total), "{p:?}");
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
