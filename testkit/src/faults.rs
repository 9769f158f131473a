//! Endpoints, fault injection and request/connection counters.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;

/// One of the three servers of the kit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The enterprise identity provider.
    Idp,
    /// The MCP server's authorization server.
    As,
    /// The MCP server (resource server).
    Mcp,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Idp, Role::As, Role::Mcp];

    /// `"idp"`, `"as"` or `"mcp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Idp => "idp",
            Role::As => "as",
            Role::Mcp => "mcp",
        }
    }
}

/// A counted, fault-injectable endpoint. The serde/wire name is the snake_case form
/// (`idp_metadata`, `as_token`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// IdP `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
    IdpMetadata,
    /// IdP `/jwks`.
    IdpJwks,
    /// IdP `/token`.
    IdpToken,
    /// IdP `/authorize` (auto-approving authorization endpoint).
    IdpAuthorize,
    /// Every AS metadata URL (RFC 8414 and OIDC variants).
    AsMetadata,
    /// AS `/token` (or `{as_path}/token`).
    AsToken,
    /// Protected-resource metadata (path-inserted and root).
    Prm,
    /// The MCP endpoint `/mcp` (every method).
    Mcp,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 8] = [
        Endpoint::IdpMetadata,
        Endpoint::IdpJwks,
        Endpoint::IdpToken,
        Endpoint::IdpAuthorize,
        Endpoint::AsMetadata,
        Endpoint::AsToken,
        Endpoint::Prm,
        Endpoint::Mcp,
    ];

    /// The snake_case name used on the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::IdpMetadata => "idp_metadata",
            Endpoint::IdpJwks => "idp_jwks",
            Endpoint::IdpToken => "idp_token",
            Endpoint::IdpAuthorize => "idp_authorize",
            Endpoint::AsMetadata => "as_metadata",
            Endpoint::AsToken => "as_token",
            Endpoint::Prm => "prm",
            Endpoint::Mcp => "mcp",
        }
    }

    /// Parses [`Endpoint::as_str`].
    pub fn parse(s: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The server that hosts this endpoint.
    pub fn role(self) -> Role {
        match self {
            Endpoint::IdpMetadata
            | Endpoint::IdpJwks
            | Endpoint::IdpToken
            | Endpoint::IdpAuthorize => Role::Idp,
            Endpoint::AsMetadata | Endpoint::AsToken => Role::As,
            Endpoint::Prm | Endpoint::Mcp => Role::Mcp,
        }
    }
}

/// A fault to inject on an endpoint.
///
/// JSON form (admin API): `{"type": "status", "status": 503, "body": "..."}`,
/// `{"type": "delay", "ms": 200}`, `{"type": "wrong_issuer", "issuer": "https://evil"}`,
/// `{"type": "patch", "set": {"member": value-or-null}}`, `{"type": "oversized", "bytes": 2097152}`,
/// `{"type": "malformed_json"}`, `{"type": "wrong_content_type", "content_type": "text/html"}`,
/// `{"type": "redirect", "location": "https://…", "status": 302}`, `{"type": "drop_connection"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Fault {
    /// Sleep before handling (combines with the other faults).
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Answer with this status and body instead of the real response.
    Status {
        /// HTTP status.
        status: u16,
        /// Response body (sent as-is).
        #[serde(default)]
        body: String,
        /// `Content-Type` (default `application/json`).
        #[serde(default)]
        content_type: Option<String>,
        /// Extra response headers.
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
    /// Replace the `issuer` member of a JSON response (metadata) with this value.
    WrongIssuer {
        /// The issuer to serve.
        issuer: String,
    },
    /// Set (or, with `null`, remove) top-level members of a JSON-object response.
    Patch {
        /// Members to set; `null` removes the member.
        set: Map<String, Value>,
    },
    /// Pad the real JSON response to at least this many bytes (an `x_padding` member, or
    /// trailing spaces for non-objects). The body stays valid JSON.
    Oversized {
        /// Minimum body size in bytes (e.g. 2 MiB = 2097152).
        bytes: usize,
    },
    /// Replace the body with truncated, unparseable JSON (status and content type kept).
    MalformedJson,
    /// Keep the body but change the `Content-Type` (default `text/html`).
    WrongContentType {
        /// The content type to send.
        #[serde(default)]
        content_type: Option<String>,
    },
    /// Answer with a redirect to `location`.
    Redirect {
        /// The `Location` header.
        location: String,
        /// Status (default 302).
        #[serde(default)]
        status: Option<u16>,
    },
    /// Answer `500` with an empty body and `Connection: close` (the closest tiny_http gets to
    /// a dropped connection).
    DropConnection,
}

impl Fault {
    /// Kind name (faults of the same kind on one endpoint replace each other).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Delay { .. } => "delay",
            Fault::Status { .. } => "status",
            Fault::WrongIssuer { .. } => "wrong_issuer",
            Fault::Patch { .. } => "patch",
            Fault::Oversized { .. } => "oversized",
            Fault::MalformedJson => "malformed_json",
            Fault::WrongContentType { .. } => "wrong_content_type",
            Fault::Redirect { .. } => "redirect",
            Fault::DropConnection => "drop_connection",
        }
    }

    /// A `Status` fault with a JSON body.
    pub fn status(status: u16, body: impl Into<String>) -> Fault {
        Fault::Status {
            status,
            body: body.into(),
            content_type: None,
            headers: Vec::new(),
        }
    }

    /// A `Delay` fault.
    pub fn delay_ms(ms: u64) -> Fault {
        Fault::Delay { ms }
    }
}

