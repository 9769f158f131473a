//! `WWW-Authenticate` parsing (RFC 9110 §11.6.1 syntax; RFC 6750 §3 and RFC 9728 §5.1
//! parameters).
//!
//! A header may carry several challenges (`Bearer …, DPoP …`), and a response may carry
//! several headers. Scheme and parameter names are case-insensitive; values are tokens or
//! quoted strings with `\` escapes.

use crate::error::OAuthErrorCode;
use std::collections::BTreeMap;

/// One challenge: a scheme and either auth-params or a token68.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Auth scheme as sent (compare case-insensitively).
    pub scheme: String,
    /// Parameters, names lowercased. The first occurrence of a name wins.
    pub params: BTreeMap<String, String>,
    /// A token68 value (`Basic abc==`), if the challenge carried one instead of params.
    pub token68: Option<String>,
}

impl Challenge {
    /// A parameter by (case-insensitive) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Whether the scheme is `Bearer` (case-insensitive).
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }
}

/// What an MCP client needs from the challenges of a 401/403. Serializes to
/// `{"resource_metadata", "scope", "error", "error_description"}` (`null` when absent), the
/// document the C and Node bindings hand out.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResourceChallenge {
    /// RFC 9728 `resource_metadata` URL.
    pub resource_metadata: Option<String>,
    /// RFC 6750 `scope` (space-separated).
    pub scope: Option<String>,
    /// RFC 6750 `error` (`invalid_token`, `insufficient_scope`, …).
    pub error: Option<OAuthErrorCode>,
    /// RFC 6750 `error_description`.
    pub error_description: Option<String>,
}

impl ResourceChallenge {
    /// Extracts the parameters, preferring the `Bearer` challenge, then `DPoP`, then any.
    pub fn from_challenges(challenges: &[Challenge]) -> Self {
        let mut ordered: Vec<&Challenge> = challenges.iter().filter(|c| c.is_bearer()).collect();
        ordered.extend(
            challenges
                .iter()
                .filter(|c| c.scheme.eq_ignore_ascii_case("dpop")),
        );
        ordered.extend(
            challenges
                .iter()
                .filter(|c| !c.is_bearer() && !c.scheme.eq_ignore_ascii_case("dpop")),
        );
        let find = |name: &str| {
            ordered
                .iter()
                .find_map(|c| c.param(name))
                .map(str::to_string)
        };
        ResourceChallenge {
            resource_metadata: find("resource_metadata"),
            scope: find("scope"),
            error: find("error").map(|e| OAuthErrorCode::parse(&e)),
            error_description: find("error_description"),
        }
    }

