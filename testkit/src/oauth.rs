//! Token-endpoint request parsing shared by the IdP and the AS.

use crate::httpd::{Req, Resp};

/// A parsed `application/x-www-form-urlencoded` body.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses a token request body; `invalid_request` unless it is a form POST.
    pub fn from_request(req: &Req) -> Result<Form, Resp> {
        if req.media_type() != "application/x-www-form-urlencoded" {
            return Err(Resp::oauth_error(
                400,
                "invalid_request",
                "the request body must be application/x-www-form-urlencoded",
            )
            .detail("wrong content type"));
        }
        Ok(Form::parse(&req.body))
    }

    pub fn parse(body: &[u8]) -> Form {
        Form {
            pairs: url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// A parameter that may appear at most once (RFC 6749 §3.2); empty values count as
    /// absent.
    pub fn single(&self, name: &str) -> Result<Option<String>, Resp> {
        let all = self.all(name);
        match all.len() {
            0 => Ok(None),
            1 => Ok(Some(all[0].clone()).filter(|v| !v.is_empty())),
            _ => Err(Resp::oauth_error(
                400,
                "invalid_request",
                &format!("parameter {name} repeated"),
            )
            .detail(format!("duplicate {name}"))),
        }
    }

    /// A required single parameter.
    pub fn required(&self, name: &str) -> Result<String, Resp> {
        self.single(name)?.ok_or_else(|| {
            Resp::oauth_error(400, "invalid_request", &format!("missing parameter {name}"))
                .detail(format!("missing {name}"))
        })
    }

    /// Every value of a parameter (non-empty values only).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Splits a space-separated scope string.
pub(crate) fn scopes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in s.split(' ').filter(|t| !t.is_empty()) {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// `405` for a wrong method.
pub(crate) fn method_not_allowed(allow: &str) -> Resp {
    Resp::oauth_error(405, "invalid_request", "method not allowed").header("Allow", allow)
}
