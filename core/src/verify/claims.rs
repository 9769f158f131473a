//! Step 6: the claim checks after the signature — `aud`, `client_id`, time, `sub`/`jti`,
//! the typed optional claims (`tenant`, `aud_tenant`, `aud_sub`, `acr`, `auth_time`),
//! `resource` — then the scope policy ([`super::scope_policy`]) and the user-authentication
//! policy ([`super::user_auth`]). Also the replay-record lifetime, which must follow from
//! the expiry rule here.

use super::config::{self, ResolvedMissing};
use super::grant::VerifiedGrant;
use super::reason::{reject, shown, RejectReason, Rejection};
use super::scope_policy::ScopePolicy;
use super::user_auth::UserAuthPolicy;
use serde_json::{Map, Value};

struct ResourceEntry {
    configured: String,
    normalized: Option<String>,
}

fn normalize_resource(r: &str) -> Option<String> {
    let u = url::Url::parse(r).ok()?;
    if u.fragment().is_some() {
        return None;
    }
    Some(u.to_string())
}

/// The claim rules of one verifier, resolved from its configuration.
pub(super) struct ClaimRules {
    pub(super) issuer: String,
    resources: Vec<ResourceEntry>,
    missing: ResolvedMissing,
    skew: i64,
    max_age: i64,
    max_lifetime: i64,
    scope: ScopePolicy,
    user_auth: UserAuthPolicy,
}

/// The last Unix second at which an ID-JAG expiring at `exp` is still accepted: `now >
/// exp + skew` is `expired`.
fn last_accepted_second(exp: i64, skew: i64) -> i64 {
    exp.saturating_add(skew)
}

/// Until when (exclusive, Unix seconds) the `jti` of an ID-JAG expiring at `exp` must stay
/// recorded: past the last second it is accepted, plus `skew` again as a margin for replicas
/// sharing the replay store whose clocks differ from this one's. Strictly later than every
/// instant the token can be accepted at, so a used ID-JAG is never accepted again.
pub(super) fn replay_keep_until(exp: i64, skew: i64) -> i64 {
    last_accepted_second(exp, skew)
        .saturating_add(1)
        .saturating_add(skew)
}

impl ClaimRules {
    pub(super) fn new(
        issuer: String,
        resources: &[String],
        missing: ResolvedMissing,
        (skew, max_age, max_lifetime): (i64, i64, i64),
        (scope, user_auth): (ScopePolicy, UserAuthPolicy),
    ) -> Self {
        ClaimRules {
            issuer,
            resources: resources
                .iter()
                .map(|r| ResourceEntry {
                    configured: r.clone(),
                    normalized: normalize_resource(r),
                })
                .collect(),
            missing,
            skew,
            max_age,
            max_lifetime,
            scope,
            user_auth,
        }
    }

    pub(super) fn skew(&self) -> i64 {
        self.skew
    }

    /// Every claim check after the signature, at `now` (Unix seconds).
    pub(super) fn check(
        &self,
        claims: Map<String, Value>,
        client_id: &str,
        requested_scope: Option<&str>,
        now: i64,
    ) -> Result<VerifiedGrant, Rejection> {
        self.check_audience(&claims)?;
        let cid = str_claim(&claims, "client_id")?;
        if cid != client_id {
            return reject(
                RejectReason::ClientMismatch,
                format!(
                    "client_id `{}` is not the authenticated client `{}`",
                    shown(cid),
                    shown(client_id)
                ),
            );
        }
        let (exp, iat) = self.check_time(&claims, now)?;
        let sub = str_claim(&claims, "sub")?.to_string();
        let jti = str_claim(&claims, "jti")?.to_string();
        let iss = str_claim(&claims, "iss")?.to_string();
        let client_id = cid.to_string();
        let tenant = opt_str_claim(&claims, "tenant")?;
        let aud_tenant = opt_str_claim(&claims, "aud_tenant")?;
        let aud_sub = opt_str_claim(&claims, "aud_sub")?;
        let acr = opt_str_claim(&claims, "acr")?;
        let auth_time = date_claim(&claims, "auth_time")?;
        if auth_time.is_some_and(|t| t > now.saturating_add(self.skew)) {
            return reject(
                RejectReason::Malformed,
                "`auth_time` is in the future (beyond the clock skew)",
            );
        }
        let (resource, resource_defaulted) = self.check_resource(claims.get("resource"))?;
        let (scope, scope_source) =
            self.scope
                .grant(claims.get("scope"), &client_id, requested_scope)?;
        self.user_auth
            .check(&resource, acr.as_deref(), auth_time, now, self.skew)?;
        Ok(VerifiedGrant {
            iss,
            sub,
            client_id,
            resource,
            resource_defaulted,
            scope,
            scope_source,
            exp,
            iat,
            jti,
            first_use: true,
            tenant,
            aud_tenant,
            aud_sub,
            acr,
            auth_time,
            claims,
        })
    }

