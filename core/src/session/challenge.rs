//! Reacting to a 401/403 from the MCP server (MCP §Scope Challenge
//! Handling; RFC 6750 §3; RFC 9728 §5.3). All of the session's challenge logic is here.
//!
//! - 401 against a token older than the current one → the current one, at once.
//! - 401 against the current token → a new token (one flight shared by every challenger).
//! - Only a token rejected right after its own minting (before the ordinary path ever
//!   handed it out), several times in a row, counts as a loop → `configuration` error.
//! - 403 `insufficient_scope` → step up to the union of scopes (bounded; no progress →
//!   `denied`); any other 403 → `denied`.
//! - A changed `resource_metadata` URL → rediscovery (a new target).

use super::flight::lock;
use super::servers::{ServerEntry, Target};
use super::token::{Minted, Token};
use super::Inner;
use crate::challenge::ResourceChallenge;
use crate::error::{Action, Error, ErrorKind, OAuthErrorCode, OAuthErrorResponse, Result, Step};
use crate::scope::Scope;
use std::sync::Arc;

/// A challenge against a token minted this recently (ms) that the ordinary path never handed
/// out counts towards a loop.
const IMMEDIATE_REJECTION_MS: i64 = 1_000;
/// Consecutive immediate rejections tolerated; the next one fails.
const MAX_STREAK: u8 = 2;
/// Without the rejected token (callers that don't pass it): a token minted by a challenge
/// this recently is handed to concurrent challengers instead of re-minting.
const JUST_MINTED_MS: i64 = 2_000;

impl Inner {
    pub(crate) fn handle_challenge(
        &self,
        server_url: &str,
        status: u16,
        www_authenticate: &str,
        rejected_token: Option<&str>,
    ) -> Result<Token> {
        if status != 401 && status != 403 {
            return Err(Error::invalid_argument(format!(
                "handle_challenge expects a 401 or 403 status, got {status}"
            )));
        }
        let ch = ResourceChallenge::parse([www_authenticate]);
        let entry = self.servers.entry(server_url);
        // A new resource_metadata URL: this is another server now; discover it afresh.
        if let Some(url) = ch.resource_metadata.as_deref() {
            let moved = entry.target.update(|t| match t {
                Some(old) if old.discovery.resource_metadata_url != url => t.take(),
                _ => None,
            });
            if let Some(old) = moved {
                self.client
                    .forget_resource(server_url, &old.discovery.resource_metadata_url);
                *lock(&entry.challenge) = Default::default();
            }
        }
        let target = self.target(server_url, &entry, Some(&ch))?;
        if status == 403 {
            let target = self.step_up(server_url, &entry, &target, ch)?;
            return self.token_for(&target, false);
        }
        self.after_401(&entry, &target, rejected_token)
    }

    fn after_401(
        &self,
        entry: &ServerEntry,
        target: &Target,
        rejected_token: Option<&str>,
    ) -> Result<Token> {
        let now = self.clock().now_millis();
        let current = target.slot.peek();
        if let Some(m) = &current {
            let unexpired = now / 1000 < m.token.expires_at;
            match rejected_token {
                // The server rejected an older token: the current one is newer.
                Some(r) if !m.token.matches(r) && unexpired => return Ok(m.token.clone()),
                // Legacy callers: concurrent challengers of one old token share the re-mint.
                None if m.by_challenge && now - m.minted_at_ms < JUST_MINTED_MS && unexpired => {
                    return Ok(m.token.clone())
                }
                _ => {}
            }
        }
        {
            let mut ch = lock(&entry.challenge);
            let immediate = current.as_ref().is_some_and(|m| {
                m.by_challenge && !m.was_served() && now - m.minted_at_ms < IMMEDIATE_REJECTION_MS
            });
            if immediate {
                ch.streak += 1;
            } else {
                ch.streak = 0;
            }
            if ch.streak > MAX_STREAK {
                ch.streak = 0;
                return Err(Error::new(
                    ErrorKind::Configuration,
                    Step::Resource,
                    "the MCP server rejects every access token right after it is issued; check that it and its authorization server agree on audience, resource and scope",
                )
                .with_status(401));
            }
        }
        // Drop the rejected token (unless someone replaced it meanwhile), then mint or join
        // the flight that is minting.
        target.slot.update(|v| {
            if let (Some(cur), Some(rejected)) = (v.as_ref(), current.as_ref()) {
                if Arc::ptr_eq(cur, rejected) {
                    *v = None;
                }
            }
        });
        self.token_for(target, true)
    }

