//! Which requests a policy applies to: `match.routes`, `match.hosts`, `match.path_prefixes`.

use super::origin::is_dns_name;

/// All given conditions must hold; inside one list any entry may.
#[derive(Debug, Default)]
pub struct RequestMatch {
    pub routes: Option<Vec<Vec<u8>>>,
    pub hosts: Option<Vec<HostPattern>>,
    pub path_prefixes: Option<Vec<Vec<u8>>>,
}

/// What a request offers for matching; each is read only when some policy needs it.
#[derive(Debug, Default)]
pub struct RequestFacts {
    pub route: Option<Vec<u8>>,
    pub authority: Option<Vec<u8>>,
    pub path: Option<Vec<u8>>,
}

/// One of a `match`'s conditions, named as in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Routes,
    Hosts,
    PathPrefixes,
}

impl Condition {
    pub fn field(self) -> &'static str {
        match self {
            Condition::Routes => "routes",
            Condition::Hosts => "hosts",
            Condition::PathPrefixes => "path_prefixes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// `*.example.com`: any subdomain at any depth, never `example.com` itself.
    Subdomains(String),
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let lower = text.to_ascii_lowercase();
        let (name, pattern): (&str, fn(String) -> HostPattern) = match lower.strip_prefix("*.") {
            Some(suffix) => (suffix, HostPattern::Subdomains),
            None => (&lower, HostPattern::Exact),
        };
        if is_dns_name(name.as_bytes()) {
            Ok(pattern(name.to_string()))
        } else {
            Err("expected a host name such as api.example.com or *.example.com".into())
        }
    }