    /// Parses one or more `WWW-Authenticate` header values.
    pub fn parse<'a>(headers: impl IntoIterator<Item = &'a str>) -> Self {
        let all: Vec<Challenge> = headers
            .into_iter()
            .flat_map(parse_www_authenticate)
            .collect();
        ResourceChallenge::from_challenges(&all)
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).map(|&b| b as char)
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.i += 1;
        }
    }
    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | ',')) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn quoted(&mut self) -> Option<String> {
        // assumes current char is '"'
        self.i += 1;
        let mut out = Vec::new();
        while let Some(&b) = self.s.get(self.i) {
            self.i += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    if let Some(&n) = self.s.get(self.i) {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        None // unterminated
    }
    /// Lookahead: at the current position is there `token BWS "="` (an auth-param)? A
    /// token68 ends in `=` padding, so `=` must be followed by something other than `=`,
    /// `,` or end of input for this to count as a param.
    fn at_param(&self) -> bool {
        let mut j = self.i;
        let start = j;
        while self.s.get(j).is_some_and(|&b| is_tchar(b as char)) {
            j += 1;
        }
        if j == start {
            return false;
        }
        while matches!(self.s.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if self.s.get(j) != Some(&b'=') {
            return false;
        }
        j += 1;
        while matches!(self.s.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        !matches!(self.s.get(j), None | Some(b'=' | b','))
    }
}

/// Parses one `WWW-Authenticate` header value into its challenges. Never fails: malformed
/// parts are skipped.
pub fn parse_www_authenticate(value: &str) -> Vec<Challenge> {
    let mut c = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        c.skip_ws_and_commas();
        if c.peek().is_none() {
            break;
        }
        let Some(scheme) = c.token() else {
            // garbage: skip one char and continue
            c.i += 1;
            continue;
        };
        let mut ch = Challenge {
            scheme,
            params: BTreeMap::new(),
            token68: None,
        };
        c.skip_ws();
        // token68?
        if !c.at_param() && c.peek().is_some_and(is_token68_char) {
            let start = c.i;
            while c.peek().is_some_and(is_token68_char) {
                c.i += 1;
            }
            while c.peek() == Some('=') {
                c.i += 1;
            }
            let t = String::from_utf8_lossy(&c.s[start..c.i]).into_owned();
            c.skip_ws();
            if matches!(c.peek(), None | Some(',')) {
                ch.token68 = Some(t);
                out.push(ch);
                continue;
            }
            // not a token68 after all: it was the next challenge's scheme; rewind
            c.i = start;
            out.push(ch);
            continue;
        }
        // auth-params
        loop {
            c.skip_ws_and_commas();
            if !c.at_param() {
                break;
            }
            let Some(name) = c.token() else { break };
            c.skip_ws();
            c.i += 1; // '='
            c.skip_ws();
            let value = if c.peek() == Some('"') {
                match c.quoted() {
                    Some(v) => v,
                    None => break,
                }
            } else {
                match c.token() {
                    Some(v) => v,
                    None => break,
                }
            };
            ch.params.entry(name.to_ascii_lowercase()).or_insert(value);
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn resource_challenge_json_shape() {
        let c = ResourceChallenge::parse([
            r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="https://m/prm""#,
        ]);
        assert_eq!(
            serde_json::to_value(&c).expect("json"),
            serde_json::json!({"resource_metadata": "https://m/prm", "scope": "a b",
                               "error": "insufficient_scope", "error_description": null})
        );
    }

    use super::*;

    #[test]
    fn rfc9728_example() {
        let v = r#"Bearer resource_metadata="https://resource.example.com/.well-known/oauth-protected-resource", scope="mcp:read mcp:write""#;
        let ch = ResourceChallenge::parse([v]);
        assert_eq!(
            ch.resource_metadata.as_deref(),
            Some("https://resource.example.com/.well-known/oauth-protected-resource")
        );
        assert_eq!(ch.scope.as_deref(), Some("mcp:read mcp:write"));
    }

    #[test]
    fn several_challenges_and_escapes() {
        let v = r#"Basic realm="x", DPoP algs="ES256", Bearer error="insufficient_scope", error_description="need \"admin\"", scope=admin"#;
        let all = parse_www_authenticate(v);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].scheme, "Basic");
        assert_eq!(all[1].param("ALGS"), Some("ES256"));
        let ch = ResourceChallenge::from_challenges(&all);
        assert_eq!(ch.error, Some(OAuthErrorCode::InsufficientScope));
        assert_eq!(ch.error_description.as_deref(), Some("need \"admin\""));
        assert_eq!(ch.scope.as_deref(), Some("admin"));
    }

    #[test]
    fn token68_and_bare_scheme() {
        let all = parse_www_authenticate("Negotiate abc+/==, Bearer");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].token68.as_deref(), Some("abc+/=="));
        assert!(all[1].is_bearer());
        assert!(all[1].params.is_empty());
    }

    #[test]
    fn case_insensitive_scheme_and_names_bearer_preferred() {
        let ch = ResourceChallenge::parse([
            r#"dpop resource_metadata="https://b/""#,
            r#"BEARER Resource_Metadata="https://a/""#,
        ]);
        assert_eq!(ch.resource_metadata.as_deref(), Some("https://a/"));
    }

    #[test]
    fn malformed_input_never_panics() {
        for v in [
            "",
            ",,,",
            "Bearer =",
            "Bearer a=\"unterminated",
            "Bearer a=,b=c",
            "\"\"",
            "Bearer a = b , c = \"d\\\"",
            "B\u{e9}arer x=y",
        ] {
            let _ = parse_www_authenticate(v);
            let _ = ResourceChallenge::parse([v]);
        }
        let ch = ResourceChallenge::parse([r#"Bearer  scope = "a b" ,  error = invalid_token"#]);
        assert_eq!(ch.scope.as_deref(), Some("a b"));
        assert_eq!(ch.error, Some(OAuthErrorCode::InvalidToken));
    }
}
