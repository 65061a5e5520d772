//! The steps every proxy host takes the same way: validate the configuration it is handed,
//! logging each error and warning, and say how long it took; decide a request and log why
//! it was denied. A host supplies its log ([`Log`]) and carries out what comes back.

use crate::cors::{self, Evaluation, RequestView};
use crate::policy::Config;
use std::time::Duration;

/// The levels a host's log lines are written at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// A host's log.
pub trait Log {
    fn write(&self, level: Level, line: &str);
    /// Whether lines of `level` are kept, so that none is made for nothing.
    fn enabled(&self, level: Level) -> bool;
}

/// The configuration bytes a host was handed, validated: every warning logged, or every
/// error logged and `None`, for the host to refuse the configuration.
pub fn configure(bytes: &[u8], log: &impl Log) -> Option<Config> {
    match Config::parse(bytes) {
        Ok(config) => {
            for warning in &config.warnings {
                let line = format!("cors-wasm: configuration warning: {warning}");
                log.write(Level::Warn, &line);
            }
            Some(config)
        }
        Err(errors) => {
            for error in errors.iter() {
                let line = format!("cors-wasm: invalid configuration: {error}");
                log.write(Level::Error, &line);
            }
            None
        }
    }
}

/// The line once a configuration is in place: `cors-wasm: configured 3 policies in 0.4 ms`.
pub fn log_configured(log: &impl Log, config: &Config, took: Duration) {
    // u64 only: float (16 KB) and u128 (3 KB) formatting are large in wasm.
    let tenths_of_ms = took.as_secs() * 10_000 + u64::from(took.subsec_micros() / 100);
    let line = format!(
        "cors-wasm: configured {} policies in {}.{} ms",
        config.policies.len(),
        tenths_of_ms / 10,
        tenths_of_ms % 10
    );
    log.write(Level::Info, &line);
}

/// What the filter does with a request; why it was denied goes to the debug log.
pub fn decide(config: &Config, request: &impl RequestView, log: &impl Log) -> Evaluation {
    let evaluation = cors::evaluate(config, request);
    if log.enabled(Level::Debug) {
        if let Some(line) = evaluation.denial_line() {
            log.write(Level::Debug, &line);
        }
    }
    evaluation
}

/// The decision's line for the access log, when the configuration asks for it.
pub fn record(config: &Config, evaluation: &Evaluation) -> Option<String> {
    config
        .record_decisions
        .then(|| evaluation.record())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::{configure, decide, log_configured, record, Level, Log};
    use crate::cors::HeaderPairs;
    use std::cell::RefCell;
    use std::time::Duration;

    /// The lines written, at every level but debug unless `debug`.
    #[derive(Default)]
    struct Lines {
        debug: bool,
        written: RefCell<Vec<(Level, String)>>,
    }

    impl Log for Lines {
        fn write(&self, level: Level, line: &str) {
            self.written.borrow_mut().push((level, line.to_string()));
        }

        fn enabled(&self, level: Level) -> bool {
            self.debug || level != Level::Debug
        }
    }

    #[test]
    fn a_configuration_logs_each_error_or_each_warning_and_how_long_it_took() {
        let log = Lines::default();
        assert!(configure(br#"{"policies": [{"allow_origins": ["x", "*"]}]}"#, &log).is_none());
        let warned = configure(
            br#"{"policies": [{"cors": {"allowOrigins": ["https://*.com"]}}]}"#,
            &log,
        )
        .unwrap();
        log_configured(&log, &warned, Duration::from_micros(12_345));
        assert_eq!(
            log.written.take(),
            [
                (Level::Error, r#"cors-wasm: invalid configuration: policies[0].allow_origins[0]: "x": expected scheme://host[:port], "null" or "*""#.to_string()),
                (Level::Error, r#"cors-wasm: invalid configuration: policies[0].allow_origins[1]: "*": "*" must be alone in the list"#.to_string()),
                (Level::Warn, r#"cors-wasm: configuration warning: policies[0].cors.allowOrigins[0]: "https://*.com": allows every site under the top-level domain "com""#.to_string()),
                (Level::Info, "cors-wasm: configured 1 policies in 12.3 ms".to_string()),
            ]
        );
        log_configured(&log, &warned, Duration::from_micros(2_012_345));
        assert_eq!(
            log.written.take(),
            [(
                Level::Info,
                "cors-wasm: configured 1 policies in 2012.3 ms".to_string()
            )]
        );
    }

    #[test]
    fn a_decision_is_recorded_only_when_the_configuration_asks() {
        let policies = r#""policies": [{"name": "api", "allow_origins": ["https://a.example"]}]"#;
        let request = HeaderPairs::new(&[(":method", "GET"), ("origin", "https://evil.example")]);
        let recorded = |config: &str| {
            let config = configure(config.as_bytes(), &Lines::default()).unwrap();
            record(&config, &decide(&config, &request, &Lines::default()))
        };
        assert_eq!(
            recorded(&format!(r#"{{{policies}, "record_decisions": true}}"#)).as_deref(),
            Some(r#"actual_denied policy=api origin "https://evil.example" is not allowed"#)
        );
        assert_eq!(recorded(&format!("{{{policies}}}")), None);
    }

    #[test]
    fn a_denial_is_logged_only_where_debug_lines_are_kept() {
        let config = configure(
            br#"{"policies": [{"name": "api", "allow_origins": ["https://a.example"]}]}"#,
            &Lines::default(),
        )
        .unwrap();
        let request = HeaderPairs::new(&[(":method", "GET"), ("origin", "https://evil.example")]);
        let quiet = Lines::default();
        decide(&config, &request, &quiet);
        assert_eq!(quiet.written.take(), []);
        let debug = Lines {
            debug: true,
            ..Lines::default()
        };
        decide(&config, &request, &debug);
        assert_eq!(
            debug.written.take(),
            [(
                Level::Debug,
                r#"cors-wasm: policy api: denied: origin "https://evil.example" is not allowed"#
                    .to_string()
            )]
        );
    }
}
