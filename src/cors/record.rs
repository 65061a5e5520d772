//! The decision as one line for Envoy's access log, the same from every host:
//! `actual_denied policy=api origin "https://evil.example" is not allowed`.

use super::evaluate::Evaluation;
use super::outcome::Outcome;
use std::fmt::Write;

impl Evaluation {
    /// The outcome (a counter's name, or `disabled`), the policy, `report_only` when it is,
    /// and the reason of a denial; `None` when no policy matched.
    pub fn record(&self) -> Option<String> {
        let (_, policy) = self.policy.as_ref()?;
        let outcome = match &self.outcome {
            Outcome::Disabled => "disabled",
            outcome => outcome.counter()?.name(),
        };
        let mut line = format!("{outcome} policy={}", policy.name);
        if policy.report_only {
            line.push_str(" report_only");
        }
        if let Outcome::PreflightDenied(denial) | Outcome::ActualDenied(denial) = &self.outcome {
            let _ = write!(line, " {denial}");
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use crate::cors::evaluate;
    use crate::cors::request::HeaderPairs;
    use crate::policy::Config;
    use serde_json::json;

    #[test]
    fn each_matched_request_records_its_outcome_policy_and_reason() {
        let config = Config::from_tree(&json!({"policies": [
            {"name": "admin", "match": {"path_prefixes": ["/admin"]}, "disabled": true},
            {"name": "watch", "match": {"path_prefixes": ["/watch"]},
             "allow_origins": ["https://app.example.com"], "report_only": true},
            {"name": "api", "match": {"path_prefixes": ["/api"]},
             "allow_origins": ["https://app.example.com"]},
        ]}))
        .unwrap();
        let record = |headers: &[(&'static str, &str)]| {
            evaluate(&config, &HeaderPairs::new(headers)).record()
        };
        let evil = ("origin", "https://evil.example");
        let app = ("origin", "https://app.example.com");
        let cases = [
            (
                vec![(":path", "/api/x"), evil],
                Some(r#"actual_denied policy=api origin "https://evil.example" is not allowed"#),
            ),
            (
                vec![(":path", "/api/x"), app],
                Some("actual_allowed policy=api"),
            ),
            (vec![(":path", "/api/x")], Some("no_origin policy=api")),
            (
                vec![
                    (":path", "/api/x"),
                    (":method", "OPTIONS"),
                    app,
                    ("access-control-request-method", "PUT"),
                ],
                Some(r#"preflight_denied policy=api method "PUT" is not allowed"#),
            ),
            (
                vec![
                    (":path", "/api/x"),
                    (":method", "OPTIONS"),
                    app,
                    ("access-control-request-method", "GET"),
                ],
                Some("preflight_allowed policy=api"),
            ),
            (
                vec![(":path", "/watch"), evil],
                Some(
                    r#"actual_denied policy=watch report_only origin "https://evil.example" is not allowed"#,
                ),
            ),
            (
                vec![(":path", "/admin"), evil],
                Some("disabled policy=admin"),
            ),
            (vec![(":path", "/other"), evil], None),
        ];
        for (headers, expected) in cases {
            assert_eq!(record(&headers).as_deref(), expected, "{headers:?}");
        }
    }
}
