//! Testkit SAML 2.0 assertions.
//!
//! **These assertions are not signed** (no XML-DSig) and the parser is a few string searches,
//! not an XML parser: the testkit only needs something shaped like a SAML assertion to
//! exercise the `urn:ietf:params:oauth:token-type:saml2` subject-token path of clients
//! (RFC 8693 §3: the value is the base64url-encoded assertion). The IdP accepts exactly the
//! assertions minted by [`crate::TestKit::mint_saml_assertion`] (or hand-written ones of the
//! same shape) and checks `Issuer` = IdP issuer, `Audience` = the authenticated IdP client,
//! `NotOnOrAfter` in the future and a non-empty `NameID` (the user).

use base64::Engine as _;

/// What to put in a minted assertion; `None` fields take the kit defaults.
#[derive(Clone, Debug, Default)]
pub struct SamlSpec {
    /// The user (`NameID`).
    pub user: String,
    /// `Issuer` (default: the IdP issuer).
    pub issuer: Option<String>,
    /// `Audience` (default: the IdP confidential client id).
    pub audience: Option<String>,
    /// `NotOnOrAfter` as Unix seconds (default: now + 300).
    pub not_on_or_after: Option<i64>,
}

impl SamlSpec {
    /// A spec for `user` with every other field defaulted.
    pub fn new(user: impl Into<String>) -> SamlSpec {
        SamlSpec {
            user: user.into(),
            ..Default::default()
        }
    }
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn fmt_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub(crate) fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let time = time.split('.').next()?;
    let mut tp = time.split(':');
    let hh: i64 = tp.next()?.parse().ok()?;
    let mm: i64 = tp.next()?.parse().ok()?;
    let ss: i64 = tp.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Builds the XML and returns it base64url-encoded (no padding).
pub(crate) fn mint(
    issuer: &str,
    user: &str,
    audience: &str,
    now: i64,
    not_on_or_after: i64,
) -> String {
    let id = format!("_{}", uuid::Uuid::new_v4().simple());
    let xml = format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}">"#,
            r#"<saml:Issuer>{iss}</saml:Issuer>"#,
            r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">{user}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{noa}"/></saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{now}" NotOnOrAfter="{noa}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{now}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            r#"</saml:Assertion>"#
        ),
        id = id,
        now = fmt_utc(now),
        iss = xml_escape(issuer),
        user = xml_escape(user),
        aud = xml_escape(audience),
        noa = fmt_utc(not_on_or_after),
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(xml.as_bytes())
}

/// The parts of an assertion the IdP checks.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub issuer: String,
    pub name_id: String,
    pub audiences: Vec<String>,
    pub not_on_or_after: i64,
}

/// Text content of the first `<{tag} …>…</{tag}>`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = xml.find(&format!("<{tag}"))?;
    let rest = &xml[open + tag.len() + 1..];
    // Must be followed by '>' or whitespace (not a longer tag name).
    let first = rest.chars().next()?;
    if first != '>' && !first.is_whitespace() {
        return element(rest, tag);
    }
    let gt = rest.find('>')?;
    let body = &rest[gt + 1..];
    let close = body.find(&format!("</{tag}>"))?;
    Some(body[..close].trim())
}

fn all_elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(v) = element(rest, tag) {
        out.push(v);
        let Some(pos) = rest.find(&format!("</{tag}>")) else {
            break;
        };
        rest = &rest[pos + tag.len() + 3..];
    }
    out
}

fn attribute<'a>(xml: &'a str, tag: &str, attr: &str) -> Option<&'a str> {
    let open = xml.find(&format!("<{tag} "))?;
    let rest = &xml[open..];
    let end = rest.find('>')?;
    let start_tag = &rest[..end];
    let key = format!("{attr}=\"");
    let at = start_tag.find(&key)?;
    let v = &start_tag[at + key.len()..];
    Some(&v[..v.find('"')?])
}

/// Decodes (base64url, padded or not; standard base64 tolerated) and extracts the checked
/// parts. Errors are short reasons for the request log.
pub(crate) fn parse(token: &str) -> Result<Parsed, &'static str> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    let t = token.trim();
    let bytes = URL_SAFE_NO_PAD
        .decode(t)
        .or_else(|_| URL_SAFE.decode(t))
        .or_else(|_| STANDARD.decode(t))
        .map_err(|_| "saml assertion is not base64")?;
    let xml = String::from_utf8(bytes).map_err(|_| "saml assertion is not UTF-8")?;
    if element(&xml, "saml:Assertion").is_none() {
        return Err("not a saml:Assertion");
    }
    let issuer = element(&xml, "saml:Issuer").ok_or("saml assertion without Issuer")?;
    let name_id = element(&xml, "saml:NameID").ok_or("saml assertion without NameID")?;
    let audiences = all_elements(&xml, "saml:Audience");
    let noa = attribute(&xml, "saml:Conditions", "NotOnOrAfter")
        .and_then(parse_utc)
        .ok_or("saml assertion without Conditions/@NotOnOrAfter")?;
    Ok(Parsed {
        issuer: xml_unescape(issuer),
        name_id: xml_unescape(name_id),
        audiences: audiences.into_iter().map(xml_unescape).collect(),
        not_on_or_after: noa,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_roundtrip() {
        for t in [
            0_i64,
            951_782_400,
            1_700_000_000,
            4_102_444_800,
            1_709_208_000,
        ] {
            assert_eq!(parse_utc(&fmt_utc(t)), Some(t), "{}", fmt_utc(t));
        }
        assert_eq!(fmt_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_utc("2024-02-29T12:00:00.123Z"), Some(1_709_208_000));
    }

    #[test]
    fn mint_and_parse() {
        let t = mint("http://idp", "a<b", "client", 1_700_000_000, 1_700_000_300);
        let p = parse(&t).expect("parse");
        assert_eq!(p.issuer, "http://idp");
        assert_eq!(p.name_id, "a<b");
        assert_eq!(p.audiences, vec!["client".to_string()]);
        assert_eq!(p.not_on_or_after, 1_700_000_300);
        assert!(parse("bm90IHhtbA").is_err());
    }
}
