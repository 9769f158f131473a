//! Removing echoed secrets from server-supplied text before it is bounded and kept in an
//! [`Error`](crate::Error).
//!
//! A token endpoint that fails may echo what it was sent: the subject token, the refresh
//! token, the ID-JAG, the client secret or the client assertion, raw or re-encoded. The
//! [`Scrubber`] of a request knows every secret value the request carried and replaces, in one
//! left-to-right pass over the *whole* text (so a secret straddling the length bound is still
//! found), every occurrence of
//!
//! - each secret in raw form, with any of its bytes written as a percent escape (`%2B`, `%2b`),
//!   `+` for a space (form encoding), a JSON escape (`\/`, `\u002B`) or an HTML character
//!   reference (`&#43;`, `&#x2B;`, `&amp;`, …) — decoded byte by byte, so every mix of encoded
//!   and plain characters matches;
//! - each secret in base64, standard and url-safe alphabets, with or without padding, at each of
//!   the three byte alignments (so it is also found inside a larger base64 blob, e.g. an echoed
//!   `Authorization: Basic` value);
//! - a fragment of at least [`MIN_FRAGMENT`] bytes from the start of any of these forms (a
//!   server that cut the secret short, or a secret cut by the end of the body);
//!
//! by `[redacted]`, replaces control characters by spaces (no forged log lines), and stops at
//! the byte bound with `…`. Secrets shorter than [`MIN_SECRET`] bytes are not searched: they
//! would match ordinary words.

use base64::Engine as _;

/// Secrets shorter than this are not searched for.
pub(crate) const MIN_SECRET: usize = 4;
/// A prefix of a secret (in any form) at least this long is redacted as if it were the secret.
pub(crate) const MIN_FRAGMENT: usize = 12;
/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// The secret values of one request, in every form they are searched for.
#[derive(Default)]
pub(crate) struct Scrubber {
    patterns: Vec<zeroize::Zeroizing<Vec<u8>>>,
}