    fn fits(&self, host: &[u8]) -> bool {
        match self {
            HostPattern::Exact(name) => host.eq_ignore_ascii_case(name.as_bytes()),
            // At least one label before `.suffix`.
            HostPattern::Subdomains(suffix) => host
                .len()
                .checked_sub(suffix.len())
                .and_then(|cut| host.split_at_checked(cut))
                .is_some_and(|(labels, tail)| {
                    tail.eq_ignore_ascii_case(suffix.as_bytes())
                        && labels.len() > 1
                        && labels.ends_with(b".")
                }),
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            HostPattern::Exact(name) => f.write_str(name),
            HostPattern::Subdomains(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

impl RequestMatch {
    /// Each condition given, with its entries as text, in `match`'s field order.
    pub fn conditions(&self) -> Vec<(Condition, Vec<String>)> {
        let text = |bytes: &Vec<u8>| String::from_utf8_lossy(bytes).into_owned();
        let routes = self.routes.as_ref().map(|r| r.iter().map(text).collect());
        let hosts = self
            .hosts
            .as_ref()
            .map(|h| h.iter().map(ToString::to_string).collect());
        let prefixes = self
            .path_prefixes
            .as_ref()
            .map(|p| p.iter().map(text).collect());
        [
            (Condition::Routes, routes),
            (Condition::Hosts, hosts),
            (Condition::PathPrefixes, prefixes),
        ]
        .into_iter()
        .filter_map(|(condition, entries)| Some((condition, entries?)))
        .collect()
    }

    /// No condition: every request fits.
    pub fn is_everything(&self) -> bool {
        self.routes.is_none() && self.hosts.is_none() && self.path_prefixes.is_none()
    }

    pub fn fits(&self, facts: &RequestFacts) -> bool {
        self.unfit(facts).is_none()
    }

    /// The first condition the request does not meet, if any (for explaining a request).
    pub fn unfit(&self, facts: &RequestFacts) -> Option<Condition> {
        let route_fits = |routes: &Vec<Vec<u8>>| {
            let route = facts.route.as_deref().unwrap_or_default();
            routes.iter().any(|r| r == route)
        };
        let host_fits = |hosts: &Vec<HostPattern>| {
            let host = host_of(facts.authority.as_deref().unwrap_or_default());
            hosts.iter().any(|h| h.fits(host))
        };
        let path_fits = |prefixes: &Vec<Vec<u8>>| {
            let path = path_of(facts.path.as_deref().unwrap_or_default());
            prefixes.iter().any(|p| path.starts_with(p))
        };
        if !self.routes.as_ref().is_none_or(route_fits) {
            Some(Condition::Routes)
        } else if !self.hosts.as_ref().is_none_or(host_fits) {
            Some(Condition::Hosts)
        } else if !self.path_prefixes.as_ref().is_none_or(path_fits) {
            Some(Condition::PathPrefixes)
        } else {
            None
        }
    }
}

/// A policy's `match` as sorted lists, to tell whether it takes every request another
/// `match` fits: then a later policy with that `match` can never apply. Binary searches,
/// so a pair of long lists costs a few lookups per entry of the later list, not a product
/// of the two (and no hash table code in the module for a configure-time warning).
pub struct Coverage<'a> {
    routes: Option<Sorted<'a>>,
    /// Exact host names, and the suffixes of `*.` patterns.
    hosts: Option<(Sorted<'a>, Sorted<'a>)>,
    /// The prefixes, and their distinct lengths in ascending order.
    path_prefixes: Option<(Sorted<'a>, Vec<usize>)>,
}

struct Sorted<'a>(Vec<&'a [u8]>);

impl<'a> Sorted<'a> {
    fn of(items: impl Iterator<Item = &'a [u8]>) -> Sorted<'a> {
        let mut items: Vec<&[u8]> = items.collect();
        items.sort_unstable();
        Sorted(items)
    }

    fn contains(&self, item: &[u8]) -> bool {
        self.0.binary_search(&item).is_ok()
    }
}

/// The lengths of `prefixes`, each once, ascending: marked in a list as long as the longest
/// rather than sorted, so that the module's one sort stays the one of byte strings.
fn distinct_lengths(prefixes: &[Vec<u8>]) -> Vec<usize> {
    let longest = prefixes.iter().map(Vec::len).max().unwrap_or(0);
    let mut present = vec![false; longest + 1];
    for prefix in prefixes {
        if let Some(present) = present.get_mut(prefix.len()) {
            *present = true;
        }
    }
    (0..=longest)
        .filter(|&n| present.get(n) == Some(&true))
        .collect()
}

impl<'a> Coverage<'a> {
    pub fn of(m: &'a RequestMatch) -> Coverage<'a> {
        let hosts = m.hosts.as_ref().map(|hosts| {
            let names = |subdomains: bool| {
                Sorted::of(hosts.iter().filter_map(move |host| match host {
                    HostPattern::Exact(name) if !subdomains => Some(name.as_bytes()),
                    HostPattern::Subdomains(suffix) if subdomains => Some(suffix.as_bytes()),
                    _ => None,
                }))
            };
            (names(false), names(true))
        });
        let path_prefixes = m.path_prefixes.as_ref().map(|prefixes| {
            let lengths = distinct_lengths(prefixes);
            (Sorted::of(prefixes.iter().map(Vec::as_slice)), lengths)
        });
        Coverage {
            routes: (m.routes.as_ref()).map(|r| Sorted::of(r.iter().map(Vec::as_slice))),
            hosts,
            path_prefixes,
        }
    }

    /// Whether this `match` fits every request that `other` fits.
    pub fn covers(&self, other: &RequestMatch) -> bool {
        /// No condition here, or one that each of `theirs` (which must be given) meets.
        fn each<M, T>(
            mine: &Option<M>,
            theirs: &Option<Vec<T>>,
            f: impl Fn(&M, &T) -> bool,
        ) -> bool {
            match (mine, theirs) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(mine), Some(list)) => list.iter().all(|item| f(mine, item)),
            }
        }
        each(&self.routes, &other.routes, |routes, route| {
            routes.contains(route)
        }) && each(&self.hosts, &other.hosts, |(exact, subdomains), host| {
            let (name, own) = match host {
                HostPattern::Exact(name) => (name, exact.contains(name.as_bytes())),
                HostPattern::Subdomains(suffix) => (suffix, subdomains.contains(suffix.as_bytes())),
            };
            // Every host `name` stands for is a subdomain of each of its proper suffixes.
            own || name
                .match_indices('.')
                .filter_map(|(i, _)| name.get(i + 1..))
                .any(|suffix| subdomains.contains(suffix.as_bytes()))
        }) && each(
            &self.path_prefixes,
            &other.path_prefixes,
            |(prefixes, lengths), prefix| {
                lengths
                    .iter()
                    .map_while(|&n| prefix.get(..n))
                    .any(|start| prefixes.contains(start))
            },
        )
    }
}

/// `:authority` without its port: `a.com:8080` → `a.com`, `[::1]:80` → `[::1]`.
fn host_of(authority: &[u8]) -> &[u8] {
    let end = if authority.first() == Some(&b'[') {
        authority.iter().position(|&b| b == b']').map(|i| i + 1)
    } else {
        authority.iter().rposition(|&b| b == b':')
    };
    end.and_then(|i| authority.get(..i)).unwrap_or(authority)
}

/// The path before any query.
fn path_of(path: &[u8]) -> &[u8] {
    path.split(|&b| b == b'?').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(route: &str, authority: &str, path: &str) -> RequestFacts {
        RequestFacts {
            route: Some(route.into()),
            authority: Some(authority.into()),
            path: Some(path.into()),
        }
    }

    #[test]
    fn hosts_ignore_port_and_case_and_wildcards_skip_the_apex() {
        let m = RequestMatch {
            hosts: Some(vec![
                HostPattern::parse("API.example.com").unwrap(),
                HostPattern::parse("*.apps.example.com").unwrap(),
            ]),
            ..Default::default()
        };
        assert!(m.fits(&facts("", "api.example.com:8080", "/")));
        assert!(m.fits(&facts("", "Api.Example.Com", "/")));
        assert!(m.fits(&facts("", "a.b.apps.example.com", "/")));
        assert!(!m.fits(&facts("", "apps.example.com", "/")));
        assert!(!m.fits(&facts("", ".apps.example.com", "/")));
        assert!(m.fits(&facts("", "x.apps.example.com", "/")));
        assert!(!m.fits(&facts("", "evilapps.example.com", "/")));
        assert!(!m.fits(&facts("", "api.example.com.evil.net", "/")));
        assert!(!m.fits(&RequestFacts::default()));
    }

    /// What `match.hosts` compares: the authority without its port, an IPv6 literal with
    /// its brackets (which no host name pattern fits).
    #[test]
    fn the_host_is_the_authority_without_its_port() {
        assert_eq!(host_of(b"a.com:8080"), b"a.com");
        assert_eq!(host_of(b"a.com"), b"a.com");
        assert_eq!(host_of(b"[::1]:80"), b"[::1]");
        assert_eq!(host_of(b"[2001:db8::1]"), b"[2001:db8::1]");
    }

    #[test]
    fn path_prefixes_look_before_the_query() {
        let m = RequestMatch {
            path_prefixes: Some(vec![b"/api/".to_vec()]),
            ..Default::default()
        };
        assert!(m.fits(&facts("", "", "/api/v1?x=1")));
        assert!(!m.fits(&facts("", "", "/apiv1")));
        assert!(!m.fits(&facts("", "", "/x?/api/")));
    }

    #[test]
    fn all_conditions_must_hold() {
        let m = RequestMatch {
            routes: Some(vec![b"r1".to_vec(), b"r2".to_vec()]),
            path_prefixes: Some(vec![b"/a".to_vec()]),
            ..Default::default()
        };
        assert!(m.fits(&facts("r2", "", "/a")));
        assert!(!m.fits(&facts("r3", "", "/a")));
        assert!(!m.fits(&facts("r1", "", "/b")));
        assert!(RequestMatch::default().fits(&RequestFacts::default()));
        assert_eq!(m.unfit(&facts("r3", "", "/b")), Some(Condition::Routes));
        assert_eq!(
            m.unfit(&facts("r1", "", "/b")),
            Some(Condition::PathPrefixes)
        );
        assert_eq!(m.unfit(&facts("r1", "", "/a")), None);
    }

    #[test]
    fn host_patterns_are_validated() {
        assert!(HostPattern::parse("*.com").is_ok());
        for bad in ["", "*", "a..b", "a b", "*.", "a.*.b", "a.com:80"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
