//! Side-by-side measurement of two ways to call an enterprise-managed MCP server from rmcp,
//! against the same running testkit (`idjag-testkit serve --json`; `bench.sh` runs both in
//! one go and prints the table):
//!
//! - `--client idjag`: rmcp's streamable HTTP client with `idjag_rmcp::IdjagHttpClient`
//!   (discovery, cache, renewal, challenge handling in the idjag `Session`);
//! - `--client rmcp`: rmcp's own enterprise-managed client (`auth-enterprise-managed`:
//!   `EmaExchangeRequest`, leg 1 + leg 2), its token set as the transport's static
//!   `auth_header`. Everything around it is what an application has to write itself: rmcp
//!   has no discovery (the endpoints come from the kit's JSON, as from an administrator), no
//!   cache and no renewal, so a new token means a new exchange and a new transport.
//!
//! Scenarios, each `--iterations` times (median latency, mean requests and allocations):
//! - `cold`: from nothing to the first `tools/call` answered (token + MCP session);
//! - `hot`: one more `tools/call` on the connected client (cached token);
//! - `renewal`: the token is due for renewal (idjag: the session's clock moved past the
//!   renewal point; rmcp: the application's own expiry check) → the next `tools/call`;
//! - `reauth`: the MCP server revoked the token (`revoke_access_tokens`) → the next
//!   `tools/call` succeeds again (idjag: 401 → `handle_challenge` → retry; rmcp: the
//!   application sees `AuthRequired`, exchanges again and reconnects).
//!
//! Requests are the kit's counters per endpoint (admin API, not counted itself; the AS's own
//! JWKS fetches left out: they are not the client's). Memory: the
//! process's peak RSS (`VmHWM`) after all scenarios, and heap allocations per scenario from a
//! counting global allocator. Prints one JSON line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idjag::clock::ManualClock;
use oauth2::ClientSecret;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::auth::enterprise::{
    EmaAuthorizationServer, EmaClientAuthentication, EmaExchangeRequest,
};
use rmcp::transport::auth::{default_oauth_http_client, OAuthHttpClient};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Map, Value};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        ALLOC_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        ALLOC_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Client = RunningService<RoleClient, ()>;

/// The kit's admin API (not counted by the kit).
struct Admin {
    url: String,
    http: reqwest::Client,
}

impl Admin {
    async fn post(&self, path: &str) -> Result<Value, BoxError> {
        let r = self
            .http
            .post(format!("{}/{path}", self.url))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await?
            .error_for_status()?;
        Ok(r.json().await?)
    }

