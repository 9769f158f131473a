//! Per-request pipeline: admin API, endpoint classification, counters, faults, routing,
//! request log.

use crate::faults::{Fault, RequestRecord, Role};
use crate::httpd::{lock, Req, Resp};
use crate::state::Shared;
use crate::{admin, authz, idp, mcp};
use serde_json::Value;

pub(crate) fn handle(shared: &Shared, role: Role, req: Req) -> Resp {
    if role == Role::Idp && (req.path == "/__testkit" || req.path.starts_with("/__testkit/")) {
        return admin::handle(shared, &req);
    }
    let ep = match role {
        Role::Idp => idp::classify(&req.path),
        Role::As => authz::classify(shared, &req.path),
        Role::Mcp => mcp::classify(shared, &req.path),
    };
    lock(&shared.counters).hit(role, ep, req.remote);
    let faults = ep.map(|e| lock(&shared.faults).take(e)).unwrap_or_default();
    for f in &faults {
        if let Fault::Delay { ms } = f {
            shared.sleep_ms(*ms);
        }
    }
    let short = faults.iter().find_map(short_circuit);
    let mut resp = match short {
        Some(r) => r,
        None if req.body_too_large => {
            Resp::oauth_error(413, "invalid_request", "request body too large")
        }
        None => match (role, ep) {
            (Role::Idp, Some(e)) => idp::route(shared, e, &req),
            (Role::As, e) => authz::route(shared, e, &req),
            (Role::Mcp, Some(e)) => mcp::route(shared, e, &req),
            _ => Resp::oauth_error(404, "invalid_request", "not found"),
        },
    };
    for f in &faults {
        resp = post_process(f, resp);
    }
    shared.record(RequestRecord {
        role,
        endpoint: ep,
        method: req.method.clone(),
        path: req.path.clone(),
        status: resp.status,
        error: resp.error.clone(),
        detail: resp.detail.clone(),
    });
    resp
}

fn short_circuit(f: &Fault) -> Option<Resp> {
    match f {
        Fault::Status {
            status,
            body,
            content_type,
            headers,
        } => {
            let mut r = Resp::new(*status)
                .header(
                    "Content-Type",
                    content_type.as_deref().unwrap_or("application/json"),
                )
                .body(body.clone().into_bytes())
                .detail("fault: status");
            for (k, v) in headers {
                r = r.header(k, v);
            }
            Some(r)
        }
        Fault::Redirect { location, status } => Some(
            Resp::new(status.unwrap_or(302))
                .header("Location", location)
                .detail("fault: redirect"),
        ),
        Fault::DropConnection => Some(
            Resp::new(500)
                .header("Connection", "close")
                .detail("fault: drop_connection"),
        ),
        _ => None,
    }
}

fn json_object(resp: &Resp) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(&resp.body) {
        Ok(Value::Object(o)) => Some(o),
        _ => None,
    }
}

fn post_process(f: &Fault, mut resp: Resp) -> Resp {
    match f {
        Fault::WrongIssuer { issuer } => {
            if let Some(mut o) = json_object(&resp) {
                if o.contains_key("issuer") {
                    o.insert("issuer".into(), Value::String(issuer.clone()));
                    resp.body = Value::Object(o).to_string().into_bytes();
                }
            }
            resp
        }
        Fault::Patch { set } => {
            if let Some(mut o) = json_object(&resp) {
                for (k, v) in set {
                    if v.is_null() {
                        o.remove(k);
                    } else {
                        o.insert(k.clone(), v.clone());
                    }
                }
                resp.body = Value::Object(o).to_string().into_bytes();
            }
            resp
        }
        Fault::Oversized { bytes } => {
            let bytes = *bytes;
            if resp.body.len() >= bytes {
                return resp;
            }
            match json_object(&resp) {
                Some(mut o) => {
                    let pad = bytes.saturating_sub(resp.body.len()).max(1);
                    o.insert("x_padding".into(), Value::String("a".repeat(pad)));
                    resp.body = Value::Object(o).to_string().into_bytes();
                }
                None => {
                    let missing = bytes - resp.body.len();
                    resp.body.extend(std::iter::repeat_n(b' ', missing));
                }
            }
            resp
        }
        Fault::MalformedJson => {
            let cut = resp.body.len() / 2;
            resp.body.truncate(cut);
            resp.body.extend_from_slice(b"{\"truncated");
            resp
        }
        Fault::WrongContentType { content_type } => resp.header(
            "Content-Type",
            content_type.as_deref().unwrap_or("text/html"),
        ),
        _ => resp,
    }
}
