//! [`idjag_result`]: the return value of every fallible function.

use crate::boundary::infallible;
use idjag::ErrorKind;
use std::ffi::{c_char, CStr};

/// The result of a fallible `idjag_` function.
///
/// `IDJAG_OK` (0) is success. Values 1 to 16 are the core's stable error numbers, one per
/// error code shared by every idjag language (`idjag_result_code` gives the code). Values
/// from 100 are C-only: their error objects carry the code `invalid_argument` (100 to 102) or
/// `internal` (103). Values are never renumbered or reused; new ones may be added, so handle
/// unknown values as errors.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum idjag_result {
    /// Success.
    IDJAG_OK = 0,
    /// `invalid_argument`: a caller-supplied argument is malformed (bad URL, empty token,
    /// unknown enum value).
    IDJAG_INVALID_ARGUMENT = 1,
    /// `configuration`: the configuration is invalid or contradictory (unknown key, missing
    /// credential); the message names the key, never a value.
    IDJAG_CONFIGURATION = 2,
    /// `transport`: the request could not be sent or the response not received (DNS,
    /// connect, TLS, I/O).
    IDJAG_TRANSPORT = 3,
    /// `timeout`: a connect, read or total timeout elapsed.
    IDJAG_TIMEOUT = 4,
    /// `http_status`: a non-2xx HTTP response without a parseable OAuth error body.
    IDJAG_HTTP_STATUS = 5,
    /// `oauth_error`: the server answered with an RFC 6749 section 5.2 error
    /// (`idjag_error_oauth_error` gives its `error`).
    IDJAG_OAUTH_ERROR = 6,
    /// `response_invalid`: a response could not be used (content type, malformed JSON,
    /// missing or invalid members).
    IDJAG_RESPONSE_INVALID = 7,
    /// `response_too_large`: a response body exceeded the configured size cap.
    IDJAG_RESPONSE_TOO_LARGE = 8,
    /// `insecure_url`: a URL is not https (and not loopback), or otherwise unsafe to contact.
    IDJAG_INSECURE_URL = 9,
    /// `redirect_refused`: a redirect was refused.
    IDJAG_REDIRECT_REFUSED = 10,
    /// `issuer_mismatch`: a metadata document's `issuer` is not exactly the issuer used to
    /// fetch it.
    IDJAG_ISSUER_MISMATCH = 11,
    /// `resource_mismatch`: a protected-resource `resource` does not match the MCP server URL,
    /// or a returned `resource` was not requested.
    IDJAG_RESOURCE_MISMATCH = 12,
    /// `not_supported`: the server does not support enterprise-managed authorization.
    IDJAG_NOT_SUPPORTED = 13,
    /// `reauthentication_required`: the user's identity assertion is expired or rejected and
    /// cannot be renewed; sign the user in again and call `idjag_session_set_subject_token`.
    IDJAG_REAUTHENTICATION_REQUIRED = 14,
    /// `verification_failed`: an ID-JAG failed verification (`idjag_error_reason` gives why).
    IDJAG_VERIFICATION_FAILED = 15,
    /// `internal`: a bug in idjag or an unexpected internal state. Please report it.
    IDJAG_INTERNAL = 16,
    /// C only (`invalid_argument`): a pointer argument that must not be NULL was NULL.
    IDJAG_NULL_PARAMETER = 100,
    /// C only (`invalid_argument`): a string argument is not valid UTF-8.
    IDJAG_INVALID_UTF8 = 101,
    /// C only (`invalid_argument`): the caller's buffer is too small; the needed length was
    /// written.
    IDJAG_BUFFER_TOO_SMALL = 102,
    /// C only (`internal`): idjag panicked; the panic was caught and the host process is
    /// unharmed. Please report it.
    IDJAG_PANIC = 103,
}