    /// Requests per endpoint since the last reset.
    async fn counters(&self) -> Result<Map<String, Value>, BoxError> {
        let r: Value = self
            .http
            .get(format!("{}/counters", self.url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut out = Map::new();
        for (ep, c) in r["endpoints"].as_object().ok_or("no endpoints")? {
            let n = c["requests"].as_u64().unwrap_or(0);
            // The kit AS's verifier fetches the IdP JWKS itself: not a client request.
            if n > 0 && ep != "idp_jwks" {
                out.insert(ep.clone(), json!(n));
            }
        }
        Ok(out)
    }
}

async fn whoami(client: &Client) -> Result<(), BoxError> {
    let r = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await?;
    if r.structured_content.is_none() {
        return Err("whoami without structured content".into());
    }
    Ok(())
}

/// One client's way of doing the four scenarios.
trait Contender {
    async fn cold(&mut self) -> Result<(), BoxError>;
    async fn hot(&mut self) -> Result<(), BoxError>;
    async fn renewal(&mut self) -> Result<(), BoxError>;
    async fn reauth(&mut self) -> Result<(), BoxError>;
}

/// rmcp + idjag-rmcp.
struct Idjag {
    kit: Value,
    clock: ManualClock,
    client: Option<Client>,
}

impl Idjag {
    fn session(&self) -> Result<idjag::Session, BoxError> {
        let k = &self.kit;
        let config = json!({
            "idp": {"issuer": k["idp_issuer"], "client_id": k["context"]["idp_client_id"],
                    "client_secret": k["context"]["idp_client_secret"]},
            "subject_token": k["context"]["idp_id_token"],
            "client": {"client_id": k["context"]["client_id"], "client_secret": k["context"]["client_secret"]},
            "client_issuers": [k["as_issuer"]],
        });
        let config = idjag::SessionConfig::from_json(&config.to_string())?;
        Ok(idjag::Session::builder(config)
            .clock(Arc::new(self.clock.clone()))
            .build()?)
    }

    fn client(&self) -> Result<&Client, BoxError> {
        self.client.as_ref().ok_or_else(|| "not connected".into())
    }
}

impl Contender for Idjag {
    async fn cold(&mut self) -> Result<(), BoxError> {
        if let Some(old) = self.client.take() {
            old.cancel().await?;
        }
        let url = self.kit["mcp_url"].as_str().ok_or("mcp_url")?.to_owned();
        let client = ().serve(idjag_rmcp::transport(self.session()?, url)).await?;
        whoami(&client).await?;
        self.client = Some(client);
        Ok(())
    }
    async fn hot(&mut self) -> Result<(), BoxError> {
        whoami(self.client()?).await
    }
    async fn renewal(&mut self) -> Result<(), BoxError> {
        // Past the renewal point of a 300 s token (at most half its lifetime before expiry).
        self.clock.advance(Duration::from_secs(250));
        whoami(self.client()?).await
    }
    async fn reauth(&mut self) -> Result<(), BoxError> {
        whoami(self.client()?).await
    }
}

/// rmcp's enterprise-managed client, with what an application must add around it.
struct Rmcp {
    kit: Value,
    http: Box<dyn OAuthHttpClient>,
    /// The MCP transport's HTTP client, kept across reconnections (a cold start makes a
    /// new one, as the idjag side does).
    mcp_http: reqwest::Client,
    client: Option<Client>,
}

impl Rmcp {
    /// Leg 1 + leg 2 with the endpoints an administrator configured, then a transport with
    /// the token as its static `auth_header`, connected, and the call.
    async fn connect_and_call(&mut self, cold: bool) -> Result<(), BoxError> {
        if cold {
            self.http = Box::new(default_oauth_http_client()?);
            self.mcp_http = reqwest::Client::new();
        }
        if let Some(old) = self.client.take() {
            old.cancel().await?;
        }
        let k = &self.kit;
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let ctx = &k["context"];
        let idp = EmaAuthorizationServer::new(
            s(&k["idp_issuer"]),
            s(&k["idp_token_endpoint"]),
            s(&ctx["idp_client_id"]),
        )
        .with_client_authentication(EmaClientAuthentication::ClientSecretBasic(
            ClientSecret::new(s(&ctx["idp_client_secret"])),
        ));
        let resource_as = EmaAuthorizationServer::new(
            s(&k["as_issuer"]),
            s(&k["as_token_endpoint"]),
            s(&ctx["client_id"]),
        )
        .with_client_authentication(EmaClientAuthentication::ClientSecretBasic(
            ClientSecret::new(s(&ctx["client_secret"])),
        ));
        let (url, id_token) = (s(&k["mcp_url"]), s(&ctx["idp_id_token"]));
        let token = EmaExchangeRequest::new_with_id_token(idp, resource_as, &url, &id_token)
            .with_scopes(["mcp:read", "mcp:write"])
            .exchange(self.http.as_ref(), self.http.as_ref())
            .await?;
        let transport = StreamableHttpClientTransport::with_client(
            self.mcp_http.clone(),
            StreamableHttpClientTransportConfig::with_uri(url)
                .auth_header(token.access_token.secret().clone()),
        );
        let client = ().serve(transport).await?;
        whoami(&client).await?;
        self.client = Some(client);
        Ok(())
    }
}

impl Contender for Rmcp {
    async fn cold(&mut self) -> Result<(), BoxError> {
        self.connect_and_call(true).await
    }
    async fn hot(&mut self) -> Result<(), BoxError> {
        whoami(self.client.as_ref().ok_or("not connected")?).await
    }
    async fn renewal(&mut self) -> Result<(), BoxError> {
        // rmcp has no renewal: the application exchanges again and rebuilds the transport
        // (the token is fixed in its config).
        self.connect_and_call(false).await
    }
    async fn reauth(&mut self) -> Result<(), BoxError> {
        let client = self.client.as_ref().ok_or("not connected")?;
        match whoami(client).await {
            Ok(()) => Err("the revoked token was accepted".into()),
            Err(e) if is_auth_required(e.as_ref()) => self.connect_and_call(false).await,
            Err(e) => Err(e),
        }
    }
}

fn is_auth_required(e: &(dyn std::error::Error + 'static)) -> bool {
    match e.downcast_ref::<rmcp::ServiceError>() {
        Some(s) => s.auth_challenge().is_some(),
        None => false,
    }
}

#[derive(Default)]
struct Stats {
    ms: Vec<f64>,
    requests: Map<String, Value>,
    allocs: u64,
    alloc_bytes: u64,
}

impl Stats {
    fn json(mut self, n: u64) -> Value {
        self.ms.sort_by(|a, b| a.total_cmp(b));
        let median = self.ms[self.ms.len() / 2];
        let per: Map<String, Value> = self
            .requests
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.as_u64().unwrap_or(0) as f64 / n as f64)))
            .collect();
        let total: f64 = per.values().filter_map(Value::as_f64).sum();
        json!({
            "median_ms": (median * 100.0).round() / 100.0,
            "requests": per,
            "requests_total": total,
            "allocs": self.allocs / n,
            "alloc_bytes": self.alloc_bytes / n,
        })
    }
}

fn add(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        let n = into.get(&k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap_or(0);
        into.insert(k, json!(n));
    }
}

