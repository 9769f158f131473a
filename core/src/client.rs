//! [`Client`]: the protocol engine's handle on the network. It applies idjag's HTTP policy on
//! top of any [`HttpClient`]: https-or-loopback URLs, bounded redirects on metadata GETs (none
//! on token POSTs), response size caps, JSON-only responses, structured events, and the
//! discovery cache.

use crate::cache::MetadataCache;
use crate::clock::{SharedClock, SystemClock};
use crate::error::{sanitize_server_text, Error, ErrorKind, OAuthErrorResponse, Result, Step};
use crate::http::AddressPolicy;
use crate::http::{check_url, HttpClient, HttpConfig, HttpRequest, HttpResponse, Method};
use serde::de::DeserializeOwned;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One HTTP exchange, reported to the event hook. Never contains a secret: the URL has its
/// query and fragment removed, and no header or body is included.
///
/// Serializes (serde) to the JSON object documented in docs/GUIDE.md "HTTP event (JSON)":
/// `{"step", "method", "url", "status", "duration_ms", "bytes", "error"}`.
#[derive(Clone, Debug)]
pub struct HttpEvent {
    /// The protocol step the request belongs to.
    pub step: Step,
    /// Method.
    pub method: Method,
    /// URL without query string or fragment.
    pub url: String,
    /// Response status, if a response arrived.
    pub status: Option<u16>,
    /// Wall time of the exchange.
    pub duration: Duration,
    /// Response body size in bytes.
    pub bytes: usize,
    /// The error code when the exchange failed at the transport level.
    pub error: Option<&'static str>,
    /// A stable code for something worth knowing about this request, e.g.
    /// `auth_method_not_advertised` ([`crate::exchange::NOTE_AUTH_METHOD_NOT_ADVERTISED`]).
    pub note: Option<&'static str>,
}

impl serde::Serialize for HttpEvent {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("HttpEvent", 8)?;
        s.serialize_field("step", self.step.code())?;
        s.serialize_field("method", self.method.as_str())?;
        s.serialize_field("url", &self.url)?;
        s.serialize_field("status", &self.status)?;
        // Milliseconds with microsecond precision.
        s.serialize_field("duration_ms", &(self.duration.as_micros() as f64 / 1000.0))?;
        s.serialize_field("bytes", &self.bytes)?;
        s.serialize_field("error", &self.error)?;
        s.serialize_field("note", &self.note)?;
        s.end()
    }
}

/// A subscriber to [`HttpEvent`]s. Called synchronously on the requesting thread; keep it cheap.
pub type EventHook = Arc<dyn Fn(&HttpEvent) + Send + Sync>;

pub(crate) struct ClientInner {
    pub(crate) http: Arc<dyn HttpClient>,
    pub(crate) config: HttpConfig,
    pub(crate) clock: SharedClock,
    pub(crate) events: Vec<EventHook>,
    pub(crate) cache: MetadataCache,
    /// Token endpoints accepted from public MCP servers: leg 2 to them connects only to
    /// globally reachable addresses, whatever their names resolve to later (DNS rebinding).
    pub(crate) pinned: Mutex<PinnedEndpoints>,
}

/// A bounded set of URLs, oldest forgotten first.
#[derive(Default)]
pub(crate) struct PinnedEndpoints {
    set: HashSet<String>,
    order: VecDeque<String>,
}

/// Most token endpoints pinned to global addresses per client (one per authorization server
/// discovered through a public MCP server); the oldest pin is dropped beyond it.
const MAX_PINNED: usize = 1024;

impl PinnedEndpoints {
    fn insert(&mut self, url: &str) {
        if self.set.contains(url) {
            return;
        }
        if self.order.len() >= MAX_PINNED {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(url.to_string());
        self.order.push_back(url.to_string());
    }
}

/// One deadline over several requests (a discovery): each request gets at most the time
/// left, and none starts after it has passed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    at: Instant,
    total: Duration,
}