/// The characters of `base64(pad_k ‖ secret)` that depend only on `secret` (dropping those
/// that mix in the `k` leading filler bytes or the trailing padding bits): a substring of the
/// base64 form of any byte string that contains `secret` at an offset ≡ `k` (mod 3).
fn base64_core(engine: &base64::engine::GeneralPurpose, secret: &[u8], k: usize) -> Vec<u8> {
    let mut input = zeroize::Zeroizing::new(vec![0u8; k]);
    input.extend_from_slice(secret);
    let enc = zeroize::Zeroizing::new(engine.encode(&input[..]).into_bytes());
    let skip = match k {
        0 => 0,
        1 => 2,
        _ => 3,
    };
    let total_bits = input.len() * 8;
    let full_chars = total_bits / 6;
    if full_chars <= skip {
        return Vec::new();
    }
    enc[skip..full_chars].to_vec()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The ways the text at `i` may encode one byte: (byte, length in the text). At most a few.
fn units(t: &[u8], i: usize, out: &mut Vec<(u8, usize)>) {
    out.clear();
    let Some(&c) = t.get(i) else { return };
    out.push((c, 1));
    match c {
        b'%' => {
            if let (Some(h), Some(l)) = (
                t.get(i + 1).copied().and_then(hex),
                t.get(i + 2).copied().and_then(hex),
            ) {
                out.push((h * 16 + l, 3));
            }
        }
        b'+' => out.push((b' ', 1)),
        b'\\' => match t.get(i + 1) {
            Some(b'/') => out.push((b'/', 2)),
            Some(b'u') => {
                let mut v: u32 = 0;
                for j in 0..4 {
                    match t.get(i + 2 + j).copied().and_then(hex) {
                        Some(h) => v = v * 16 + h as u32,
                        None => return,
                    }
                }
                if v < 0x80 {
                    out.push((v as u8, 6));
                }
            }
            _ => {}
        },
        b'&' => {
            for (name, byte) in [
                (&b"&amp;"[..], b'&'),
                (b"&lt;", b'<'),
                (b"&gt;", b'>'),
                (b"&quot;", b'"'),
                (b"&apos;", b'\''),
            ] {
                if t[i..].starts_with(name) {
                    out.push((byte, name.len()));
                    return;
                }
            }
            // &#NNN; or &#xHH;
            if t.get(i + 1) != Some(&b'#') {
                return;
            }
            let (radix, mut j) = match t.get(i + 2) {
                Some(b'x' | b'X') => (16u32, i + 3),
                _ => (10u32, i + 2),
            };
            let start = j;
            let mut v: u32 = 0;
            while let Some(d) = t.get(j).and_then(|&b| (b as char).to_digit(radix)) {
                v = v.saturating_mul(radix).saturating_add(d);
                j += 1;
                if j - start > 8 {
                    return;
                }
            }
            if j > start && t.get(j) == Some(&b';') && v < 0x80 {
                out.push((v as u8, j + 1 - i));
            }
        }
        _ => {}
    }
}

impl Scrubber {
    /// A scrubber for these secret values (empty strings and values shorter than
    /// [`MIN_SECRET`] are skipped).
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut s = Scrubber::default();
        for secret in secrets {
            s.add(secret);
        }
        s
    }

    /// Adds one secret value.
    pub(crate) fn add(&mut self, secret: &str) {
        let raw = secret.as_bytes();
        if raw.len() < MIN_SECRET {
            return;
        }
        let mut push = |p: Vec<u8>| {
            if p.len() >= MIN_SECRET && !self.patterns.iter().any(|q| q[..] == p[..]) {
                self.patterns.push(zeroize::Zeroizing::new(p));
            } else {
                let mut p = p;
                zeroize::Zeroize::zeroize(&mut p);
            }
        };
        push(raw.to_vec());
        for engine in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::URL_SAFE,
        ] {
            for k in 0..3 {
                push(base64_core(engine, raw, k));
            }
        }
    }

    /// Whether there is nothing to search for.
    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The end (exclusive) of the longest match of any pattern starting at `i`, if any.
    fn match_at(&self, t: &[u8], i: usize, scratch: &mut Vec<(u8, usize)>) -> Option<usize> {
        units(t, i, scratch);
        let firsts: Vec<u8> = scratch.iter().map(|(b, _)| *b).collect();
        let mut best: Option<usize> = None;
        let mut states: Vec<usize> = Vec::with_capacity(4);
        let mut next: Vec<usize> = Vec::with_capacity(4);
        for p in &self.patterns {
            if !firsts.contains(&p[0]) {
                continue;
            }
            states.clear();
            states.push(i);
            let mut matched = 0;
            for &want in p.iter() {
                next.clear();
                for &pos in &states {
                    units(t, pos, scratch);
                    for &(b, len) in scratch.iter() {
                        if b == want && !next.contains(&(pos + len)) {
                            next.push(pos + len);
                        }
                    }
                }
                if next.is_empty() {
                    break;
                }
                std::mem::swap(&mut states, &mut next);
                matched += 1;
            }
            if matched == p.len() || matched >= MIN_FRAGMENT {
                if let Some(&end) = states.iter().max() {
                    best = Some(best.map_or(end, |b| b.max(end)));
                }
            }
        }
        best
    }

    /// `text` with every secret replaced by `[redacted]` and control characters by spaces,
    /// cut (after scrubbing) to at most `max` bytes plus a trailing `…`.
    pub(crate) fn clean(&self, text: &str, max: usize) -> String {
        let t = text.as_bytes();
        let mut out = String::with_capacity(text.len().min(max.saturating_add(3)));
        let mut scratch = Vec::with_capacity(4);
        let mut i = 0;
        while i < t.len() {
            if !self.patterns.is_empty() {
                if let Some(mut end) = self.match_at(t, i, &mut scratch) {
                    while end < t.len() && !text.is_char_boundary(end) {
                        end += 1;
                    }
                    if !out.ends_with(REDACTED) {
                        if out.len() + REDACTED.len() > max {
                            out.push('…');
                            return out;
                        }
                        out.push_str(REDACTED);
                    }
                    i = end;
                    continue;
                }
            }
            let Some(c) = text[i..].chars().next() else {
                break;
            };
            if out.len() + c.len_utf8() > max {
                out.push('…');
                return out;
            }
            out.push(if c.is_control() { ' ' } else { c });
            i += c.len_utf8();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

    const SECRET: &str = "rt-Zx9/+q=w&ü~long-refresh-token-0123456789";

    fn percent_all(s: &str) -> String {
        s.bytes().map(|b| format!("%{b:02X}")).collect()
    }

    /// Lowercases the hex digits of percent escapes only.
    fn lower_escapes(s: &str) -> String {
        let mut out = String::new();
        let mut left = 0;
        for c in s.chars() {
            if c == '%' {
                left = 2;
                out.push(c);
            } else if left > 0 {
                left -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn every_encoding_is_redacted() {
        let sc = Scrubber::new([SECRET]);
        let form: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
        let b64s = [
            STANDARD.encode(SECRET),
            STANDARD_NO_PAD.encode(SECRET),
            URL_SAFE.encode(SECRET),
            URL_SAFE_NO_PAD.encode(SECRET),
            // embedded at each alignment inside a larger base64 blob
            STANDARD.encode(format!("x{SECRET}y")),
            STANDARD.encode(format!("xy{SECRET}z")),
            URL_SAFE_NO_PAD.encode(format!("client:{SECRET}")),
        ];
        let mut forms = vec![
            SECRET.to_string(),
            form.clone(),
            lower_escapes(&form),
            percent_all(SECRET),
            lower_escapes(&percent_all(SECRET)),
            SECRET.replace('/', "\\/"),
            SECRET.replace('+', "\\u002B").replace('&', "&amp;"),
            SECRET.replace('=', "&#61;").replace('+', "&#x2b;"),
        ];
        forms.extend(b64s);
        for f in forms {
            let text = format!("bad token <{f}> here");
            let got = sc.clean(&text, 4096);
            assert!(!got.contains(&f), "{f} -> {got}");
            assert!(got.contains(REDACTED), "{f} -> {got}");
            assert!(
                got.starts_with("bad token <") && got.ends_with("> here"),
                "{got}"
            );
        }
    }

    #[test]
    fn scrubbing_happens_before_the_bound() {
        let long = format!("{}{}", "A".repeat(10), "z9".repeat(200));
        let sc = Scrubber::new([long.as_str()]);
        let text = format!("error: {long} was rejected");
        let got = sc.clean(&text, 256);
        assert_eq!(got, "error: [redacted] was rejected");
        // A server that cut the secret short still has its fragment removed.
        let text = format!("error: {}", &long[..100]);
        assert_eq!(sc.clean(&text, 256), "error: [redacted]");
        // Unrelated text is bounded as before.
        let got = sc.clean(&"é\n".repeat(400), 256);
        assert!(got.len() <= 256 + '…'.len_utf8() && !got.contains('\n'));
    }

    #[test]
    fn short_values_and_empty_scrubbers_leave_text_alone() {
        let sc = Scrubber::new(["pw", ""]);
        assert!(sc.is_empty());
        assert_eq!(sc.clean("a pw\tb", 256), "a pw b");
        let sc = Scrubber::new(["abcd"]);
        assert_eq!(sc.clean("xabcdx abc", 256), "x[redacted]x abc");
    }

    #[test]
    fn hostile_text_is_cheap() {
        // Many near-misses of a long secret: bounded work (the output bound stops the pass).
        let secret = "a".repeat(4000) + "b";
        let sc = Scrubber::new([secret.as_str()]);
        let text = "a".repeat(11) + "c";
        let text = text.repeat(6000);
        let started = std::time::Instant::now();
        let _ = sc.clean(&text, 256);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
