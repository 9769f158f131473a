//! The user's identity assertion and its lifecycle: the current subject token,
//! its renewal through the IdP refresh token (single-flight, rotation honoured, no lock held
//! during the refresh request), and the one "work identity expired" state that every server's
//! next call reports until the host signs the user in again.

use super::flight::lock;
use crate::client::Client;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, OAuthErrorCode, Result, Step};
use crate::exchange::{IdTokenRefreshRequest, SubjectTokenType, TokenEndpoint};
use crate::secret::SecretString;
use std::sync::{Condvar, Mutex};
use std::thread::{self, ThreadId};

/// How many seconds before its `exp` an ID token is treated as expired.
const SUBJECT_EXPIRY_MARGIN_S: i64 = 10;

/// A subject token as handed to leg 1.
pub(crate) struct CurrentSubject {
    pub(crate) token: SecretString,
    pub(crate) token_type: SubjectTokenType,
    pub(crate) generation: u64,
}

struct State {
    token: Option<SecretString>,
    token_type: SubjectTokenType,
    refresh_token: Option<SecretString>,
    /// Bumped by every change of `token`.
    generation: u64,
    /// The thread renewing the subject right now.
    refreshing: Option<ThreadId>,
    /// Number of the latest renewal and its error, shared with those who waited for it.
    refresh_seq: u64,
    refresh_error: Option<(u64, Error)>,
    /// Set when the subject can no longer be renewed (the IdP refused the refresh token):
    /// every exchange fails with this error, without IdP requests, until a new subject token.
    expired: Option<Error>,
    /// `expired` was just set and not yet announced.
    expired_unannounced: bool,
}

pub(crate) struct Subject {
    state: Mutex<State>,
    cond: Condvar,
}

impl Subject {
    pub(crate) fn new(
        token: Option<SecretString>,
        token_type: SubjectTokenType,
        refresh_token: Option<SecretString>,
    ) -> Subject {
        Subject {
            state: Mutex::new(State {
                token,
                token_type,
                refresh_token,
                generation: 0,
                refreshing: None,
                refresh_seq: 0,
                refresh_error: None,
                expired: None,
                expired_unannounced: false,
            }),
            cond: Condvar::new(),
        }
    }

    pub(crate) fn set(
        &self,
        token: SecretString,
        token_type: SubjectTokenType,
        refresh_token: Option<SecretString>,
    ) {
        let mut s = lock(&self.state);
        s.token = Some(token);
        s.token_type = token_type;
        if refresh_token.is_some() {
            s.refresh_token = refresh_token;
        }
        s.generation += 1;
        s.expired = None;
        s.expired_unannounced = false;
    }

    /// Enters the "work identity expired" state after the IdP rejected subject `generation`
    /// for good, unless the subject changed meanwhile.
    pub(crate) fn mark_expired(&self, generation: u64, error: &Error) {
        let mut s = lock(&self.state);
        if s.generation == generation && s.refreshing.is_none() && s.expired.is_none() {
            s.expired = Some(error.clone());
            s.expired_unannounced = true;
        }
    }

    /// True once after the subject entered the expired state.
    pub(crate) fn take_expired_announcement(&self) -> bool {
        std::mem::take(&mut lock(&self.state).expired_unannounced)
    }

    pub(crate) fn has_refresh_token(&self) -> bool {
        lock(&self.state).refresh_token.is_some()
    }

    /// The subject token to exchange now: the configured one while it is valid, else one
    /// renewed through the IdP refresh token, else `reauthentication_required`.
    pub(crate) fn current(
        &self,
        client: &Client,
        clock: &dyn Clock,
        idp: &TokenEndpoint,
    ) -> Result<CurrentSubject> {
        let now = clock.now_secs();
        let generation = {
            let s = lock(&self.state);
            if let Some(e) = &s.expired {
                return Err(e.clone());
            }
            match (&s.token, s.token_type) {
                (Some(t), SubjectTokenType::IdToken)
                    if crate::jwt::unverified_exp(t.expose_secret())
                        .is_some_and(|exp| exp.saturating_sub(SUBJECT_EXPIRY_MARGIN_S) <= now) => {}
                (Some(t), tt) => {
                    return Ok(CurrentSubject {
                        token: t.clone(),
                        token_type: tt,
                        generation: s.generation,
                    })
                }
                (None, _) => {}
            }
            if s.refresh_token.is_none() {
                let msg = if s.token.is_none() {
                    "no subject token: sign the user in and call set_subject_token"
                } else {
                    "the user's ID token has expired and no IdP refresh token is configured: sign the user in again"
                };
                return Err(Error::new(
                    ErrorKind::ReauthenticationRequired,
                    Step::IdpExchange,
                    msg,
                ));
            }
            s.generation
        };
        self.renew(client, idp, generation)?;
        let s = lock(&self.state);
        if let Some(e) = &s.expired {
            return Err(e.clone());
        }
        let token = s.token.clone().ok_or_else(|| {
            Error::internal(Step::IdpRefresh, "refresh produced no subject token")
        })?;
        Ok(CurrentSubject {
            token,
            token_type: s.token_type,
            generation: s.generation,
        })
    }

