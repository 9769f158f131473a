//! Exit codes: the one table the code and `--help` both use (docs/GUIDE.md §4).
//!
//! 0 success, 2 usage error (clap), and for an error of kind *k* `9 + number(k)`, where
//! `number` runs from 1 (`invalid_argument`) to 16 (`internal`) in [`ErrorKind::ALL`]
//! order. Codes are never renumbered; a new kind gets the next number.

use idjag::ErrorKind;

/// The exit code of a usage error (clap's).
pub const USAGE: u8 = 2;

/// `(kind, number)`. `number` is the kind's stable number; the exit code is `9 + number`.
const NUMBERS: &[(ErrorKind, u8)] = &[
    (ErrorKind::InvalidArgument, 1),
    (ErrorKind::Configuration, 2),
    (ErrorKind::Transport, 3),
    (ErrorKind::Timeout, 4),
    (ErrorKind::HttpStatus, 5),
    (ErrorKind::OauthError, 6),
    (ErrorKind::ResponseInvalid, 7),
    (ErrorKind::ResponseTooLarge, 8),
    (ErrorKind::InsecureUrl, 9),
    (ErrorKind::RedirectRefused, 10),
    (ErrorKind::IssuerMismatch, 11),
    (ErrorKind::ResourceMismatch, 12),
    (ErrorKind::NotSupported, 13),
    (ErrorKind::ReauthenticationRequired, 14),
    (ErrorKind::VerificationFailed, 15),
    (ErrorKind::Internal, 16),
];

/// The stable number of an error kind (that of `internal` for a kind this build does not
/// know yet, which cannot happen while the table test passes).
pub fn number(kind: ErrorKind) -> u8 {
    NUMBERS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, n)| *n)
        .unwrap_or(16)
}

/// The exit code of an error kind.
pub fn code(kind: ErrorKind) -> u8 {
    9 + number(kind)
}

/// The exit-code section of `idjag --help`.
pub fn help() -> String {
    let mut s = String::from("Exit codes:\n     0  success\n");
    s.push_str(&format!("  {USAGE:>4}  usage (bad or missing arguments)\n"));
    for (kind, _) in NUMBERS {
        s.push_str(&format!("  {:>4}  {}\n", code(*kind), kind.code()));
    }
    s.push_str("\nWith --json, a failure prints {\"ok\": false, \"code\", \"number\", \"exit_code\", \"step\", \"action\", \"hint\", \"message\", \"url\", \"status\", \"oauth\", \"reason\"} on stdout.");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the documented codes (docs/GUIDE.md §4): changing one breaks scripts.
    #[test]
    fn exit_codes_are_pinned() {
        let pinned = [
            ("invalid_argument", 10),
            ("configuration", 11),
            ("transport", 12),
            ("timeout", 13),
            ("http_status", 14),
            ("oauth_error", 15),
            ("response_invalid", 16),
            ("response_too_large", 17),
            ("insecure_url", 18),
            ("redirect_refused", 19),
            ("issuer_mismatch", 20),
            ("resource_mismatch", 21),
            ("not_supported", 22),
            ("reauthentication_required", 23),
            ("verification_failed", 24),
            ("internal", 25),
        ];
        assert_eq!(
            NUMBERS.len(),
            ErrorKind::ALL.len(),
            "every kind has a number"
        );
        for (name, exit) in pinned {
            let kind = ErrorKind::from_code(name).expect(name);
            assert_eq!(code(kind), exit, "{name}");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(
                usize::from(number(*k)),
                i + 1,
                "{k}: numbers follow ErrorKind::ALL"
            );
            assert!(seen.insert(code(*k)), "{k} shares an exit code");
            assert!(code(*k) > USAGE);
        }
    }
}