impl Deadline {
    pub(crate) fn after(total: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + total,
            total,
        }
    }

    /// The time left, or a `timeout` error once it has passed.
    pub(crate) fn remaining(&self, step: Step) -> Result<Duration> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::new(
                ErrorKind::Timeout,
                step,
                format!(
                    "discovery did not finish within its {} ms deadline (`discovery_timeout`)",
                    self.total.as_millis()
                ),
            ));
        }
        Ok(left)
    }
}

/// The protocol client: discovery, token exchange (leg 1), jwt-bearer redemption (leg 2).
///
/// `Client` is cheap to clone (shared state) and `Send + Sync`: one instance serves every
/// thread of a process and keeps one pool of keep-alive connections.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Client>();
};

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    config: HttpConfig,
    http: Option<Arc<dyn HttpClient>>,
    clock: Option<SharedClock>,
    events: Vec<EventHook>,
    cache_capacity: Option<usize>,
    default_metadata_ttl: Option<Duration>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// HTTP settings (timeouts, caps, CA roots, proxy) for the default client and the policy.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// Plugs a custom HTTP client instead of the default ureq agent. idjag's policy still
    /// applies on top of it.
    pub fn http_client(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = Some(http);
        self
    }

    /// Injects a clock (tests).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Adds an [`HttpEvent`] subscriber.
    pub fn on_event(mut self, hook: EventHook) -> Self {
        self.events.push(hook);
        self
    }

    /// Most metadata documents kept in the discovery cache (default 256).
    pub fn cache_capacity(mut self, n: usize) -> Self {
        self.cache_capacity = Some(n);
        self
    }

    /// TTL of cached metadata when the server sends no `Cache-Control: max-age` (default 1 h).
    pub fn default_metadata_ttl(mut self, ttl: Duration) -> Self {
        self.default_metadata_ttl = Some(ttl);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        let http: Arc<dyn HttpClient> = match self.http {
            Some(h) => h,
            None => default_http(&self.config)?,
        };
        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                cache: MetadataCache::new(
                    self.cache_capacity.unwrap_or(256),
                    self.default_metadata_ttl
                        .unwrap_or(Duration::from_secs(3600)),
                ),
                config: self.config,
                events: self.events,
                pinned: Mutex::new(PinnedEndpoints::default()),
            }),
        })
    }
}

#[cfg(feature = "ureq")]
fn default_http(config: &HttpConfig) -> Result<Arc<dyn HttpClient>> {
    Ok(Arc::new(crate::http::UreqHttpClient::new(config)?))
}

#[cfg(not(feature = "ureq"))]
fn default_http(_: &HttpConfig) -> Result<Arc<dyn HttpClient>> {
    Err(Error::configuration(
        "idjag was built without the `ureq` feature: plug an HttpClient",
    ))
}

/// A parsed JSON document with its caching lifetime.
pub(crate) struct Fetched<T> {
    pub(crate) value: T,
    /// `Cache-Control: max-age` in seconds; `Some(0)` for `no-store`/`no-cache`.
    pub(crate) max_age: Option<u64>,
}

/// A URL for an error message: no query or fragment, sanitized and truncated
/// ([`crate::error::sanitize_server_text`]).
pub(crate) fn shown_url(url: &str) -> String {
    sanitize_server_text(&loggable_url(url))
}

/// Strips query and fragment for logs and events.
pub(crate) fn loggable_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "[invalid url]".into(),
    }
}

