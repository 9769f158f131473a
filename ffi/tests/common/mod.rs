//! Helpers for calling the exports from Rust the way C does.
#![allow(dead_code, clippy::undocumented_unsafe_blocks)]

use idjag_ffi::*;
use idjag_testkit::TestKit;
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};

/// A NUL-terminated copy of `s`.
pub fn cs(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

/// The text behind a borrowed C string, `None` for NULL.
pub fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: every string the library hands out is NUL-terminated.
        Some(
            unsafe { CStr::from_ptr(p) }
                .to_str()
                .expect("utf-8")
                .to_string(),
        )
    }
}

/// Bytes that are not UTF-8, NUL-terminated.
pub fn not_utf8() -> CString {
    CString::new(vec![b'h', 0xff, 0xfe, b'x']).expect("no NUL")
}

/// An error handle, freed on drop.
pub struct Error(pub *mut idjag_error);

impl Error {
    pub fn none() -> Error {
        Error(std::ptr::null_mut())
    }
    pub fn out(&mut self) -> *mut *mut idjag_error {
        &mut self.0
    }
    pub fn is_set(&self) -> bool {
        !self.0.is_null()
    }
    pub fn result(&self) -> idjag_result {
        unsafe { idjag_error_result(self.0) }
    }
    pub fn code(&self) -> Option<String> {
        text(unsafe { idjag_error_code(self.0) })
    }
    pub fn step(&self) -> Option<String> {
        text(unsafe { idjag_error_step(self.0) })
    }
    pub fn action(&self) -> Option<String> {
        text(unsafe { idjag_error_action(self.0) })
    }
    pub fn message(&self) -> Option<String> {
        text(unsafe { idjag_error_message(self.0) })
    }
    pub fn reason(&self) -> Option<String> {
        text(unsafe { idjag_error_reason(self.0) })
    }
    pub fn oauth_error(&self) -> Option<String> {
        text(unsafe { idjag_error_oauth_error(self.0) })
    }
    pub fn status(&self) -> u16 {
        unsafe { idjag_error_status(self.0) }
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&text(unsafe { idjag_error_json(self.0) }).expect("json"))
            .expect("valid JSON")
    }
    /// Frees the current error (if any) so the handle can be reused.
    pub fn clear(&mut self) {
        unsafe { idjag_error_free(self.0) };
        self.0 = std::ptr::null_mut();
    }
}

impl Drop for Error {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Takes a JSON document handle, returns its value and frees it.
pub fn take_json(j: *mut idjag_json) -> Value {
    assert!(!j.is_null());
    let v = serde_json::from_str(&text(unsafe { idjag_json_str(j) }).expect("text")).expect("JSON");
    unsafe { idjag_json_free(j) };
    v
}

/// A session configuration for the kit's default user.
pub fn session_config(kit: &TestKit) -> String {
    let idp = kit.idp_client();
    let cl = kit.as_client();
    json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "subject_token": kit.mint_id_token("alice"),
        "client": {"client_id": cl.client_id, "client_secret": cl.client_secret},
        "client_issuers": [kit.as_issuer()],
        "timeout_ms": 10000,
    })
    .to_string()
}

/// A verifier configuration trusting the kit's IdP for the kit's AS and MCP server.
pub fn verifier_config(kit: &TestKit) -> String {
    json!({
        "issuer": kit.as_issuer(),
        "resources": [kit.mcp_url()],
        "trusted_idps": [{"issuer": kit.idp_issuer(), "jwks_uri": kit.idp_jwks_uri()}],
    })
    .to_string()
}

/// A sentinel pointer value, to check that outputs are untouched on error.
pub fn sentinel<T>() -> *mut T {
    std::ptr::without_provenance_mut(0xdead0)
}
