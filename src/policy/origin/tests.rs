use super::set::RequestOrigin;
use super::*;

fn set(patterns: &[&str]) -> OriginSet {
    let mut set = OriginSet::default();
    for p in patterns {
        set.insert(OriginPattern::parse(p).unwrap());
    }
    set
}

#[test]
fn normalizes_case_and_default_ports() {
    let exact = |s: &str| OriginPattern::Exact(s.to_string());
    assert_eq!(
        OriginPattern::parse("HTTPS://App.Example.COM"),
        Ok(exact("https://app.example.com"))
    );
    assert_eq!(
        OriginPattern::parse("https://a.com:443"),
        Ok(exact("https://a.com"))
    );
    assert_eq!(
        OriginPattern::parse("http://a.com:80"),
        Ok(exact("http://a.com"))
    );
    assert_eq!(
        OriginPattern::parse("http://a.com:443"),
        Ok(exact("http://a.com:443"))
    );
    assert_eq!(
        OriginPattern::parse("http://[::1]:8080"),
        Ok(exact("http://[::1]:8080"))
    );
    assert_eq!(OriginPattern::parse("null"), Ok(OriginPattern::Null));
    assert_eq!(OriginPattern::parse("*"), Ok(OriginPattern::Any));
}

#[test]
fn refuses_what_is_not_an_origin_with_exact_messages() {
    let cases = [
        (
            "https://*.com",
            "a wildcard needs at least two labels after it",
        ),
        ("https://a.com/", "an origin has no trailing slash"),
        ("https://a.com/x", "an origin has no path"),
        ("https://a.com?x", "an origin has no query"),
        ("https://a.com#x", "an origin has no fragment"),
        ("https://u@a.com", "an origin has no userinfo"),
        ("a.com", "expected scheme://host[:port], \"null\" or \"*\""),
        ("NULL", "expected scheme://host[:port], \"null\" or \"*\""),
        ("1http://a.com", "the scheme is not valid"),
        ("https://", "the host is empty"),
        ("https://a.com.", "the host has a trailing dot"),
        ("https://a*.b.com", "\"*\" must be the whole leftmost label"),
        (
            "https://a.*.b.com",
            "\"*\" must be the whole leftmost label",
        ),
        (
            "https://*.*.b.com",
            "\"*\" must be the whole leftmost label",
        ),
        ("https://a..com", "the host is not a valid name"),
        ("https://a b.com", "the host is not a valid name"),
        (
            "https://bücher.de",
            "the host is not ASCII; write it in punycode (xn--...)",
        ),
        (
            "https://a.com:0",
            "the port must be a number from 1 to 65535",
        ),
        (
            "https://a.com:65536",
            "the port must be a number from 1 to 65535",
        ),
        (
            "https://a.com:08",
            "the port must be a number from 1 to 65535",
        ),
        (
            "https://a.com:",
            "the port must be a number from 1 to 65535",
        ),
        (
            "http://[::g]",
            "not a valid IPv6 address, so no browser can send it",
        ),
    ];
    for (input, message) in cases {
        assert_eq!(
            OriginPattern::parse(input),
            Err(message.to_string()),
            "{input}"
        );
    }
}