// The values 1 to 16 are the core's stable numbers (`ErrorKind::number`), checked at compile
// time: a renumbered core kind fails the build instead of shifting the C ABI.
const _: () = {
    use idjag_result as R;
    use ErrorKind as K;
    let pairs = [
        (R::IDJAG_INVALID_ARGUMENT, K::InvalidArgument),
        (R::IDJAG_CONFIGURATION, K::Configuration),
        (R::IDJAG_TRANSPORT, K::Transport),
        (R::IDJAG_TIMEOUT, K::Timeout),
        (R::IDJAG_HTTP_STATUS, K::HttpStatus),
        (R::IDJAG_OAUTH_ERROR, K::OauthError),
        (R::IDJAG_RESPONSE_INVALID, K::ResponseInvalid),
        (R::IDJAG_RESPONSE_TOO_LARGE, K::ResponseTooLarge),
        (R::IDJAG_INSECURE_URL, K::InsecureUrl),
        (R::IDJAG_REDIRECT_REFUSED, K::RedirectRefused),
        (R::IDJAG_ISSUER_MISMATCH, K::IssuerMismatch),
        (R::IDJAG_RESOURCE_MISMATCH, K::ResourceMismatch),
        (R::IDJAG_NOT_SUPPORTED, K::NotSupported),
        (
            R::IDJAG_REAUTHENTICATION_REQUIRED,
            K::ReauthenticationRequired,
        ),
        (R::IDJAG_VERIFICATION_FAILED, K::VerificationFailed),
        (R::IDJAG_INTERNAL, K::Internal),
    ];
    let mut i = 0;
    while i < pairs.len() {
        assert!(pairs[i].0 as u32 == pairs[i].1.number());
        i += 1;
    }
    assert!(pairs.len() == ErrorKind::ALL.len());
};

impl idjag_result {
    /// Every value, in numeric order.
    pub const ALL: &'static [idjag_result] = &[
        idjag_result::IDJAG_OK,
        idjag_result::IDJAG_INVALID_ARGUMENT,
        idjag_result::IDJAG_CONFIGURATION,
        idjag_result::IDJAG_TRANSPORT,
        idjag_result::IDJAG_TIMEOUT,
        idjag_result::IDJAG_HTTP_STATUS,
        idjag_result::IDJAG_OAUTH_ERROR,
        idjag_result::IDJAG_RESPONSE_INVALID,
        idjag_result::IDJAG_RESPONSE_TOO_LARGE,
        idjag_result::IDJAG_INSECURE_URL,
        idjag_result::IDJAG_REDIRECT_REFUSED,
        idjag_result::IDJAG_ISSUER_MISMATCH,
        idjag_result::IDJAG_RESOURCE_MISMATCH,
        idjag_result::IDJAG_NOT_SUPPORTED,
        idjag_result::IDJAG_REAUTHENTICATION_REQUIRED,
        idjag_result::IDJAG_VERIFICATION_FAILED,
        idjag_result::IDJAG_INTERNAL,
        idjag_result::IDJAG_NULL_PARAMETER,
        idjag_result::IDJAG_INVALID_UTF8,
        idjag_result::IDJAG_BUFFER_TOO_SMALL,
        idjag_result::IDJAG_PANIC,
    ];

    /// The value for an integer from C, if it is one.
    pub fn from_u32(value: u32) -> Option<idjag_result> {
        idjag_result::ALL
            .iter()
            .copied()
            .find(|r| *r as u32 == value)
    }

    /// The result of an error of kind `kind`.
    pub fn of_kind(kind: ErrorKind) -> idjag_result {
        idjag_result::from_u32(kind.number())
            .filter(|r| (*r as u32) < 100 && *r != idjag_result::IDJAG_OK)
            .unwrap_or(idjag_result::IDJAG_INTERNAL)
    }

    /// The core error kind an error with this result has (`None` for `IDJAG_OK`).
    pub fn kind(self) -> Option<ErrorKind> {
        match self {
            idjag_result::IDJAG_OK => None,
            idjag_result::IDJAG_NULL_PARAMETER
            | idjag_result::IDJAG_INVALID_UTF8
            | idjag_result::IDJAG_BUFFER_TOO_SMALL => Some(ErrorKind::InvalidArgument),
            idjag_result::IDJAG_PANIC => Some(ErrorKind::Internal),
            r => ErrorKind::from_number(r as u32),
        }
    }

    /// The stable snake_case code of this result: `ok`, the core error code for 1–16, or the
    /// C-only name.
    pub fn code(self) -> &'static CStr {
        match self {
            idjag_result::IDJAG_OK => c"ok",
            idjag_result::IDJAG_INVALID_ARGUMENT => c"invalid_argument",
            idjag_result::IDJAG_CONFIGURATION => c"configuration",
            idjag_result::IDJAG_TRANSPORT => c"transport",
            idjag_result::IDJAG_TIMEOUT => c"timeout",
            idjag_result::IDJAG_HTTP_STATUS => c"http_status",
            idjag_result::IDJAG_OAUTH_ERROR => c"oauth_error",
            idjag_result::IDJAG_RESPONSE_INVALID => c"response_invalid",
            idjag_result::IDJAG_RESPONSE_TOO_LARGE => c"response_too_large",
            idjag_result::IDJAG_INSECURE_URL => c"insecure_url",
            idjag_result::IDJAG_REDIRECT_REFUSED => c"redirect_refused",
            idjag_result::IDJAG_ISSUER_MISMATCH => c"issuer_mismatch",
            idjag_result::IDJAG_RESOURCE_MISMATCH => c"resource_mismatch",
            idjag_result::IDJAG_NOT_SUPPORTED => c"not_supported",
            idjag_result::IDJAG_REAUTHENTICATION_REQUIRED => c"reauthentication_required",
            idjag_result::IDJAG_VERIFICATION_FAILED => c"verification_failed",
            idjag_result::IDJAG_INTERNAL => c"internal",
            idjag_result::IDJAG_NULL_PARAMETER => c"null_parameter",
            idjag_result::IDJAG_INVALID_UTF8 => c"invalid_utf8",
            idjag_result::IDJAG_BUFFER_TOO_SMALL => c"buffer_too_small",
            idjag_result::IDJAG_PANIC => c"panic",
        }
    }
}