fn is_json_content_type(ct: Option<&str>) -> bool {
    let Some(ct) = ct else { return false };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub(crate) fn cache_max_age_of(resp: &HttpResponse) -> Option<u64> {
    let cc = resp.header("cache-control")?;
    let mut max_age = None;
    for directive in cc.split(',') {
        let d = directive.trim().to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return Some(0);
        }
        if let Some(v) = d.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    max_age
}

impl Client {
    /// A client with the default HTTP stack and settings.
    pub fn new() -> Result<Client> {
        Client::builder().build()
    }

    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The HTTP settings in force.
    pub fn http_config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// The clock in use.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Drops every cached metadata document.
    pub fn clear_cache(&self) {
        self.inner.cache.clear();
    }

    /// Pins `token_endpoint` (accepted from a public MCP server) to globally reachable
    /// addresses for leg 2.
    pub(crate) fn pin_global(&self, token_endpoint: &str) {
        self.inner
            .pinned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token_endpoint);
    }

    fn is_pinned(&self, url: &str) -> bool {
        self.inner
            .pinned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set
            .contains(url)
    }

    /// Whether the server at `url` is internal (its URLs may lead to internal addresses) —
    /// by the form of its host ([`crate::http::is_internal_host`]), or, for a name, because
    /// every address it resolves to (through the HTTP client's DNS cache, the addresses its
    /// requests connect to) is not globally reachable. A name that cannot be resolved counts
    /// as public.
    pub(crate) fn is_internal_server(&self, url: &url::Url) -> bool {
        match url.host() {
            None => false,
            Some(host) if crate::http::is_internal_host(&host) => true,
            Some(url::Host::Domain(name)) => {
                let port = url.port_or_known_default().unwrap_or(443);
                self.inner
                    .http
                    .resolve(name.strip_suffix('.').unwrap_or(name), port)
                    .is_some_and(|addrs| {
                        !addrs.is_empty() && addrs.iter().all(|ip| !crate::http::is_global_ip(*ip))
                    })
            }
            Some(_) => false,
        }
    }

    fn emit(&self, event: HttpEvent) {
        log::debug!(
            "idjag {} {} {} -> {:?} in {:?}",
            event.step,
            event.method.as_str(),
            event.url,
            event.status,
            event.duration
        );
        for hook in &self.inner.events {
            hook(&event);
        }
    }

    /// Sends one request under the policy (URL check, size cap, event). No redirect handling.
    pub(crate) fn send(&self, step: Step, request: HttpRequest) -> Result<HttpResponse> {
        self.send_noted(step, request, None)
    }

    /// [`Client::send`] with a note for the event.
    pub(crate) fn send_noted(
        &self,
        step: Step,
        mut request: HttpRequest,
        note: Option<&'static str>,
    ) -> Result<HttpResponse> {
        check_url(&request.url, step)?;
        if step == Step::AsGrant
            && request.address_policy == AddressPolicy::Any
            && self.is_pinned(&request.url)
        {
            request.address_policy = AddressPolicy::GlobalOnly;
        }
        let started = Instant::now();
        let result = self.inner.http.execute(&request);
        let duration = started.elapsed();
        let url = loggable_url(&request.url);
        match result {
            Ok(resp) => {
                self.emit(HttpEvent {
                    step,
                    method: request.method,
                    url,
                    status: Some(resp.status),
                    duration,
                    bytes: resp.body.len(),
                    error: None,
                    note,
                });
                if resp.body.len() > request.max_response_bytes {
                    return Err(Error::new(
                        ErrorKind::ResponseTooLarge,
                        step,
                        format!(
                            "response body exceeds the {}-byte limit",
                            request.max_response_bytes
                        ),
                    )
                    .with_status(resp.status));
                }
                Ok(resp)
            }
            Err(e) => {
                self.emit(HttpEvent {
                    step,
                    method: request.method,
                    url,
                    status: None,
                    duration,
                    bytes: 0,
                    error: Some(e.code()),
                    note,
                });
                Err(e.with_step(step))
            }
        }
    }

    /// GET a JSON metadata document, following at most `max_metadata_redirects` same-origin
    /// redirects. Returns the final response (any status).
    pub(crate) fn get_metadata(&self, step: Step, url: &str) -> Result<HttpResponse> {
        self.get_metadata_with(step, url, AddressPolicy::Any, None)
    }

    /// [`Client::get_metadata`] under an address policy and an overall deadline.
    pub(crate) fn get_metadata_with(
        &self,
        step: Step,
        url: &str,
        address_policy: AddressPolicy,
        deadline: Option<&Deadline>,
    ) -> Result<HttpResponse> {
        let origin = check_url(url, step)?.origin();
        let mut current = url.to_string();
        let mut hops = 0u8;
        loop {
            let resp = self.send(
                step,
                HttpRequest {
                    method: Method::Get,
                    url: current.clone(),
                    headers: vec![("accept".into(), "application/json".into())],
                    body: Vec::new(),
                    max_response_bytes: self.inner.config.max_metadata_bytes,
                    address_policy,
                    timeout: deadline.map(|d| d.remaining(step)).transpose()?,
                },
            )?;
            if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            hops += 1;
            if hops > self.inner.config.max_metadata_redirects {
                return Err(Error::new(
                    ErrorKind::RedirectRefused,
                    step,
                    format!("too many redirects fetching {}", shown_url(url)),
                ));
            }
            let location = resp.header("location").ok_or_else(|| {
                Error::new(
                    ErrorKind::RedirectRefused,
                    step,
                    "redirect without a Location",
                )
                .with_status(resp.status)
            })?;
            let next = url::Url::parse(&current)
                .and_then(|base| base.join(location))
                .map_err(|_| {
                    Error::new(
                        ErrorKind::RedirectRefused,
                        step,
                        "redirect to an invalid URL",
                    )
                })?;
            let next_checked = check_url(next.as_str(), step)?;
            if next_checked.origin() != origin {
                return Err(Error::new(
                    ErrorKind::RedirectRefused,
                    step,
                    format!(
                        "refused a cross-origin redirect from {} to {}",
                        shown_url(url),
                        shown_url(next.as_str())
                    ),
                ));
            }
            current = next_checked.to_string();
        }
    }

    /// GET and parse a JSON metadata document; non-200 is an error.
    pub(crate) fn get_json<T: DeserializeOwned>(
        &self,
        step: Step,
        url: &str,
    ) -> Result<Fetched<T>> {
        let resp = self.get_metadata(step, url)?;
        if resp.status != 200 {
            return Err(status_error(step, &resp, url));
        }
        let value = parse_json_body(step, &resp, "metadata")?;
        Ok(Fetched {
            value,
            max_age: cache_max_age_of(&resp),
        })
    }
}

