//! The URL policy: https, or http to a loopback host only; no
//! credentials in URLs; and the SSRF guard for URLs a server supplied (RFC 9728 §7.7).

use crate::error::{sanitize_server_text, Error, ErrorKind, Step};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host name without the one trailing dot of a fully qualified name (`localhost.` →
/// `localhost`), lowercased.
fn normalized_domain(d: &str) -> String {
    d.strip_suffix('.').unwrap_or(d).to_ascii_lowercase()
}

/// Whether `host` (as in a URL) names the local machine: `localhost` (also `localhost.`),
/// `127.0.0.0/8`, `::1`.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => normalized_domain(d) == "localhost",
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Parses `url` and enforces the transport rule: `https`, or `http`
/// to a loopback host only. No userinfo. Messages show the URL without its query (which may
/// carry secrets), sanitized.
pub fn check_url(url: &str, step: Step) -> Result<url::Url, Error> {
    let parsed = url::Url::parse(url).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            step,
            format!(
                "`{}` is not an absolute URL ({e})",
                sanitize_server_text(url)
            ),
        )
    })?;
    let host = parsed.host().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            step,
            format!("`{}` has no host", display_url(&parsed)),
        )
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::new(
            ErrorKind::InsecureUrl,
            step,
            "URLs with credentials (user:password@) are refused",
        ));
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback_host(&host) => Ok(parsed),
        "http" => Err(Error::new(
            ErrorKind::InsecureUrl,
            step,
            format!(
                "`{}` is plain http; only https (or http to a loopback host) is allowed",
                display_url(&parsed)
            ),
        )),
        other => Err(Error::new(
            ErrorKind::InsecureUrl,
            step,
            format!(
                "scheme `{}` is not allowed (https only)",
                sanitize_server_text(other)
            ),
        )),
    }
}

/// A URL for a message: no query, no fragment, control characters removed, truncated.
pub(crate) fn display_url(u: &url::Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.set_fragment(None);
    sanitize_server_text(u.as_str())
}

/// Whether `host` (as in a URL) is an internal host by its form alone: `localhost` and
/// `*.localhost` (RFC 6761, with or without the trailing dot), or a literal address that is not
/// globally reachable ([`is_global_ip`]). Other names are not resolved here: the default HTTP
/// client checks the addresses it resolves (see [`AddressPolicy`](super::AddressPolicy)).
pub fn is_internal_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            let d = normalized_domain(d);
            d == "localhost" || d.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => !is_global_ip(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => !is_global_ip(IpAddr::V6(*ip)),
    }
}

/// Whether `ip` is globally reachable, i.e. not one of the special-purpose blocks that the
/// IANA registries of RFC 6890 mark "not globally reachable" (or that carry such an address
/// inside). A request that a public server steered us to may connect only to such addresses
/// (RFC 9728 §7.7).
///
/// Not global, IPv4: `0.0.0.0/8`, `10.0.0.0/8`, `100.64.0.0/10` (shared, RFC 6598),
/// `127.0.0.0/8`, `169.254.0.0/16` (link-local; cloud metadata at 169.254.169.254),
/// `172.16.0.0/12`, `192.0.0.0/24` (except the anycast `192.0.0.9` and `192.0.0.10`),
/// `192.0.2.0/24`, `192.88.99.0/24` (6to4 relays), `192.168.0.0/16`, `198.18.0.0/15`
/// (benchmarking), `198.51.100.0/24`, `203.0.113.0/24`, `224.0.0.0/4` (multicast) and
/// `240.0.0.0/4` (reserved, with the broadcast address).
///
/// Not global, IPv6: everything outside `2000::/3` (so `::`, `::1`, IPv4-compatible
/// `::a.b.c.d` such as `::7f00:1`, `100::/64` discard, `fc00::/7` unique-local, `fe80::/10`
/// link-local, `fec0::/10` site-local, `ff00::/8` multicast), IPv4-mapped `::ffff:a.b.c.d`
/// and NAT64 `64:ff9b::a.b.c.d` judged by their IPv4 address (`64:ff9b:1::/48`, local-use
/// NAT64, and `5f00::/16`, SRv6, lie outside `2000::/3`), and inside `2000::/3`: `2001::/23`
/// (IETF protocol assignments: Teredo, benchmarking, ORCHID…), `2001:db8::/32` and `3fff::/20`
/// (documentation), and `2002::/16` (6to4, which embeds an IPv4 address).
pub fn is_global_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => global_v4(v4),
        IpAddr::V6(v6) => global_v6(v6),
    }
}

