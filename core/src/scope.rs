//! [`Scope`]: an OAuth 2.0 scope (RFC 6749 §3.3) — the one scope type of the crate.
//!
//! ```text
//! scope       = scope-token *( SP scope-token )
//! scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//! ```
//!
//! A scope is a **set** of scope-tokens: order and repetition carry no meaning, and two
//! scopes are equal when they hold the same tokens. `Scope` keeps its tokens sorted
//! (byte-wise) and de-duplicated, so its text form ([`Scope::as_str`], `Display`, serde) is
//! canonical: `"write read  read"` parses to the scope written `read write`.
//!
//! **Parsing.** Tokens are separated by ASCII spaces (`U+0020`); runs of spaces and
//! leading or trailing spaces are tolerated. Every other character must be a scope-token
//! character: a token holding anything else — a tab, a line break, another control
//! character, `"`, `\`, or any non-ASCII character — makes [`Scope::parse`] (and `FromStr`
//! and deserialization) fail with an [`ErrorKind::InvalidArgument`] error that names the
//! token's position and the offending character class, never the token itself.
//! [`Scope::parse_lossy`] instead drops such tokens and reports how many it dropped, for
//! text from a peer that is only advisory.
//!
//! [`ErrorKind::InvalidArgument`]: crate::ErrorKind::InvalidArgument

use crate::error::{Error, Result};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// An RFC 6749 §3.3 scope: a set of scope-tokens, kept sorted and de-duplicated.
///
/// ```
/// use idjag::Scope;
///
/// let granted = Scope::parse("mcp:write mcp:read")?;
/// let requested: Scope = "mcp:read".parse()?;
/// assert!(requested.is_subset(&granted));
/// assert_eq!(granted.as_str(), "mcp:read mcp:write");
/// assert_eq!(granted.intersection(&requested), requested);
/// assert!(Scope::parse("mcp:read\tmcp:write").is_err()); // a tab is not a separator
/// # Ok::<(), idjag::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    /// The canonical text: sorted, unique tokens joined by single spaces ("" when empty).
    text: String,
}

/// Whether `b` may appear in a scope-token (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
const fn is_token_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Why `token` is not a scope-token, as a description of its first bad character (never the
/// token's text).
fn bad_token(token: &str) -> Option<String> {
    let c = token
        .chars()
        .find(|c| !c.is_ascii() || !is_token_byte(*c as u8))?;
    Some(match c {
        '"' => "a double quote (`\"`)".to_string(),
        '\\' => "a backslash (`\\`)".to_string(),
        c if c.is_ascii_control() => format!("the control character U+{:04X}", u32::from(c)),
        _ => "a non-ASCII character".to_string(),
    })
}

fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|t| !t.is_empty())
}

impl Scope {
    /// The empty scope (no token).
    pub const fn empty() -> Scope {
        Scope {
            text: String::new(),
        }
    }

    /// Parses a space-delimited scope, refusing any token with a character outside the
    /// RFC 6749 §3.3 scope-token set (see the [module documentation](self)). An empty or
    /// all-space string is the empty scope.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument), naming the 1-based
    /// position of the first bad token and the kind of character that makes it bad.
    pub fn parse(s: &str) -> Result<Scope> {
        let mut list: Vec<&str> = Vec::new();
        for (i, t) in tokens(s).enumerate() {
            if let Some(why) = bad_token(t) {
                return Err(Error::invalid_argument(format!(
                    "scope token {} contains {why}, which RFC 6749 §3.3 does not allow",
                    i + 1
                )));
            }
            list.push(t);
        }
        Ok(Scope::from_valid(list))
    }

    /// Parses leniently: tokens that [`Scope::parse`] would refuse are dropped. Returns the
    /// scope of the remaining tokens and the number of tokens dropped.
    pub fn parse_lossy(s: &str) -> (Scope, usize) {
        let mut dropped = 0;
        let list: Vec<&str> = tokens(s)
            .filter(|t| {
                let ok = bad_token(t).is_none();
                dropped += usize::from(!ok);
                ok
            })
            .collect();
        (Scope::from_valid(list), dropped)
    }

    /// Builds from tokens already known to be valid.
    fn from_valid(mut list: Vec<&str>) -> Scope {
        list.sort_unstable();
        list.dedup();
        Scope {
            text: list.join(" "),
        }
    }

    /// The canonical text: sorted, unique tokens separated by single spaces (`""` when
    /// empty).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the scope holds no token.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The tokens, in canonical (byte-wise sorted) order, each once.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        tokens(&self.text)
    }

    /// Whether `token` is one of the scope's tokens (exact, case-sensitive comparison).
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// Every token that is in `self`, in `other`, or in both.
    pub fn union(&self, other: &Scope) -> Scope {
        self.merge(other, |in_self, in_other| in_self || in_other)
    }

    /// Every token that is in both `self` and `other`.
    pub fn intersection(&self, other: &Scope) -> Scope {
        self.merge(other, |in_self, in_other| in_self && in_other)
    }

    /// Every token of `self` that is not in `other`.
    pub fn difference(&self, other: &Scope) -> Scope {
        self.merge(other, |in_self, in_other| in_self && !in_other)
    }

    /// Whether every token of `self` is in `other` (the empty scope is a subset of any).
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.difference(other).is_empty()
    }

    /// Walks both sorted token lists once and keeps the tokens for which `keep(in self, in
    /// other)` holds.
    fn merge(&self, other: &Scope, keep: impl Fn(bool, bool) -> bool) -> Scope {
        let (mut a, mut b) = (self.iter().peekable(), other.iter().peekable());
        let mut out: Vec<&str> = Vec::new();
        loop {
            let (token, in_a, in_b) = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(x), None) => (*x, true, false),
                (None, Some(y)) => (*y, false, true),
                (Some(x), Some(y)) => match x.cmp(y) {
                    Ordering::Less => (*x, true, false),
                    Ordering::Greater => (*y, false, true),
                    Ordering::Equal => (*x, true, true),
                },
            };
            if in_a {
                a.next();
            }
            if in_b {
                b.next();
            }
            if keep(in_a, in_b) {
                out.push(token);
            }
        }
        // Already sorted and unique.
        Scope {
            text: out.join(" "),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({:?})", self.text)
    }
}