/// Classifies a non-success response: an RFC 6749 §5.2 body becomes
/// [`ErrorKind::OauthError`], anything else [`ErrorKind::HttpStatus`] with a short,
/// sanitized snippet of the body.
pub(crate) fn status_error(step: Step, resp: &HttpResponse, url: &str) -> Error {
    if let Some(body) = parse_oauth_error(&resp.body) {
        return Error::oauth(step, resp.status, body);
    }
    let snippet = String::from_utf8_lossy(&resp.body[..resp.body.len().min(256)]).into_owned();
    let snippet = sanitize_server_text(snippet.trim());
    let mut msg = format!("{} answered HTTP {}", shown_url(url), resp.status);
    if !snippet.is_empty() {
        msg.push_str(&format!(": {snippet}"));
    }
    let mut e = Error::new(ErrorKind::HttpStatus, step, msg).with_status(resp.status);
    if resp.status >= 500 || resp.status == 429 {
        e = e.with_action(crate::Action::Retry);
    }
    e
}

/// Parses an RFC 6749 §5.2 error body, if the bytes are one.
pub(crate) fn parse_oauth_error(body: &[u8]) -> Option<OAuthErrorResponse> {
    #[derive(serde::Deserialize)]
    struct Raw {
        error: serde_json::Value,
        #[serde(default)]
        error_description: Option<serde_json::Value>,
        #[serde(default)]
        error_uri: Option<serde_json::Value>,
    }
    let raw: Raw = serde_json::from_slice(body).ok()?;
    let error = raw.error.as_str()?.to_string();
    if error.is_empty() {
        return None;
    }
    let text = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(sanitize_server_text));
    Some(OAuthErrorResponse {
        error: crate::error::OAuthErrorCode::parse(&sanitize_server_text(&error)),
        error_description: text(raw.error_description),
        error_uri: text(raw.error_uri),
    })
}