/// The stable snake_case name of a result: `"ok"` for `IDJAG_OK`, the error code shared by
/// every idjag language for 1 to 16 (`"invalid_argument"`, `"configuration"`, ...), and
/// `"null_parameter"`, `"invalid_utf8"`, `"buffer_too_small"` or `"panic"` for the C-only
/// results.
///
/// `result` is an `idjag_result`, taken as `uint32_t` (the same type in C) so that any value,
/// even one this library does not know, is checked rather than trusted.
///
/// # Ownership
/// The string is static: never free it.
///
/// # NULL
/// Returns NULL for a value that is not an `idjag_result`.
///
/// # Thread safety
/// Safe from any thread.
#[no_mangle]
pub extern "C" fn idjag_result_code(result: u32) -> *const c_char {
    infallible(std::ptr::null(), || {
        idjag_result::from_u32(result).map_or(std::ptr::null(), |r| r.code().as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_result_with_the_same_code() {
        for kind in ErrorKind::ALL {
            let r = idjag_result::of_kind(*kind);
            assert_eq!(r as u32, kind.number(), "{kind}");
            assert_eq!(r.code().to_str().expect("ascii"), kind.code());
            assert_eq!(r.kind(), Some(*kind));
        }
        // Every number below 100 other than 0 is a core kind, and the other way round.
        let core: Vec<_> = idjag_result::ALL
            .iter()
            .filter(|r| (1..100).contains(&(**r as u32)))
            .collect();
        assert_eq!(core.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn values_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for r in idjag_result::ALL {
            assert!(seen.insert(*r as u32));
            assert_eq!(idjag_result::from_u32(*r as u32), Some(*r));
            let code = idjag_result_code(*r as u32);
            assert!(!code.is_null());
            // SAFETY: a static NUL-terminated string.
            let code = unsafe { CStr::from_ptr(code) };
            assert_eq!(code, r.code());
        }
        for unknown in [17, 99, 104, 7000, u32::MAX] {
            assert_eq!(idjag_result::from_u32(unknown), None);
            assert!(idjag_result_code(unknown).is_null());
        }
    }

    #[test]
    fn c_only_results_belong_to_a_kind() {
        use idjag_result::*;
        assert_eq!(IDJAG_OK.kind(), None);
        for r in [
            IDJAG_NULL_PARAMETER,
            IDJAG_INVALID_UTF8,
            IDJAG_BUFFER_TOO_SMALL,
        ] {
            assert_eq!(r.kind(), Some(ErrorKind::InvalidArgument));
        }
        assert_eq!(IDJAG_PANIC.kind(), Some(ErrorKind::Internal));
    }
}
