//! Step 6, user authentication: the optional policy of sensitive servers — which `acr`
//! values are accepted and how recent `auth_time` must be (RFC 9470 terms), globally and per
//! resource ([`UserAuthenticationConfig`]).
//!
//! Runs after the scope check (a request refused anyway is not sent to re-authenticate the
//! user first). The requirement of a grant combines those of its resources: the `acr` must
//! be accepted by each of them (the accepted set is their intersection, in the order of the
//! first), and the authentication age must be within the smallest `max_auth_age_s`. A
//! failure is `acr_not_accepted` or `auth_time_too_old`, carrying the combined requirement
//! for the wire answer (`insufficient_user_authentication` with `acr_values` / `max_age`).

use super::config::{AuthenticationRequirement, UserAuthenticationConfig};
use super::reason::{shown, RejectReason, Rejection};
use super::wire::StepUpChallenge;
use std::collections::HashMap;

/// One requirement, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Requirement {
    acr_values: Option<Vec<String>>,
    max_age: Option<i64>,
}

impl Requirement {
    fn from_config(r: &AuthenticationRequirement) -> Requirement {
        Requirement {
            acr_values: r.acr_values.clone(),
            max_age: r
                .max_auth_age_s
                .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
        }
    }

    /// Both requirements at once.
    fn and(self, other: &Requirement) -> Requirement {
        let acr_values = match (self.acr_values, &other.acr_values) {
            (Some(a), Some(b)) => Some(a.into_iter().filter(|v| b.contains(v)).collect()),
            (a, b) => a.or_else(|| b.clone()),
        };
        let max_age = match (self.max_age, other.max_age) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Requirement {
            acr_values,
            max_age,
        }
    }

    fn challenge(&self) -> StepUpChallenge {
        StepUpChallenge {
            acr_values: self
                .acr_values
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| v.join(" ")),
            max_age: self.max_age.and_then(|m| u64::try_from(m).ok()),
        }
    }
}

/// The configured user-authentication policy.
#[derive(Clone, Debug, Default)]
pub(super) struct UserAuthPolicy {
    default: Requirement,
    per_resource: HashMap<String, Requirement>,
}

impl UserAuthPolicy {
    pub(super) fn new(config: &UserAuthenticationConfig) -> UserAuthPolicy {
        UserAuthPolicy {
            default: Requirement::from_config(&config.default_requirement()),
            per_resource: config
                .resources
                .iter()
                .map(|(r, req)| (r.clone(), Requirement::from_config(req)))
                .collect(),
        }
    }

    /// The requirement for a grant of `resources` (spelled as configured).
    fn requirement(&self, resources: &[String]) -> Requirement {
        resources
            .iter()
            .map(|r| self.per_resource.get(r).unwrap_or(&self.default))
            .fold(Requirement::default(), Requirement::and)
    }

    /// Checks the ID-JAG's `acr` and `auth_time` (already type-checked) at `now`.
    pub(super) fn check(
        &self,
        resources: &[String],
        acr: Option<&str>,
        auth_time: Option<i64>,
        now: i64,
        skew: i64,
    ) -> Result<(), Rejection> {
        let req = self.requirement(resources);
        if let Some(accepted) = &req.acr_values {
            let ok = acr.is_some_and(|a| accepted.iter().any(|v| v == a));
            if !ok {
                let got = match acr {
                    Some(a) => format!("acr `{}` is", shown(a)),
                    None => "no `acr` claim is".to_string(),
                };
                let detail = if accepted.is_empty() {
                    format!(
                        "{got} not accepted: the resources {resources:?} accept no common `acr` value"
                    )
                } else {
                    format!(
                        "{got} not one of `{}` required for {resources:?}",
                        accepted.join(" ")
                    )
                };
                return Err(Rejection::step_up(
                    RejectReason::AcrNotAccepted,
                    detail,
                    req.challenge(),
                ));
            }
        }
        if let Some(max_age) = req.max_age {
            let detail = match auth_time {
                None => Some(format!(
                    "no `auth_time` claim; {resources:?} require an authentication at most {max_age} s old"
                )),
                Some(t) if now.saturating_sub(t) > max_age.saturating_add(skew) => Some(format!(
                    "the user authenticated {} s ago; {resources:?} accept at most {max_age} s",
                    now.saturating_sub(t)
                )),
                Some(_) => None,
            };
            if let Some(detail) = detail {
                return Err(Rejection::step_up(
                    RejectReason::AuthTimeTooOld,
                    detail,
                    req.challenge(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(v: serde_json::Value) -> UserAuthPolicy {
        let c: UserAuthenticationConfig = serde_json::from_value(v).expect("config");
        UserAuthPolicy::new(&c)
    }

    fn res(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    fn reason(r: Result<(), Rejection>) -> Option<RejectReason> {
        r.err().map(|r| r.reason)
    }

    #[test]
    fn no_policy_accepts_anything() {
        let p = UserAuthPolicy::default();
        assert!(p.check(&res(&["a"]), None, None, 1000, 0).is_ok());
    }

    #[test]
    fn per_resource_entries_replace_the_default_and_combine() {
        let p = policy(serde_json::json!({
            "acr_values": ["mfa", "phrh"], "max_auth_age_s": 600,
            "resources": {"admin": {"acr_values": ["phrh"], "max_auth_age_s": 60}, "open": {}}
        }));
        let now = 10_000;
        let r = |res_: &[&str], acr: Option<&str>, at: Option<i64>| {
            reason(p.check(&res(res_), acr, at, now, 5))
        };
        assert_eq!(r(&["mcp"], Some("mfa"), Some(now - 605)), None);
        assert_eq!(
            r(&["mcp"], Some("mfa"), Some(now - 606)),
            Some(RejectReason::AuthTimeTooOld)
        );
        assert_eq!(
            r(&["mcp"], Some("pwd"), Some(now)),
            Some(RejectReason::AcrNotAccepted)
        );
        assert_eq!(
            r(&["mcp"], None, Some(now)),
            Some(RejectReason::AcrNotAccepted)
        );
        assert_eq!(
            r(&["mcp"], Some("mfa"), None),
            Some(RejectReason::AuthTimeTooOld)
        );
        assert_eq!(
            r(&["admin"], Some("mfa"), Some(now)),
            Some(RejectReason::AcrNotAccepted)
        );
        assert_eq!(r(&["admin"], Some("phrh"), Some(now - 65)), None);
        assert_eq!(r(&["open"], None, None), None);
        // Two resources: both requirements.
        assert_eq!(
            r(&["open", "admin"], Some("phrh"), Some(now - 100)),
            Some(RejectReason::AuthTimeTooOld)
        );
        let e = p
            .check(&res(&["mcp", "admin"]), Some("mfa"), Some(now), now, 5)
            .err()
            .map(|r| r.into_error())
            .expect("rejected");
        let wire = super::super::token_error_response(&e);
        assert_eq!(
            (wire.acr_values.as_deref(), wire.max_age),
            (Some("phrh"), Some(60))
        );
    }

    #[test]
    fn disjoint_acr_lists_accept_nothing_and_name_no_values() {
        let p = policy(serde_json::json!({
            "resources": {"a": {"acr_values": ["x"]}, "b": {"acr_values": ["y"]}}
        }));
        let e = p
            .check(&res(&["a", "b"]), Some("x"), None, 0, 0)
            .expect_err("rejected");
        assert_eq!(e.reason, RejectReason::AcrNotAccepted);
        let wire = super::super::token_error_response(&e.into_error());
        assert_eq!((wire.acr_values, wire.max_age), (None, None));
    }
}