    /// Renews the subject with the IdP refresh token unless it changed since `seen`
    /// (someone else renewed it, or the host set a new one). One renewal at a time; the
    /// others wait for it and share its outcome.
    pub(crate) fn renew(&self, client: &Client, idp: &TokenEndpoint, seen: u64) -> Result<()> {
        let me = thread::current().id();
        let mut s = lock(&self.state);
        loop {
            if let Some(e) = &s.expired {
                return Err(e.clone());
            }
            if s.generation != seen {
                return Ok(());
            }
            match s.refreshing {
                Some(t) if t == me => return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    Step::IdpRefresh,
                    "called from an event callback while this thread is renewing the subject token",
                )),
                Some(_) => {
                    let waiting_for = s.refresh_seq;
                    while s.refreshing.is_some() && s.refresh_seq == waiting_for {
                        s = self.cond.wait(s).unwrap_or_else(|p| p.into_inner());
                    }
                    if let Some((n, e)) = &s.refresh_error {
                        if *n == waiting_for {
                            return Err(e.clone());
                        }
                    }
                    continue;
                }
                None => break,
            }
        }
        let Some(rt) = s.refresh_token.clone() else {
            return Err(Error::new(
                ErrorKind::ReauthenticationRequired,
                Step::IdpRefresh,
                "the user's identity assertion was rejected and no IdP refresh token is configured: sign the user in again",
            ));
        };
        s.refresh_seq += 1;
        s.refreshing = Some(me);
        let seq = s.refresh_seq;
        drop(s);
        let guard = RefreshGuard {
            subject: self,
            seq,
            armed: true,
        };
        let r = client.refresh_id_token(&IdTokenRefreshRequest::new(idp.clone(), rt));
        guard.land(r.map_err(|e| {
            if e.kind() == ErrorKind::OauthError
                && e.oauth_error()
                    .is_some_and(|o| o.error == OAuthErrorCode::InvalidGrant)
            {
                Error::new(
                    ErrorKind::ReauthenticationRequired,
                    Step::IdpRefresh,
                    "the IdP refresh token was rejected: sign the user in again",
                )
                .with_oauth_from(e)
            } else {
                e
            }
        }))
    }
}

struct RefreshGuard<'a> {
    subject: &'a Subject,
    seq: u64,
    armed: bool,
}

impl RefreshGuard<'_> {
    fn land(mut self, r: Result<crate::exchange::IdTokenRefresh>) -> Result<()> {
        self.armed = false;
        let mut s = lock(&self.subject.state);
        let out = if s.refresh_seq == self.seq {
            s.refreshing = None;
            match r {
                Ok(r) => {
                    s.token = Some(r.id_token);
                    s.token_type = SubjectTokenType::IdToken;
                    if let Some(new_rt) = r.refresh_token {
                        s.refresh_token = Some(new_rt);
                    }
                    s.generation += 1;
                    s.refresh_error = None;
                    Ok(())
                }
                Err(e) => {
                    if e.kind() == ErrorKind::ReauthenticationRequired {
                        // The work identity is gone: one state for every server.
                        s.expired = Some(e.clone());
                        s.expired_unannounced = true;
                    }
                    s.refresh_error = Some((self.seq, e.clone()));
                    Err(e)
                }
            }
        } else {
            r.map(|_| ())
        };
        drop(s);
        self.subject.cond.notify_all();
        out
    }
}

impl Drop for RefreshGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut s = lock(&self.subject.state);
        if s.refresh_seq == self.seq {
            s.refreshing = None;
            s.refresh_error = Some((
                self.seq,
                Error::internal(Step::IdpRefresh, "the subject-token renewal panicked"),
            ));
        }
        drop(s);
        self.subject.cond.notify_all();
    }
}
