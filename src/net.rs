//! The one rule for "this URL points at this machine": plain HTTP is
//! allowed only there (a local stand-in, tests, demos), everywhere else
//! passbridge and its stand-in require https.

use std::net::IpAddr;

use url::Url;

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_and_only_those() {
        for yes in [
            "http://127.0.0.1:1/",
            "http://[::1]/",
            "http://LocalHost/",
            "http://127.9.9.9/",
        ] {
            assert!(is_loopback_host(&Url::parse(yes).unwrap()), "{yes}");
        }
        for no in [
            "http://10.0.0.1/",
            "http://localhost.evil.example/",
            "http://example.com/",
        ] {
            assert!(!is_loopback_host(&Url::parse(no).unwrap()), "{no}");
        }
    }
}