    /// `aud`: exactly our issuer, as a string or the only element of an array.
    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), Rejection> {
        let aud_ok = match claims.get("aud") {
            None | Some(Value::Null) => {
                return reject(RejectReason::MissingClaim, "no `aud` claim")
            }
            Some(Value::String(a)) => a == &self.issuer,
            Some(Value::Array(items)) => {
                if items.iter().any(|v| !v.is_string()) {
                    return reject(
                        RejectReason::Malformed,
                        "`aud` array has a non-string element",
                    );
                }
                items.len() == 1 && items[0].as_str() == Some(self.issuer.as_str())
            }
            Some(_) => {
                return reject(
                    RejectReason::Malformed,
                    "`aud` is neither a string nor an array",
                )
            }
        };
        if aud_ok {
            return Ok(());
        }
        let shown_aud = match claims.get("aud") {
            Some(Value::String(a)) => format!("`{}`", shown(a)),
            Some(Value::Array(items)) => format!("an array of {} values", items.len()),
            _ => "it".into(),
        };
        reject(
            RejectReason::AudienceMismatch,
            format!("aud is {shown_aud}, expected exactly `{}`", self.issuer),
        )
    }

    /// `exp`, `nbf`, `iat` with skew, lifetime and age caps. Returns (`exp`, `iat`).
    fn check_time(&self, claims: &Map<String, Value>, now: i64) -> Result<(i64, i64), Rejection> {
        let skew = self.skew;
        let exp = date_claim(claims, "exp")?
            .ok_or_else(|| Rejection::new(RejectReason::MissingClaim, "no `exp` claim"))?;
        let iat = date_claim(claims, "iat")?
            .ok_or_else(|| Rejection::new(RejectReason::MissingClaim, "no `iat` claim"))?;
        let nbf = date_claim(claims, "nbf")?;
        if now > last_accepted_second(exp, skew) {
            return reject(
                RejectReason::Expired,
                format!("expired {} s ago", now.saturating_sub(exp)),
            );
        }
        if let Some(nbf) = nbf {
            if nbf > now.saturating_add(skew) {
                return reject(
                    RejectReason::NotYetValid,
                    format!("not valid for another {} s", nbf.saturating_sub(now)),
                );
            }
        }
        if iat > now.saturating_add(skew) {
            return reject(
                RejectReason::IssuedInFuture,
                format!("issued {} s in the future", iat.saturating_sub(now)),
            );
        }
        if exp < iat {
            return reject(RejectReason::Malformed, "`exp` is before `iat`");
        }
        if exp.saturating_sub(iat) > self.max_lifetime {
            return reject(
                RejectReason::LifetimeTooLong,
                format!(
                    "lifetime {} s exceeds {} s",
                    exp.saturating_sub(iat),
                    self.max_lifetime
                ),
            );
        }
        if now.saturating_sub(iat) > self.max_age.saturating_add(skew) {
            return reject(
                RejectReason::TooOld,
                format!(
                    "issued {} s ago; at most {} s accepted",
                    now.saturating_sub(iat),
                    self.max_age
                ),
            );
        }
        Ok((exp, iat))
    }

    fn match_resource(&self, r: &str) -> Option<&str> {
        if let Some(e) = self.resources.iter().find(|e| e.configured == r) {
            return Some(&e.configured);
        }
        let n = normalize_resource(r)?;
        self.resources
            .iter()
            .find(|e| e.normalized.as_deref() == Some(n.as_str()))
            .map(|e| e.configured.as_str())
    }

    /// `resource`: every listed resource is ours (or the missing-resource policy applies).
    /// Returns the resources as configured, and whether they are the default.
    fn check_resource(&self, claim: Option<&Value>) -> Result<(Vec<String>, bool), Rejection> {
        let listed: Vec<&str> = match claim {
            None | Some(Value::Null) => {
                return match &self.missing {
                    ResolvedMissing::UseDefault(d) => Ok((vec![d.clone()], true)),
                    ResolvedMissing::Reject => reject(
                        RejectReason::MissingClaim,
                        "no `resource` claim and the policy requires one",
                    ),
                };
            }
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => {
                if items.is_empty() || items.len() > config::MAX_RESOURCES {
                    return reject(
                        RejectReason::Malformed,
                        "`resource` array is empty or too long",
                    );
                }
                let mut v = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(s) => v.push(s),
                        None => {
                            return reject(
                                RejectReason::Malformed,
                                "`resource` array has a non-string element",
                            )
                        }
                    }
                }
                v
            }
            Some(_) => {
                return reject(
                    RejectReason::Malformed,
                    "`resource` is neither a string nor an array",
                )
            }
        };
        let mut out: Vec<String> = Vec::with_capacity(listed.len());
        for r in listed {
            match self.match_resource(r) {
                Some(ours) => {
                    // ED-05 §3.1: a non-empty array of *unique* strings.
                    if out.iter().any(|o| o == ours) {
                        return reject(
                            RejectReason::Malformed,
                            "`resource` lists the same resource twice",
                        );
                    }
                    out.push(ours.to_string());
                }
                None => {
                    return reject(
                        RejectReason::ResourceMismatch,
                        format!(
                            "resource `{}` is not served by this authorization server",
                            shown(r)
                        ),
                    )
                }
            }
        }
        Ok((out, false))
    }
}

