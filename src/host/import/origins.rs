//! A source's origin matchers (exact strings, prefixes, suffixes, substrings, regexes) as
//! `allow_origins` and `allow_origin_regexes` that match exactly the same origins.

use crate::policy::origin::OriginPattern;
use regex_lite::{escape, RegexBuilder};

/// One origin matcher of a source, in its own meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    /// Matching the whole origin (RE2's full match in Envoy).
    Regex(String),
}

/// The origins a policy allows, in cors-wasm's terms.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Origins {
    pub exact: Vec<String>,
    pub regexes: Vec<String>,
    /// A matcher matched the text `*`: Envoy then allows every origin.
    pub matches_star: bool,
}

impl Origins {
    /// Adds `matcher` (compared case-insensitively with `ignore_case`); an error says why
    /// it cannot be imported.
    pub fn add(&mut self, matcher: &Matcher, ignore_case: bool) -> Result<(), String> {
        let ignore_case = ignore_case && !matches!(matcher, Matcher::Regex(_));
        let body = match matcher {
            Matcher::Exact(s) => escape(s),
            Matcher::Prefix(s) => format!("{}.*", escape(s)),
            Matcher::Suffix(s) => format!(".*{}", escape(s)),
            Matcher::Contains(s) => format!(".*{}.*", escape(s)),
            Matcher::Regex(r) => r.clone(),
        };
        let regex = if ignore_case {
            format!("(?i){body}")
        } else {
            body
        };
        let whole = RegexBuilder::new(&format!("^(?:{regex})$"))
            .build()
            .map_err(|e| format!("not a regex cors-wasm can run (regex-lite): {e}"))?;
        self.matches_star |= whole.is_match("*");
        match matcher {
            Matcher::Exact(s) if !ignore_case && is_serialized_origin(s) => {
                push_new(&mut self.exact, s);
            }
            _ => {
                // cors-wasm's regexes never see the opaque origin: it is listed by name.
                if whole.is_match("null") {
                    push_new(&mut self.exact, "null");
                }
                push_new(&mut self.regexes, &regex);
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.regexes.is_empty()
    }
}

/// An origin as a browser serializes it, which cors-wasm's `allow_origins` reads as itself
/// (not a pattern with `*`, not one it would rewrite, such as a default port or upper case).
fn is_serialized_origin(text: &str) -> bool {
    match OriginPattern::parse(text) {
        Ok(OriginPattern::Exact(normal)) => normal == text,
        Ok(OriginPattern::Null) => true,
        _ => false,
    }
}

fn push_new(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::{Matcher, Origins};

    fn origins(matchers: &[(Matcher, bool)]) -> Origins {
        let mut origins = Origins::default();
        for (m, ignore_case) in matchers {
            origins.add(m, *ignore_case).unwrap();
        }
        origins
    }

    #[test]
    fn serialized_exact_origins_stay_origins_and_others_match_only_themselves() {
        let o = origins(&[
            (Matcher::Exact("https://a.com".into()), false),
            (Matcher::Exact("https://A.com".into()), false),
            (Matcher::Exact("https://*.a.com".into()), false),
            (Matcher::Exact("https://a.com:443".into()), false),
            (Matcher::Exact("https://b.com".into()), true),
        ]);
        assert_eq!(o.exact, ["https://a.com"]);
        assert_eq!(
            o.regexes,
            [
                r"https://A\.com",
                r"https://\*\.a\.com",
                r"https://a\.com:443",
                r"(?i)https://b\.com"
            ]
        );
        assert!(!o.matches_star);
    }

    #[test]
    fn prefixes_suffixes_and_substrings_become_anchored_regexes() {
        let o = origins(&[
            (Matcher::Prefix("https://app.".into()), false),
            (Matcher::Suffix(".example.com".into()), false),
            (Matcher::Contains("local".into()), true),
        ]);
        assert_eq!(
            o.regexes,
            [r"https://app\..*", r".*\.example\.com", r"(?i).*local.*"]
        );
    }

    #[test]
    fn a_matcher_of_star_or_null_is_said() {
        let o = origins(&[(Matcher::Regex(".*".into()), false)]);
        assert!(o.matches_star);
        assert_eq!(o.exact, ["null"]);
        let o = origins(&[(Matcher::Exact("*".into()), false)]);
        assert!(o.matches_star);
        assert!(Origins::default()
            .add(&Matcher::Regex("(?=a)".into()), false)
            .unwrap_err()
            .starts_with("not a regex cors-wasm can run"));
    }

    #[test]
    fn origins_are_empty_until_a_matcher_adds_an_origin_or_a_regex() {
        assert!(Origins::default().is_empty());
        let exact = origins(&[(Matcher::Exact("https://a.com".into()), false)]);
        assert!(exact.regexes.is_empty() && !exact.is_empty());
        let regex = origins(&[(Matcher::Prefix("https://".into()), false)]);
        assert!(regex.exact.is_empty() && !regex.is_empty());
    }

    #[test]
    fn the_exact_origin_null_is_listed_as_itself_not_as_a_regex() {
        let o = origins(&[(Matcher::Exact("null".into()), false)]);
        assert_eq!(o.exact, ["null"]);
        assert!(o.regexes.is_empty(), "{:?}", o.regexes);
    }
}
