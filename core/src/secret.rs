//! A redacting, zeroizing string for every token, secret, assertion and private key.

use std::fmt;
use zeroize::Zeroizing;

/// A secret string: tokens, client secrets, assertions, private keys.
///
/// - `Debug` prints `SecretString([redacted])`; there is no `Display`, `PartialEq` or
///   `Serialize`, so a secret cannot be printed, compared in non-constant time or serialized
///   by accident.
/// - The memory is zeroized when the value is dropped.
/// - [`SecretString::expose_secret`] is the one explicit way to read it.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(Zeroizing::new(value.into()))
    }

    /// The secret value. Call this only where the secret must leave the process (request
    /// encoding) or be handed to the caller who asked for it.
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality (length is not hidden).
    pub fn ct_eq(&self, other: &str) -> bool {
        let a = self.0.as_bytes();
        let b = other.as_bytes();
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        SecretString::new(value)
    }
}

impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Zeroizing::new(String::deserialize(deserializer)?);
        Ok(SecretString::new(s.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::new("planted-secret-123");
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("planted-secret-123"));
        assert!(shown.contains("[redacted]"));
        assert_eq!(s.expose_secret(), "planted-secret-123");
    }

    #[test]
    fn deserializes_from_json_string() {
        let s: SecretString = serde_json::from_str("\"abc\"").expect("json");
        assert_eq!(s.expose_secret(), "abc");
        assert!(s.ct_eq("abc"));
        assert!(!s.ct_eq("abd"));
        assert!(!s.ct_eq("ab"));
    }
}