#[test]
fn hosts_no_browser_sends_are_errors_that_say_what_it_sends() {
    let instead = |form: &str| format!("a browser sends \"{form}\" instead; write that");
    let never_v4 = "not a valid IPv4 address, so no browser can send it".to_string();
    let never_v6 = "not a valid IPv6 address, so no browser can send it".to_string();
    let cases = [
        ("http://[1]", never_v6.clone()),
        ("http://[1::2::3]", never_v6.clone()),
        ("http://[fe80::1%25eth0]", never_v6.clone()),
        ("http://[0:0:0:0:0:0:0:1]", instead("http://[::1]")),
        (
            "http://[0:0:0:0:0:0:0:1]:8080",
            instead("http://[::1]:8080"),
        ),
        ("http://[0:0::1]:*", instead("http://[::1]:*")),
        (
            "http://[::ffff:1.2.3.4]",
            instead("http://[::ffff:102:304]"),
        ),
        (
            "http://[2001:db8:0:0:1:0:0:1]",
            instead("http://[2001:db8::1:0:0:1]"),
        ),
        ("http://[0001::]", instead("http://[1::]")),
        ("http://[1:0:0:2:0:0:0:3]", instead("http://[1:0:0:2::3]")),
        ("http://127.1", instead("http://127.0.0.1")),
        ("http://0x7f.0.0.1", instead("http://127.0.0.1")),
        ("http://0x7F.1:3000", instead("http://127.0.0.1:3000")),
        ("http://010.0.0.1", instead("http://8.0.0.1")),
        ("http://2130706433", instead("http://127.0.0.1")),
        // The last number fills the bytes the others leave.
        ("http://10.65536", instead("http://10.1.0.0")),
        ("http://10.0.256", instead("http://10.0.1.0")),
        (
            "http://127.0.0.1.",
            "the host has a trailing dot".to_string(),
        ),
        ("http://1.2.3.256", never_v4.clone()),
        ("http://1.2.3.4.5", never_v4.clone()),
        ("http://08.0.0.1", never_v4.clone()),
        ("http://a.123", never_v4.clone()),
        ("http://a.0x", never_v4.clone()),
        ("http://1.+2.3.4", never_v4.clone()),
        ("http://4294967296", never_v4),
        (
            "https://*.0.0.1",
            "\"*.\" before a number never matches: a host ending in a number is an IPv4 \
             address, which has no subdomains"
                .to_string(),
        ),
        (
            &format!("https://{}.example.com", "a".repeat(64)),
            "a label of 64 bytes, so no browser can send it (DNS allows at most 63)".to_string(),
        ),
        (
            &format!("https://*.{}.com", ["a"; 127].join(".")),
            "a host of 257 bytes, so no browser can send it (DNS allows at most 253)".to_string(),
        ),
    ];
    for (input, message) in cases {
        assert_eq!(OriginPattern::parse(input), Err(message), "{input}");
    }
    // What browsers do send loads as it was, a host of 253 bytes too.
    let longest_host = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61),
    ]
    .join(".");
    for written in [
        "http://[::1]",
        "http://[2001:db8::1]:8080",
        "http://[::ffff:102:304]",
        "http://[::]",
        "http://127.0.0.1",
        "http://0.0.0.0:*",
        "http://255.255.255.255",
        "https://a1.example.com",
        "https://*.example.123a",
        &format!("https://{}.example.com", "a".repeat(63)),
        &format!("https://{longest_host}"),
    ] {
        let pattern = OriginPattern::parse(written);
        assert_eq!(
            pattern.map(|p| p.normalized()).as_deref(),
            Ok(written),
            "{written}"
        );
    }
}

#[test]
fn exact_origins_match_byte_for_byte() {
    let s = set(&["https://app.example.com", "http://localhost:3000"]);
    assert!(s.allows(b"https://app.example.com"));
    assert!(s.allows(b"http://localhost:3000"));
    for denied in [
        &b"https://APP.example.com"[..],
        b"https://app.example.com:443",
        b"https://app.example.com.",
        b"https://app.example.com/",
        b"http://app.example.com",
        b"https://app.example.com.evil.net",
        b"https://evil-app.example.com",
        b"http://localhost:30000",
        b"null",
        b"",
        b"\xff\xfe",
    ] {
        assert!(!s.allows(denied), "{}", String::from_utf8_lossy(denied));
    }
}

#[test]
fn subdomain_wildcards_match_any_depth_but_never_the_apex() {
    let s = set(&["https://*.example.com"]);
    assert!(s.allows(b"https://a.example.com"));
    assert!(s.allows(b"https://a.b.c.example.com"));
    for denied in [
        &b"https://example.com"[..],
        b"https://evil-example.com",
        b"https://aexample.com",
        b"https://.example.com",
        b"https://a..example.com",
        b"http://a.example.com",
        b"https://a.example.com:8443",
        b"https://a.example.com.evil.net",
        b"https://A.example.com",
        b"https://a.example.com/",
    ] {
        assert!(!s.allows(denied), "{}", String::from_utf8_lossy(denied));
    }
}

#[test]
fn hosts_beyond_dns_lengths_never_match() {
    let s = set(&["https://*.example.com"]);
    let label = |n| "a".repeat(n);
    assert!(s.allows(format!("https://{}.example.com", label(63)).as_bytes()));
    assert!(!s.allows(format!("https://{}.example.com", label(64)).as_bytes()));
    assert!(!s.allows(format!("https://{}.example.com", label(65_536)).as_bytes()));
    let long = [label(60).as_str(); 4].join(".");
    assert!(!s.allows(format!("https://{long}.example.com").as_bytes()));
}