fn global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, d] = ip.octets();
    let not_global = a == 0
        || a == 10
        || (a == 100 && (b & 0xc0) == 64)
        || a == 127
        || (a == 169 && b == 254)
        || (a == 172 && (b & 0xf0) == 16)
        || (a == 192 && b == 0 && c == 0 && d != 9 && d != 10)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (b & 0xfe) == 18)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224;
    !not_global
}

fn global_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // IPv4 embedded in the last 32 bits.
    let v4 = Ipv4Addr::new(
        (seg[6] >> 8) as u8,
        seg[6] as u8,
        (seg[7] >> 8) as u8,
        seg[7] as u8,
    );
    if seg[..5] == [0, 0, 0, 0, 0] && seg[5] == 0xffff {
        return global_v4(v4); // ::ffff:0:0/96 IPv4-mapped
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return global_v4(v4); // 64:ff9b::/96 NAT64 (RFC 6052)
    }
    if (seg[0] & 0xe000) != 0x2000 {
        return false; // outside 2000::/3 global unicast
    }
    let not_global = (seg[0] == 0x2001 && (seg[1] < 0x0200 || seg[1] == 0x0db8)) // 2001::/23, 2001:db8::/32
        || seg[0] == 0x2002 // 2002::/16 6to4
        || (seg[0] == 0x3fff && seg[1] < 0x1000); // 3fff::/20
    !not_global
}

/// SSRF guard for URLs a server handed us (RFC 9728 §7.7), judged by the form of
/// the hosts: when the MCP server the user chose is on a public host, a URL it points us to
/// (PRM location, authorization server, token endpoint, JWKS) must not name an internal host.
/// Internal-to-internal is allowed (development, on-premises deployments); the user's own
/// configuration is never checked by this. [`Client::discover`](crate::Client::discover)
/// also classifies a context by the addresses its name resolves to, and has the default HTTP
/// client check every resolved address (see [`AddressPolicy`](super::AddressPolicy)).
pub fn check_server_supplied_url(
    context: &url::Url,
    target: &str,
    step: Step,
) -> Result<url::Url, Error> {
    let internal = context.host().as_ref().is_some_and(is_internal_host);
    check_supplied_url(context, internal, target, step)
}

/// [`check_server_supplied_url`] with the context's class already known.
pub(crate) fn check_supplied_url(
    context: &url::Url,
    context_internal: bool,
    target: &str,
    step: Step,
) -> Result<url::Url, Error> {
    let t = check_url(target, step)?;
    let target_internal = t.host().as_ref().is_some_and(is_internal_host);
    if target_internal && !context_internal {
        return Err(refused(&display_url(&t), context, step));
    }
    Ok(t)
}

/// The error for an internal target supplied by a public server.
pub(crate) fn refused(target: &str, context: &url::Url, step: Step) -> Error {
    Error::new(
        ErrorKind::InsecureUrl,
        step,
        format!(
            "`{target}` points into an internal network but was supplied by the public server `{}`; refused (RFC 9728 §7.7)",
            sanitize_server_text(&context.origin().ascii_serialization())
        ),
    )
}

