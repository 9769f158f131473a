//! The HTTP plumbing: request/response values, a tiny_http worker pool, and an optional
//! rustls front (TLS terminated in-process and piped to the plain tiny_http listener).

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long dropping a server waits for busy workers before detaching them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Largest request body read (bigger bodies get `413`).
pub(crate) const MAX_BODY: usize = 1024 * 1024;

pub(crate) use crate::sync::lock;

/// A received request, fully read.
#[derive(Debug)]
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub body_too_large: bool,
    pub remote: Option<SocketAddr>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The media type of the request (`Content-Type` without parameters, lowercase).
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The OAuth `error` code (for the request log).
    pub error: Option<String>,
    /// Internal detail for the request log.
    pub detail: Option<String>,
}

impl Resp {
    pub fn new(status: u16) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            error: None,
            detail: None,
        }
    }

    pub fn json(status: u16, v: &Value) -> Resp {
        Resp::new(status)
            .header("Content-Type", "application/json")
            .body(v.to_string().into_bytes())
    }

    pub fn header(mut self, k: &str, v: &str) -> Resp {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn body(mut self, b: Vec<u8>) -> Resp {
        self.body = b;
        self
    }

    pub fn detail(mut self, d: impl Into<String>) -> Resp {
        self.detail = Some(d.into());
        self
    }

    /// Adds a `Cache-Control` header when one is configured.
    pub fn cache_control(self, value: Option<&str>) -> Resp {
        match value {
            Some(v) => self.header("Cache-Control", v),
            None => self,
        }
    }

    pub fn no_store(self) -> Resp {
        self.header("Cache-Control", "no-store")
            .header("Pragma", "no-cache")
    }

    /// An RFC 6749 §5.2 error body.
    pub fn oauth_error(status: u16, error: &str, description: &str) -> Resp {
        let mut r = Resp::json(
            status,
            &json!({ "error": error, "error_description": description }),
        )
        .no_store();
        r.error = Some(error.to_string());
        r
    }
}

pub(crate) type Handler = Arc<dyn Fn(Req) -> Resp + Send + Sync>;

/// One listening server: a tiny_http server, its workers, and optionally a TLS front.
pub(crate) struct HttpServer {
    server: Arc<tiny_http::Server>,
    workers: Vec<JoinHandle<()>>,
    done: Option<std::sync::mpsc::Receiver<()>>,
    stop: Arc<AtomicBool>,
    tls: Option<TlsFront>,
    /// The address clients use (the TLS front when TLS is on).
    pub public_addr: SocketAddr,
}

impl HttpServer {
    /// Binds on 127.0.0.1:`port` (0: an ephemeral port); with TLS the port is the TLS one.
    pub fn bind(tls: Option<Arc<rustls::ServerConfig>>, port: u16) -> std::io::Result<HttpServer> {
        let plain_port = if tls.is_some() { 0 } else { port };
        let server = tiny_http::Server::http(("127.0.0.1", plain_port))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let inner = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tls, public_addr) = match tls {
            Some(cfg) => {
                let front = TlsFront::start(cfg, inner, port)?;
                let addr = front.addr;
                (Some(front), addr)
            }
            None => (None, inner),
        };
        Ok(HttpServer {
            server: Arc::new(server),
            workers: Vec::new(),
            done: None,
            stop,
            tls,
            public_addr,
        })
    }

    pub fn start(&mut self, workers: usize, handler: Handler) {
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        self.done = Some(done_rx);
        for i in 0..workers.max(1) {
            let server = Arc::clone(&self.server);
            let stop = Arc::clone(&self.stop);
            let handler = Arc::clone(&handler);
            let done = done_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("idjag-testkit-{}-{i}", self.public_addr.port()))
                .spawn(move || {
                    worker(server, stop, handler);
                    drop(done);
                });
            if let Ok(h) = spawned {
                self.workers.push(h);
            }
        }
    }

    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        // Wait for the workers, but never forever: a worker stuck writing a large response
        // to a client that neither reads nor closes is detached after the grace period.
        if let Some(rx) = self.done.take() {
            let deadline = Instant::now() + SHUTDOWN_GRACE;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(()) => continue,
                    Err(_) => break, // all workers gone, or the grace period is over
                }
            }
        }
        for h in self.workers.drain(..) {
            if h.is_finished() {
                let _ = h.join();
            }
        }
        if let Some(mut t) = self.tls.take() {
            t.shutdown();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn worker(server: Arc<tiny_http::Server>, stop: Arc<AtomicBool>, handler: Handler) {
    loop {
        let rq = match server.recv() {
            Ok(rq) => rq,
            Err(_) => {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                continue;
            }
        };
        if stop.load(Ordering::SeqCst) {
            let _ = rq.respond(tiny_http::Response::empty(503));
            return;
        }
        serve_one(rq, &handler);
    }
}

fn serve_one(mut rq: tiny_http::Request, handler: &Handler) {
    let url = rq.url().to_string();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (url.clone(), String::new()),
    };
    let headers: Vec<(String, String)> = rq
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_string(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let too_large = match rq
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
    {
        Ok(_) => body.len() > MAX_BODY,
        Err(_) => false,
    };
    if too_large {
        body.clear();
    }
    let req = Req {
        method: rq.method().as_str().to_ascii_uppercase(),
        path,
        query,
        headers,
        body,
        body_too_large: too_large,
        remote: rq.remote_addr().copied(),
    };
    let handler = Arc::clone(handler);
    // A panic in a handler is a testkit bug; answer 500 instead of killing the worker.
    let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || handler(req)))
        .unwrap_or_else(|_| {
            Resp::oauth_error(500, "server_error", "internal testkit error")
                .detail("handler panicked")
        });
    let mut out = tiny_http::Response::from_data(resp.body).with_status_code(resp.status);
    for (k, v) in &resp.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            out.add_header(h);
        }
    }
    let _ = rq.respond(out);
}