#[test]
fn origins_longer_than_any_real_one_are_refused_before_any_pattern() {
    let mut s = set(&["*"]);
    let scheme = |n: usize| format!("{}://x.example.org", "a".repeat(n));
    assert_eq!(s.judge(scheme(32).as_bytes()), Verdict::Allowed);
    assert_eq!(
        s.judge(scheme(33).as_bytes()),
        Verdict::Oversized(Oversized::Scheme(33))
    );
    assert_eq!(s.judge(&[b'x'; 300]), Verdict::Allowed);
    assert_eq!(
        s.judge(&[b'x'; 301]),
        Verdict::Oversized(Oversized::Origin(301))
    );
    let long = scheme(58_000);
    assert_eq!(
        s.judge(long.as_bytes()),
        Verdict::Oversized(Oversized::Origin(58_016))
    );
    // The regex would allow them all; it never sees them.
    s = OriginSet::default();
    s.add_regex(".*").unwrap();
    assert!(s.allows(scheme(32).as_bytes()));
    assert!(!s.allows(scheme(33).as_bytes()));
    assert!(!s.allows(long.as_bytes()));
    // The scheme is what comes before the first "://", wherever that is.
    assert_eq!(Oversized::of(b"null"), None);
    assert_eq!(Oversized::of(&[b'a'; 300]), None);
    assert_eq!(
        Oversized::of(format!("{}://a://b", "a".repeat(33)).as_bytes()),
        Some(Oversized::Scheme(33))
    );
}

#[test]
fn oversized_origins_say_why() {
    assert_eq!(
        Oversized::Origin(58_016).to_string(),
        "58016 bytes, longer than any real origin (at most 300)"
    );
    assert_eq!(
        Oversized::Scheme(33).to_string(),
        "a scheme of 33 bytes, longer than any real one (at most 32)"
    );
}

#[test]
fn a_configured_scheme_over_the_cap_is_an_error() {
    let scheme = |n: usize| format!("{}://a.example.com", "a".repeat(n));
    assert!(OriginPattern::parse(&scheme(32)).is_ok());
    assert_eq!(
        OriginPattern::parse(&scheme(33)),
        Err(
            "a scheme of 33 bytes never matches: a request's Origin is denied when its \
             scheme is over 32"
                .to_string()
        )
    );
}

#[test]
fn the_pathological_regex_of_the_review_is_refused() {
    let mut s = OriginSet::default();
    let error = s.add_regex(".*[a-z]{1,1000}[a-z]{1,1000}").unwrap_err();
    assert_eq!(
        error.message,
        "not a valid regex: compiled regex exceeded size limit (2048 bytes, so that no \
         Origin can make it slow; a counted repetition such as {1,63} compiles to a copy \
         per count: prefer + or *)"
    );
    assert!(s
        .add_regex(r"https://[a-z0-9-]{1,63}\.example\.com")
        .is_err());
    assert!(s.add_regex(r"https://[a-z0-9-]+\.example\.com").is_ok());
    assert!(s
        .add_regex(r"https://(app|admin|api)-[0-9]{1,4}\.example\.com")
        .is_ok());
    // The same shape as large as the limit allows: the worst regex tests/hostile.rs and
    // the benchmark run over the longest Origin a regex sees.
    assert!(s.add_regex(".*[a-z]{1,11}[a-z]{1,11}").is_ok());
    assert!(s.add_regex(".*[a-z]{1,12}[a-z]{1,12}").is_err());
}

#[test]
fn any_port_includes_none() {
    let s = set(&["http://localhost:*", "https://*.dev.example.com:*"]);
    assert!(s.allows(b"http://localhost"));
    assert!(s.allows(b"http://localhost:1"));
    assert!(s.allows(b"http://localhost:65535"));
    assert!(s.allows(b"https://x.dev.example.com:8443"));
    assert!(!s.allows(b"http://localhost:0"));
    assert!(!s.allows(b"http://localhost:65536"));
    assert!(!s.allows(b"http://localhost:080"));
    assert!(!s.allows(b"https://localhost:3000"));
    assert!(!s.allows(b"http://localhost.evil.net:3000"));
    assert!(!s.allows(b"https://dev.example.com:8443"));
}