/// A fault plus how many more requests it applies to (`None` = until cleared).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The fault.
    pub fault: Fault,
    /// Remaining applications; `None` means unlimited.
    pub remaining: Option<u32>,
}

#[derive(Default, Debug)]
pub(crate) struct FaultTable {
    rules: BTreeMap<Endpoint, Vec<FaultRule>>,
}

impl FaultTable {
    pub fn set(&mut self, ep: Endpoint, fault: Fault, times: Option<u32>) {
        let list = self.rules.entry(ep).or_default();
        list.retain(|r| r.fault.kind() != fault.kind());
        list.push(FaultRule {
            fault,
            remaining: times,
        });
    }

    pub fn clear(&mut self, ep: Endpoint) {
        self.rules.remove(&ep);
    }

    pub fn clear_all(&mut self) {
        self.rules.clear();
    }

    pub fn snapshot(&self) -> BTreeMap<Endpoint, Vec<FaultRule>> {
        self.rules.clone()
    }

    /// The faults to apply to one request on `ep` (decrementing counted faults).
    pub fn take(&mut self, ep: Endpoint) -> Vec<Fault> {
        let Some(list) = self.rules.get_mut(&ep) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for r in list.iter_mut() {
            match r.remaining {
                Some(0) => {}
                Some(n) => {
                    r.remaining = Some(n - 1);
                    out.push(r.fault.clone());
                }
                None => out.push(r.fault.clone()),
            }
        }
        list.retain(|r| r.remaining != Some(0));
        if list.is_empty() {
            self.rules.remove(&ep);
        }
        out
    }
}

/// Requests and distinct TCP connections (client `ip:port` pairs) seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// Number of requests.
    pub requests: u64,
    /// Number of distinct TCP connections (distinct peer addresses).
    pub connections: u64,
}

/// A snapshot of the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Per endpoint (every endpoint is present, possibly with zeros).
    pub endpoints: BTreeMap<Endpoint, Count>,
    /// Per server, over all its paths (including unknown paths, excluding the admin API).
    pub servers: BTreeMap<Role, Count>,
}

impl Counters {
    /// Requests seen on `ep`.
    pub fn requests(&self, ep: Endpoint) -> u64 {
        self.endpoints.get(&ep).map(|c| c.requests).unwrap_or(0)
    }

    /// Distinct TCP connections seen on `ep`.
    pub fn connections(&self, ep: Endpoint) -> u64 {
        self.endpoints.get(&ep).map(|c| c.connections).unwrap_or(0)
    }

    /// Counts for a whole server.
    pub fn server(&self, role: Role) -> Count {
        self.servers.get(&role).copied().unwrap_or_default()
    }
}

#[derive(Default, Debug)]
struct CountSet {
    requests: u64,
    peers: HashSet<SocketAddr>,
}

impl CountSet {
    fn hit(&mut self, peer: Option<SocketAddr>) {
        self.requests += 1;
        if let Some(p) = peer {
            self.peers.insert(p);
        }
    }

    fn count(&self) -> Count {
        Count {
            requests: self.requests,
            connections: self.peers.len() as u64,
        }
    }
}

#[derive(Default, Debug)]
pub(crate) struct CounterTable {
    endpoints: BTreeMap<Endpoint, CountSet>,
    servers: BTreeMap<Role, CountSet>,
}

impl CounterTable {
    pub fn hit(&mut self, role: Role, ep: Option<Endpoint>, peer: Option<SocketAddr>) {
        self.servers.entry(role).or_default().hit(peer);
        if let Some(ep) = ep {
            self.endpoints.entry(ep).or_default().hit(peer);
        }
    }

    pub fn snapshot(&self) -> Counters {
        Counters {
            endpoints: Endpoint::ALL
                .into_iter()
                .map(|e| {
                    (
                        e,
                        self.endpoints
                            .get(&e)
                            .map(CountSet::count)
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            servers: Role::ALL
                .into_iter()
                .map(|r| {
                    (
                        r,
                        self.servers
                            .get(&r)
                            .map(CountSet::count)
                            .unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }

    pub fn reset(&mut self) {
        self.endpoints.clear();
        self.servers.clear();
    }
}

/// One served request, for assertions on discovery order etc. No headers or bodies are
/// recorded (they may hold secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The server.
    pub role: Role,
    /// The endpoint, if the path is a known one.
    pub endpoint: Option<Endpoint>,
    /// HTTP method.
    pub method: String,
    /// Path (without the query string).
    pub path: String,
    /// Response status.
    pub status: u16,
    /// The OAuth `error` code sent, if any.
    pub error: Option<String>,
    /// Internal detail (e.g. which ID-JAG check failed); never sent on the wire.
    pub detail: Option<String>,
}