/// Whether an IP address is loopback (helper for hosts that resolve names themselves).
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    ip.is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_only() {
        assert!(check_url("https://idp.example.com/x", Step::Discovery).is_ok());
        assert!(check_url("http://127.0.0.1:8080/x", Step::Discovery).is_ok());
        assert!(check_url("http://127.9.9.9/x", Step::Discovery).is_ok());
        assert!(check_url("http://localhost/x", Step::Discovery).is_ok());
        assert!(check_url("http://[::1]:9/x", Step::Discovery).is_ok());
        let e = check_url("http://idp.example.com/x", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        let e = check_url("http://localhost.evil.com/x", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        let e = check_url("ftp://idp.example.com/x", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        let e = check_url("https://u:p@idp.example.com/x", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        let e = check_url("not a url", Step::Discovery).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn internal_hosts() {
        let internal =
            |u: &str| is_internal_host(&url::Url::parse(u).expect("url").host().expect("host"));
        for u in [
            "https://127.0.0.1/",
            "https://localhost/",
            "https://a.localhost/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            // Trailing dot of a fully qualified name.
            "https://localhost./",
            "https://a.localhost./",
            // Documentation prefix: not globally reachable (RFC 6890 registry; was "public"
            // before the address ranges were completed).
            "https://[2001:db8::1]/",
        ] {
            assert!(internal(u), "{u}");
        }
        for u in [
            "https://as.example.com/",
            "https://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
            "https://172.32.0.1/",
            "https://localhost.evil.com/",
        ] {
            assert!(!internal(u), "{u}");
        }
        let public = url::Url::parse("https://mcp.example.com/mcp").expect("url");
        let local = url::Url::parse("http://127.0.0.1:8000/mcp").expect("url");
        let e =
            check_server_supplied_url(&public, "https://169.254.169.254/latest", Step::Discovery)
                .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        assert!(
            check_server_supplied_url(&public, "https://as.example.com", Step::Discovery).is_ok()
        );
        assert!(
            check_server_supplied_url(&local, "http://127.0.0.1:9000", Step::Discovery).is_ok()
        );
        let e = check_server_supplied_url(&public, "http://localhost.:9000/", Step::Discovery)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    }

    #[test]
    fn loopback_with_trailing_dot() {
        let loopback = |s: &str| {
            let u = url::Url::parse(s).expect("url");
            is_loopback_host(&u.host().expect("host"))
        };
        assert!(loopback("http://localhost./"));
        assert!(loopback("http://LOCALHOST./"));
        assert!(!loopback("http://localhost.evil./"));
        assert!(check_url("http://localhost.:8080/x", Step::Discovery).is_ok());
    }

    #[test]
    fn special_purpose_ranges_are_not_global() {
        let ip = |s: &str| s.parse::<IpAddr>().expect(s);
        for s in [
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::7f00:1",         // IPv4-compatible ::127.0.0.1
            "::a9fe:a9fe",      // IPv4-compatible ::169.254.169.254
            "::ffff:127.0.0.1", // IPv4-mapped
            "::ffff:a9fe:a9fe",
            "64:ff9b::a00:1",  // NAT64 of 10.0.0.1
            "64:ff9b::7f00:1", // NAT64 of 127.0.0.1
            "64:ff9b:1::1",    // local-use NAT64
            "100::1",          // discard-only
            "2001::1",         // Teredo
            "2001:2::1",       // benchmarking
            "2001:10::1",      // ORCHID
            "2001:db8::1",     // documentation
            "2002:a00:1::1",   // 6to4 of 10.0.0.1
            "2002:808:808::1", // 6to4 at all
            "3fff::1",         // documentation (RFC 9637)
            "5f00::1",         // SRv6 SIDs
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1", // site-local (deprecated)
            "ff02::1",
        ] {
            assert!(!is_global_ip(ip(s)), "{s} must not be global");
        }
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.0.9",
            "192.0.0.10",
            "192.0.3.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2001:200::1",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808", // NAT64 of 8.8.8.8
        ] {
            assert!(is_global_ip(ip(s)), "{s} must be global");
        }
    }
}