#[test]
fn any_port_excludes_a_spelled_out_default_port() {
    let s = set(&[
        "https://example.com:*",
        "https://*.example.com:*",
        "http://127.0.0.1:*",
    ]);
    assert!(!s.allows(b"https://example.com:443"));
    assert!(!s.allows(b"https://a.example.com:443"));
    assert!(!s.allows(b"http://127.0.0.1:80"));
    assert!(s.allows(b"https://example.com:80"));
    assert!(s.allows(b"https://a.example.com:8443"));
    assert!(s.allows(b"http://127.0.0.1:443"));
}

#[test]
fn a_numbered_port_admits_only_that_port() {
    let s = set(&["https://*.example.com:8443", "http://localhost:3000"]);
    assert!(s.allows(b"https://a.example.com:8443"));
    assert!(!s.allows(b"https://a.example.com:9999"));
    assert!(!s.allows(b"https://a.example.com"));
    assert!(!s.allows(b"http://localhost:3001"));
    assert!(!s.allows(b"http://localhost"));
}

#[test]
fn null_only_when_listed_and_star_allows_all() {
    assert!(!set(&["https://a.com"]).allows(b"null"));
    assert!(set(&["null"]).allows(b"null"));
    assert!(set(&["*"]).allows(b"https://anything.example"));
}

#[test]
fn regexes_are_anchored_at_both_ends() {
    let mut s = OriginSet::default();
    s.add_regex(r"https://[a-z]+\.example\.com").unwrap();
    assert!(s.allows(b"https://app.example.com"));
    assert!(!s.allows(b"https://app.example.com.evil.net"));
    assert!(!s.allows(b"https://evil.net/https://app.example.com"));
    assert!(!s.allows(b"xhttps://app.example.com"));
    // Alternation is grouped before anchoring, so neither branch escapes.
    let mut s = OriginSet::default();
    s.add_regex(r"https://a\.com|https://b\.com").unwrap();
    assert!(!s.allows(b"https://a.com.evil.net"));
    assert!(!s.allows(b"https://evil.net.https://b.com"));
    assert!(s.allows(b"https://b.com"));
}

#[test]
fn a_regex_cannot_close_the_group_that_anchors_it() {
    let mut s = OriginSet::default();
    let error = s.add_regex(r"https://a\.com)|(.*").unwrap_err();
    assert!(error.message.starts_with("not a valid regex: "), "{error}");
    assert!(s.add_regex(r"(?x)https://a\.com # a comment").is_err());
    assert!(!s.allows(b"https://evil.net"));
}

#[test]
fn regexes_are_bounded_in_size_and_nesting() {
    let mut s = OriginSet::default();
    assert!(s.add_regex("https://[a-z]{0,10}").is_ok());
    assert!(s.add_regex("https://[a-z]{0,1000}").is_err());
    assert!(s.add_regex("(?:a{0,100}){0,100}").is_err());
    let nested = |n: usize| format!("{}a{}", "(?:".repeat(n), ")".repeat(n));
    let at_limit = s.add_regex(&nested(MAX_REGEX_NESTING as usize));
    assert!(at_limit.is_ok(), "{at_limit:?}");
    let error = s
        .add_regex(&nested(MAX_REGEX_NESTING as usize + 1))
        .unwrap_err();
    assert_eq!(
        error.message,
        "not a valid regex: pattern has too much nesting"
    );
}

#[test]
fn a_regex_never_admits_a_malformed_origin() {
    let mut s = OriginSet::default();
    s.add_regex(".*").unwrap();
    assert!(s.allows(b"https://x.y"));
    assert!(!s.allows(b"https://x.y/path"));
    assert!(!s.allows(b"https://x.y\r\nset-cookie: a=b"));
    assert!(s.allows(b"https://[::1]"));
    assert!(!s.allows(b"https://[]"));
    assert!(!s.allows(b"https://[x\"y]"));
}

#[test]
fn request_origins_parse_strictly() {
    assert!(RequestOrigin::parse(b"https://a.com:8080").is_some());
    assert!(RequestOrigin::parse(b"http://[::1]:3000").is_some());
    assert!(RequestOrigin::parse(b"https://a.com:").is_none());
    assert!(RequestOrigin::parse(b"https://user@a.com").is_none());
    assert!(RequestOrigin::parse(b"HTTPS://a.com").is_none());
}