/// A TLS listener that terminates TLS with rustls and pipes each connection to the plain
/// tiny_http listener (one upstream connection per TLS connection, so connection counts
/// stay meaningful).
struct TlsFront {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TlsFront {
    fn start(
        cfg: Arc<rustls::ServerConfig>,
        upstream: SocketAddr,
        port: u16,
    ) -> std::io::Result<TlsFront> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let accept = std::thread::Builder::new()
            .name(format!("idjag-testkit-tls-{}", addr.port()))
            .spawn(move || {
                for stream in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let cfg = Arc::clone(&cfg);
                    let _ = std::thread::Builder::new()
                        .name("idjag-testkit-tls-conn".into())
                        .spawn(move || pump(stream, upstream, cfg));
                }
            })?;
        Ok(TlsFront {
            addr,
            stop,
            accept: Some(accept),
        })
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn flush_tls(conn: &mut rustls::ServerConnection, sock: &mut TcpStream) -> bool {
    while conn.wants_write() {
        if conn.write_tls(sock).is_err() {
            return false;
        }
    }
    true
}

/// Pipes one TLS connection to the upstream plain listener: this thread reads the client
/// (TLS → plaintext → upstream), a second one reads upstream (plaintext → TLS → client).
fn pump(client: TcpStream, upstream: SocketAddr, cfg: Arc<rustls::ServerConfig>) {
    let Ok(conn) = rustls::ServerConnection::new(cfg) else {
        return;
    };
    let conn = Arc::new(Mutex::new(conn));
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let (Ok(mut client_w), Ok(mut up_r)) = (client.try_clone(), up.try_clone()) else {
        return;
    };
    let conn2 = Arc::clone(&conn);
    let back = std::thread::Builder::new()
        .name("idjag-testkit-tls-back".into())
        .spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match up_r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut c = lock(&conn2);
                if c.writer().write_all(&buf[..n]).is_err() || !flush_tls(&mut c, &mut client_w) {
                    break;
                }
            }
            let mut c = lock(&conn2);
            c.send_close_notify();
            let _ = flush_tls(&mut c, &mut client_w);
            let _ = client_w.shutdown(Shutdown::Both);
        });
    let mut client = client;
    let mut buf = vec![0u8; 16 * 1024];
    'outer: loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut plain = Vec::new();
        let mut closed = false;
        {
            let mut c = lock(&conn);
            let mut rd: &[u8] = &buf[..n];
            while !rd.is_empty() {
                if c.read_tls(&mut rd).is_err() {
                    break 'outer;
                }
                let state = match c.process_new_packets() {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = flush_tls(&mut c, &mut client);
                        break 'outer;
                    }
                };
                let avail = state.plaintext_bytes_to_read();
                if state.peer_has_closed() {
                    closed = true;
                }
                if avail > 0 {
                    let start = plain.len();
                    plain.resize(start + avail, 0);
                    if c.reader().read_exact(&mut plain[start..]).is_err() {
                        break 'outer;
                    }
                }
            }
            if !flush_tls(&mut c, &mut client) {
                break;
            }
        }
        if !plain.is_empty() && up.write_all(&plain).is_err() {
            break;
        }
        if closed {
            break;
        }
    }
    let _ = up.shutdown(Shutdown::Write);
    if let Ok(h) = back {
        let _ = h.join();
    }
}
