//! Step 6, scope: what [`VerifiedGrant::scope`](super::VerifiedGrant::scope) may hold
//! (RFC 6749 §3.3; draft-ietf-oauth-identity-assertion-authz-grant §4.4).
//!
//! 1. The **grantable** scope is the ID-JAG's `scope` claim (the IdP's statement). Without
//!    the claim it is the configured `default_scope`; without that there is **no scope
//!    statement** and nothing is grantable — the verifier never invents a grant, and never
//!    takes the client's request as one.
//! 2. When `client_scopes` is configured, the grantable scope is intersected with the
//!    authenticated client's entry (a client without an entry: nothing).
//! 3. When the request has a `scope`, the grant is request ∩ grantable; if that is empty (or
//!    nothing is grantable, or the request is not a valid RFC 6749 §3.3 scope) the request
//!    is rejected as `scope_not_granted`, answered `invalid_scope`. Without a requested
//!    scope the grant is the whole grantable scope.
//!
//! The grant is therefore always a subset of the grantable scope, and of the requested
//! scope when there is one.

use super::grant::ScopeSource;
use super::reason::{reject, RejectReason, Rejection};
use crate::scope::Scope;
use serde_json::Value;
use std::collections::BTreeMap;

/// The configured scope policy.
#[derive(Clone, Debug, Default)]
pub(super) struct ScopePolicy {
    pub(super) default_scope: Option<Scope>,
    pub(super) client_scopes: Option<BTreeMap<String, Scope>>,
}