    /// Handles `403 insufficient_scope`: the target asking for the union of scopes.
    fn step_up(
        &self,
        server_url: &str,
        entry: &ServerEntry,
        target: &Arc<Target>,
        ch: ResourceChallenge,
    ) -> Result<Arc<Target>> {
        if ch.error != Some(OAuthErrorCode::InsufficientScope) {
            return Err(denied(ch, "the MCP server refused access (403)"));
        }
        let needed = Scope::parse_lossy(ch.scope.as_deref().unwrap_or_default()).0;
        if needed.is_empty() {
            return Err(denied(
                ch,
                "the MCP server requires more scope but did not say which",
            ));
        }
        let current = target.scope.clone();
        // Step up to the union (MCP §Scope Challenge Handling), with the one scope type.
        let wanted = Scope::parse_lossy(current.as_deref().unwrap_or_default())
            .0
            .union(&needed)
            .as_str()
            .to_string();
        if current.as_deref() == Some(wanted.as_str()) {
            return Err(denied(
                ch,
                "the MCP server still reports insufficient_scope although every challenged scope was granted",
            ));
        }
        {
            let mut c = lock(&entry.challenge);
            if c.step_ups >= self.max_step_ups {
                return Err(denied(ch, "too many scope step-ups for this MCP server"));
            }
            c.step_ups += 1;
            c.scope = Some(wanted.clone());
        }
        let rescoped = self.build_target(server_url, target.discovery.clone(), Some(wanted))?;
        entry.target.update(|t| {
            if t.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, target)) {
                *t = Some(rescoped.clone());
            }
        });
        Ok(rescoped)
    }

    /// The token of `target`'s slot: cached while before its renewal point, else minted
    /// (single-flight). `by_challenge` marks tokens minted in answer to a 401.
    pub(crate) fn token_for(&self, target: &Target, by_challenge: bool) -> Result<Token> {
        let now = self.clock().now_secs();
        let minted = target.slot.get_or_fetch(
            |m| now < m.renew_at,
            || {
                let t = self.mint(target)?;
                let minted_at = self.clock().now_millis();
                let renew_at = self.renew_at(t.expires_at, minted_at / 1000);
                Ok(Arc::new(Minted::new(t, minted_at, renew_at, by_challenge)))
            },
            |current| match current {
                // Re-entered from a callback during this very renewal: the old token is still
                // good until it expires.
                Some(m) if now < m.token.expires_at => Ok(m.clone()),
                _ => Err(Error::new(
                    ErrorKind::InvalidArgument,
                    Step::AsGrant,
                    "called from an event callback while this thread is obtaining the same token",
                )),
            },
        )?;
        Ok(if by_challenge {
            minted.token.clone()
        } else {
            minted.serve()
        })
    }

    /// When a token minted at `now` and expiring at `expires_at` should be renewed: `margin`
    /// before expiry, but at most half its lifetime (short tokens renew at half-life).
    fn renew_at(&self, expires_at: i64, now: i64) -> i64 {
        let lifetime = expires_at.saturating_sub(now).max(0);
        expires_at.saturating_sub(self.margin_s.min(lifetime / 2))
    }
}

fn denied(ch: ResourceChallenge, msg: &str) -> Error {
    Error::new(ErrorKind::OauthError, Step::Resource, msg)
        .with_status(403)
        .with_action(Action::Denied)
        .with_oauth_body(OAuthErrorResponse {
            error: ch.error.unwrap_or(OAuthErrorCode::AccessDenied),
            error_description: ch
                .error_description
                .map(|d| crate::error::sanitize_server_text(&d)),
            error_uri: None,
        })
}