pub(super) fn str_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, Rejection> {
    match claims.get(name) {
        None | Some(Value::Null) => {
            reject(RejectReason::MissingClaim, format!("no `{name}` claim"))
        }
        Some(Value::String(s)) if s.is_empty() => {
            reject(RejectReason::MissingClaim, format!("empty `{name}` claim"))
        }
        Some(Value::String(s)) => Ok(s),
        Some(_) => reject(RejectReason::Malformed, format!("`{name}` is not a string")),
    }
}

/// An optional string claim: absent (or `null`) is `None`; otherwise a non-empty string,
/// else `malformed`.
fn opt_str_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, Rejection> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => {
            reject(RejectReason::Malformed, format!("`{name}` is empty"))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => reject(RejectReason::Malformed, format!("`{name}` is not a string")),
    }
}

/// A NumericDate (RFC 7519 §2): integer or fractional seconds, floored.
fn date_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, Rejection> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e17 => Ok(Some(f.floor() as i64)),
                _ => reject(RejectReason::Malformed, format!("`{name}` is out of range")),
            }
        }
        Some(_) => reject(
            RejectReason::Malformed,
            format!("`{name}` is not a NumericDate"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// B1: at every second the token is accepted, its record is still live (a live record
    /// is one whose `keep_until` is later than now), with a margin of `skew`.
    #[test]
    fn replay_record_outlives_every_accepting_instant() {
        let rules = |skew| {
            ClaimRules::new(
                "https://as".into(),
                &["https://mcp/".to_string()],
                ResolvedMissing::UseDefault("https://mcp/".into()),
                (skew, 300, 600),
                (ScopePolicy::default(), UserAuthPolicy::default()),
            )
        };
        for skew in [0i64, 1, 60, 300] {
            let r = rules(skew);
            let exp = 1_000_000;
            let mut claims = Map::new();
            claims.insert("exp".into(), exp.into());
            claims.insert("iat".into(), (exp - 300).into());
            let mut last_ok = None;
            for now in exp - 5..exp + 2 * skew + 5 {
                if r.check_time(&claims, now).is_ok() {
                    last_ok = Some(now);
                    assert!(now < replay_keep_until(exp, skew), "skew {skew} now {now}");
                }
            }
            assert_eq!(last_ok, Some(exp + skew), "skew {skew}");
            assert_eq!(replay_keep_until(exp, skew), exp + 2 * skew + 1);
        }
        assert_eq!(replay_keep_until(i64::MAX - 1, 300), i64::MAX);
    }
}