/// Runs one scenario `n` times (for `reauth`, the revocation runs untimed before each).
async fn measure<C: Contender>(
    admin: &Admin,
    c: &mut C,
    n: u64,
    scenario: &str,
) -> Result<Value, BoxError> {
    let mut stats = Stats::default();
    for _ in 0..n {
        if scenario == "reauth" {
            admin.post("revoke_access_tokens").await?;
        }
        admin.post("reset").await?;
        let (a0, b0) = (
            ALLOCS.load(Ordering::Relaxed),
            ALLOC_BYTES.load(Ordering::Relaxed),
        );
        let t = Instant::now();
        match scenario {
            "cold" => c.cold().await?,
            "hot" => c.hot().await?,
            "renewal" => c.renewal().await?,
            "reauth" => c.reauth().await?,
            _ => return Err("unknown scenario".into()),
        }
        stats.ms.push(t.elapsed().as_secs_f64() * 1000.0);
        stats.allocs += ALLOCS.load(Ordering::Relaxed) - a0;
        stats.alloc_bytes += ALLOC_BYTES.load(Ordering::Relaxed) - b0;
        add(&mut stats.requests, admin.counters().await?);
    }
    Ok(stats.json(n))
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn run<C: Contender>(admin: &Admin, mut c: C, n: u64) -> Result<Value, BoxError> {
    let mut out = Map::new();
    for scenario in ["cold", "hot", "renewal", "reauth"] {
        out.insert(scenario.into(), measure(admin, &mut c, n, scenario).await?);
    }
    Ok(Value::Object(out))
}

/// `--table A.json B.json`: the results of both clients as a Markdown table.
fn table(files: &[String]) -> Result<(), BoxError> {
    let rows: Vec<Value> = files
        .iter()
        .map(|f| Ok(serde_json::from_str(std::fs::read_to_string(f)?.trim())?))
        .collect::<Result<_, BoxError>>()?;
    let name = |r: &Value| match r["client"].as_str() {
        Some("idjag") => "rmcp + idjag-rmcp".to_owned(),
        Some("rmcp") => "rmcp enterprise client".to_owned(),
        other => other.unwrap_or("?").to_owned(),
    };
    let n = rows
        .first()
        .map(|r| r["iterations"].clone())
        .unwrap_or_default();
    println!(
        "| {n} iterations each | {} |",
        rows.iter().map(name).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|{}", "---|".repeat(rows.len()));
    let short = |ep: &str| {
        match ep {
            "idp_token" => "IdP",
            "as_token" => "AS",
            "mcp" => "MCP",
            "prm" => "PRM",
            "as_metadata" => "AS meta",
            "idp_metadata" => "IdP meta",
            "idp_jwks" => "JWKS",
            other => other,
        }
        .to_owned()
    };
    for scenario in ["cold", "hot", "renewal", "reauth"] {
        let cells = |f: &dyn Fn(&Value) -> String| {
            rows.iter()
                .map(|r| f(&r[scenario]))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        println!(
            "| {scenario}: requests | {} |",
            cells(&|s| {
                let per = s["requests"].as_object().cloned().unwrap_or_default();
                let parts: Vec<String> = per
                    .iter()
                    .map(|(k, v)| format!("{} {}", short(k), v))
                    .collect();
                format!("{} ({})", s["requests_total"], parts.join(", "))
            })
        );
        println!(
            "| {scenario}: median latency | {} |",
            cells(&|s| format!("{} ms", s["median_ms"]))
        );
        println!(
            "| {scenario}: heap allocations | {} |",
            cells(&|s| format!(
                "{} ({} KiB)",
                s["allocs"],
                s["alloc_bytes"].as_u64().unwrap_or(0) / 1024
            ))
        );
    }
    println!(
        "| peak RSS of the process | {} |",
        rows.iter()
            .map(|r| format!("{} KiB", r["peak_rss_kib"]))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().map(String::as_str) == Some("--table") {
        return table(&all[1..]);
    }
    let mut args = all.into_iter();
    let (mut kit, mut which, mut n) = (None, None, 20u64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--kit" => kit = args.next(),
            "--client" => which = args.next(),
            "--iterations" => n = args.next().ok_or("--iterations N")?.parse()?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let usage = "usage: bench --kit KIT.json --client idjag|rmcp [--iterations N]";
    let kit: Value = serde_json::from_str(&std::fs::read_to_string(kit.ok_or(usage)?)?)?;
    let which = which.ok_or(usage)?;
    if n == 0 || n > 1000 {
        return Err("--iterations must be 1..=1000".into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let admin = Admin {
            url: kit["admin_url"].as_str().ok_or("admin_url")?.to_owned(),
            http: reqwest::Client::new(),
        };
        match which.as_str() {
            "idjag" => {
                let c = Idjag {
                    kit: kit.clone(),
                    clock: ManualClock::starting_now(),
                    client: None,
                };
                run(&admin, c, n).await
            }
            "rmcp" => {
                let c = Rmcp {
                    kit: kit.clone(),
                    http: Box::new(default_oauth_http_client()?),
                    mcp_http: reqwest::Client::new(),
                    client: None,
                };
                run(&admin, c, n).await
            }
            _ => Err(usage.into()),
        }
    })?;
    let mut line = Map::new();
    line.insert("client".into(), json!(which));
    line.insert("iterations".into(), json!(n));
    line.insert("peak_rss_kib".into(), json!(peak_rss_kib()));
    if let Value::Object(r) = result {
        line.extend(r);
    }
    println!("{}", Value::Object(line));
    Ok(())
}