impl FromStr for Scope {
    type Err = Error;

    fn from_str(s: &str) -> Result<Scope> {
        Scope::parse(s)
    }
}

impl<'a> FromIterator<&'a Scope> for Scope {
    /// The union of the scopes.
    fn from_iter<I: IntoIterator<Item = &'a Scope>>(iter: I) -> Scope {
        iter.into_iter().fold(Scope::empty(), |acc, s| acc.union(s))
    }
}

impl Serialize for Scope {
    /// As its canonical space-delimited string.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Scope {
    /// From a space-delimited string, validated like [`Scope::parse`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct ScopeVisitor;
        impl Visitor<'_> for ScopeVisitor {
            type Value = Scope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a space-delimited scope string (RFC 6749 §3.3)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Scope, E> {
                Scope::parse(v).map_err(|e| E::custom(e.message()))
            }
        }
        deserializer.deserialize_str(ScopeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn s(text: &str) -> Scope {
        match Scope::parse(text) {
            Ok(s) => s,
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    #[test]
    fn parse_normalises_order_repetition_and_spaces() {
        assert_eq!(s("write read  read ").as_str(), "read write");
        assert_eq!(s("  b   a ").to_string(), "a b");
        assert_eq!(s("b a"), s("a b a"));
        assert!(s("").is_empty() && s("   ").is_empty());
        assert_eq!(s("").as_str(), "");
        assert_eq!(s("x y z").len(), 3);
        assert_eq!(s("z y x").iter().collect::<Vec<_>>(), ["x", "y", "z"]);
        // Byte-wise order, case-sensitive tokens.
        assert_eq!(s("b B a").as_str(), "B a b");
        assert!(!s("Read").contains("read"));
        // Every allowed character class, including the edges of each range.
        let edges = "! # [ ] ~ mcp:tools/call urn:x:y?z=1&w";
        assert_eq!(s(edges).len(), 7);
    }

    #[test]
    fn characters_outside_the_rfc_set_are_refused_without_echo() {
        for (text, why) in [
            ("a\tb", "U+0009"),
            ("a\nb", "U+000A"),
            ("ok \"quoted\"", "double quote"),
            ("ok back\\slash", "backslash"),
            ("ok café", "non-ASCII"),
            ("ok \u{7f}", "U+007F"),
            ("ok a\u{a0}b", "non-ASCII"),
        ] {
            let e = Scope::parse(text).expect_err(text);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{text:?}");
            assert!(e.message().contains(why), "{text:?}: {e}");
            assert!(!e.message().contains("quoted") && !e.message().contains("caf"));
            assert!(text.parse::<Scope>().is_err());
        }
        assert!(Scope::parse("ok café")
            .expect_err("bad")
            .message()
            .contains("token 2"));
    }

    #[test]
    fn lossy_parse_drops_and_counts_bad_tokens() {
        let (scope, dropped) = Scope::parse_lossy("b a\tc \"d\" a");
        assert_eq!((scope.as_str(), dropped), ("a b", 2));
        assert_eq!(Scope::parse_lossy("  "), (Scope::empty(), 0));
    }

    #[test]
    fn set_algebra() {
        let (a, b) = (s("read write admin"), s("write read list"));
        assert_eq!(a.union(&b), s("admin list read write"));
        assert_eq!(a.intersection(&b), s("read write"));
        assert_eq!(a.difference(&b), s("admin"));
        assert!(s("read").is_subset(&a));
        assert!(s("write read").is_subset(&a));
        assert!(!s("read list").is_subset(&a));
        assert!(Scope::empty().is_subset(&a));
        assert!(Scope::empty().is_subset(&Scope::empty()));
        assert!(!a.is_subset(&Scope::empty()));
        assert!(a.intersection(&Scope::empty()).is_empty());
        assert_eq!(a.union(&Scope::empty()), a);
        assert!(a.contains("admin") && !a.contains("adm") && !a.contains(""));
        let all: Scope = [&a, &b, &s("z")].into_iter().collect();
        assert_eq!(all.as_str(), "admin list read write z");
        // Prefixes and shared stems are distinct tokens.
        assert_eq!(s("a ab abc").intersection(&s("ab b")), s("ab"));
    }

    #[test]
    fn serde_is_the_canonical_string() {
        let v: Scope = serde_json::from_str(r#""write  read""#).expect("scope");
        assert_eq!(serde_json::to_string(&v).expect("json"), r#""read write""#);
        assert_eq!(
            serde_json::to_string(&Scope::empty()).expect("json"),
            r#""""#
        );
        let e = serde_json::from_str::<Scope>(r#""a\tb""#).expect_err("tab");
        assert!(e.to_string().contains("U+0009"), "{e}");
        assert!(serde_json::from_str::<Scope>(r#"["a"]"#).is_err());
        assert!(serde_json::from_str::<Scope>("7").is_err());
        assert_eq!(format!("{v:?}"), r#"Scope("read write")"#);
    }
}