/// Parses a 2xx JSON body into `T` (JSON only). Errors name the field path,
/// never a value from the body (2xx bodies may hold tokens).
pub(crate) fn parse_json_body<T: DeserializeOwned>(
    step: Step,
    resp: &HttpResponse,
    what: &str,
) -> Result<T> {
    if !is_json_content_type(resp.header("content-type")) {
        return Err(Error::new(
            ErrorKind::ResponseInvalid,
            step,
            format!(
                "{what} response is not JSON (content type `{}`)",
                sanitize_server_text(resp.header("content-type").unwrap_or("none"))
            ),
        )
        .with_status(resp.status));
    }
    if resp.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::new(
            ErrorKind::ResponseInvalid,
            step,
            format!("{what} response body is empty"),
        )
        .with_status(resp.status));
    }
    let de = &mut serde_json::Deserializer::from_slice(&resp.body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        // The path names members of the server's document: sanitized like any server text.
        let path = sanitize_server_text(&e.path().to_string());
        let inner = e.into_inner();
        let what_failed = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "is not valid JSON".to_string()
            }
            _ if path == "." => "has the wrong shape or misses a required member".to_string(),
            _ => format!("has an invalid or missing member `{path}`"),
        };
        Error::new(
            ErrorKind::ResponseInvalid,
            step,
            format!("{what} response {what_failed}"),
        )
        .with_status(resp.status)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, ct: &str, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), ct.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type(Some("application/json")));
        assert!(is_json_content_type(Some(
            "application/json; charset=UTF-8"
        )));
        assert!(is_json_content_type(Some("application/jwk-set+json")));
        assert!(!is_json_content_type(Some("text/html")));
        assert!(!is_json_content_type(None));
    }

    #[test]
    fn parse_errors_never_echo_values() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            expires_in: u64,
        }
        let r = resp(200, "application/json", r#"{"expires_in":"eyJplanted"}"#);
        let e = parse_json_body::<T>(Step::AsGrant, &r, "token").unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("eyJplanted"), "{shown}");
        assert!(shown.contains("expires_in"), "{shown}");
        assert_eq!(e.kind(), ErrorKind::ResponseInvalid);
    }

    #[test]
    fn oauth_error_bodies_are_parsed_and_unknown_codes_kept() {
        let o = parse_oauth_error(
            br#"{"error":"vendor_thing","error_description":"x","error_uri":"https://e"}"#,
        )
        .expect("parsed");
        assert_eq!(o.error.as_str(), "vendor_thing");
        assert_eq!(o.error_description.as_deref(), Some("x"));
        assert!(parse_oauth_error(b"<html>").is_none());
        assert!(parse_oauth_error(br#"{"error":42}"#).is_none());
        let r = resp(503, "text/plain", "down for maintenance");
        let e = status_error(Step::Discovery, &r, "https://x/y?secret=1");
        assert_eq!(e.kind(), ErrorKind::HttpStatus);
        assert_eq!(e.action(), crate::Action::Retry);
        assert!(!e.to_string().contains("secret=1"));
    }

    #[test]
    fn http_event_json_shape() {
        let e = HttpEvent {
            step: Step::AsGrant,
            method: Method::Post,
            url: "https://as.example/token".into(),
            status: Some(200),
            duration: Duration::from_micros(1_234_567),
            bytes: 321,
            error: None,
            note: None,
        };
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({"step": "as_grant", "method": "POST", "url": "https://as.example/token",
                               "status": 200, "duration_ms": 1234.567, "bytes": 321, "error": null, "note": null})
        );
        let failed = HttpEvent {
            status: None,
            error: Some("timeout"),
            ..e
        };
        let v = serde_json::to_value(&failed).expect("json");
        assert_eq!(v["status"], serde_json::Value::Null);
        assert_eq!(v["error"], "timeout");
    }

    #[test]
    fn cache_control() {
        let mut r = resp(200, "application/json", "{}");
        r.headers
            .push(("Cache-Control".into(), "public, max-age=600".into()));
        assert_eq!(cache_max_age_of(&r), Some(600));
        r.headers.pop();
        r.headers.push(("Cache-Control".into(), "no-store".into()));
        assert_eq!(cache_max_age_of(&r), Some(0));
    }
}