impl ScopePolicy {
    /// The granted scope (`None`: no scope) and where the grantable scope came from.
    pub(super) fn grant(
        &self,
        claim: Option<&Value>,
        client_id: &str,
        requested: Option<&str>,
    ) -> Result<(Option<Scope>, ScopeSource), Rejection> {
        let asserted = match claim {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Scope::parse(s).map_err(|e| {
                Rejection::new(
                    RejectReason::Malformed,
                    format!(
                        "the `scope` claim is not an RFC 6749 scope: {}",
                        e.message()
                    ),
                )
            })?),
            Some(_) => return reject(RejectReason::Malformed, "`scope` is not a string"),
        };
        let (statement, source) = match asserted {
            Some(s) => (Some(s), ScopeSource::IdJag),
            None => match &self.default_scope {
                Some(d) => (Some(d.clone()), ScopeSource::DefaultScope),
                None => (None, ScopeSource::NoStatement),
            },
        };
        let grantable = statement.map(|s| match &self.client_scopes {
            Some(clients) => clients
                .get(client_id)
                .map_or_else(Scope::empty, |allowed| s.intersection(allowed)),
            None => s,
        });
        let requested = match requested.map(Scope::parse) {
            None => None,
            Some(Ok(r)) if r.is_empty() => None,
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                return reject(
                    RejectReason::ScopeNotGranted,
                    format!("the requested scope is not valid: {}", e.message()),
                )
            }
        };
        let Some(requested) = requested else {
            return Ok((grantable.filter(|g| !g.is_empty()), source));
        };
        let Some(grantable) = grantable else {
            return reject(
                RejectReason::ScopeNotGranted,
                "a scope was requested, but the ID-JAG has no `scope` claim and no `default_scope` is configured: there is no scope statement to grant from",
            );
        };
        let granted = requested.intersection(&grantable);
        if granted.is_empty() {
            return reject(
                RejectReason::ScopeNotGranted,
                format!(
                    "none of the {} requested scope(s) is grantable ({} grantable from {})",
                    requested.len(),
                    grantable.len(),
                    source
                ),
            );
        }
        Ok((Some(granted), source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(s: &str) -> Scope {
        Scope::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    type Outcome = Result<(Option<String>, ScopeSource), RejectReason>;

    fn run(p: &ScopePolicy, claim: Option<&str>, client: &str, req: Option<&str>) -> Outcome {
        p.grant(claim.map(|c| Value::String(c.into())).as_ref(), client, req)
            .map(|(s, src)| (s.map(|s| s.to_string()), src))
            .map_err(|r| r.reason)
    }

    fn ok(s: Option<&str>, src: ScopeSource) -> Outcome {
        Ok((s.map(str::to_string), src))
    }

    const NOT: Outcome = Err(RejectReason::ScopeNotGranted);

    #[test]
    fn asserted_scope_is_intersected_with_the_request() {
        use ScopeSource::IdJag;
        let p = ScopePolicy::default();
        assert_eq!(
            run(&p, Some("a b c"), "c1", Some("b c d")),
            ok(Some("b c"), IdJag)
        );
        assert_eq!(run(&p, Some("b a"), "c1", None), ok(Some("a b"), IdJag));
        assert_eq!(run(&p, Some("a"), "c1", Some("b")), NOT);
        // An empty claim is a statement that grants nothing.
        assert_eq!(run(&p, Some(""), "c1", Some("b")), NOT);
        assert_eq!(run(&p, Some(""), "c1", None), ok(None, IdJag));
        // A blank request is no request.
        assert_eq!(run(&p, Some("a"), "c1", Some("  ")), ok(Some("a"), IdJag));
        assert_eq!(
            p.grant(Some(&Value::Bool(true)), "c1", None)
                .map_err(|r| r.reason)
                .map(|_| ()),
            Err(RejectReason::Malformed)
        );
        assert_eq!(
            p.grant(Some(&Value::String("a\tb".into())), "c1", None)
                .map_err(|r| r.reason)
                .map(|_| ()),
            Err(RejectReason::Malformed)
        );
        // An invalid request is an invalid scope, not a malformed assertion.
        assert_eq!(run(&p, Some("a"), "c1", Some("a \"b\"")), NOT);
    }

    /// B3: without a `scope` claim the request is never taken as the grant.
    #[test]
    fn no_scope_claim_grants_nothing_by_default() {
        let p = ScopePolicy::default();
        assert_eq!(run(&p, None, "c1", Some("mcp:admin")), NOT);
        assert_eq!(run(&p, None, "c1", Some("x y x")), NOT);
        assert_eq!(
            run(&p, None, "c1", None),
            ok(None, ScopeSource::NoStatement)
        );
    }

    #[test]
    fn default_scope_stands_in_for_a_missing_claim_only() {
        use ScopeSource::{DefaultScope, IdJag};
        let p = ScopePolicy {
            default_scope: Some(sc("mcp:read")),
            client_scopes: None,
        };
        assert_eq!(
            run(&p, None, "c1", None),
            ok(Some("mcp:read"), DefaultScope)
        );
        assert_eq!(
            run(&p, None, "c1", Some("mcp:read mcp:admin")),
            ok(Some("mcp:read"), DefaultScope)
        );
        assert_eq!(run(&p, None, "c1", Some("mcp:admin")), NOT);
        // A claim, even a narrower or disjoint one, wins over the default.
        assert_eq!(
            run(&p, Some("mcp:write"), "c1", None),
            ok(Some("mcp:write"), IdJag)
        );
        assert_eq!(run(&p, Some("mcp:write"), "c1", Some("mcp:read")), NOT);
    }

    #[test]
    fn client_scopes_cap_every_grant() {
        use ScopeSource::{DefaultScope, IdJag};
        let mut clients = BTreeMap::new();
        clients.insert("c1".to_string(), sc("mcp:read mcp:write"));
        clients.insert("c2".to_string(), Scope::empty());
        let p = ScopePolicy {
            default_scope: Some(sc("mcp:read mcp:admin")),
            client_scopes: Some(clients),
        };
        assert_eq!(
            run(&p, Some("mcp:read mcp:admin"), "c1", None),
            ok(Some("mcp:read"), IdJag)
        );
        assert_eq!(run(&p, Some("mcp:admin"), "c1", Some("mcp:admin")), NOT);
        assert_eq!(
            run(&p, None, "c1", None),
            ok(Some("mcp:read"), DefaultScope)
        );
        assert_eq!(run(&p, Some("mcp:read"), "c2", None), ok(None, IdJag));
        assert_eq!(run(&p, Some("mcp:read"), "c2", Some("mcp:read")), NOT);
        // A client without an entry gets nothing.
        assert_eq!(run(&p, Some("mcp:read"), "other", None), ok(None, IdJag));
        assert_eq!(run(&p, None, "other", Some("mcp:read")), NOT);
    }
}
