//! Configuration errors, word for word: each names its JSON path.

use super::Config;
use prost::Message;
use serde_json::json;

fn errors(config: serde_json::Value) -> Vec<String> {
    match Config::from_tree(&config.clone()) {
        Ok(_) => panic!("accepted: {config}"),
        Err(errors) => errors.lines(),
    }
}

fn one_policy_errors(policy: serde_json::Value) -> Vec<String> {
    errors(json!({ "policies": [policy] }))
}

#[test]
fn empty_and_missing_configurations_say_what_a_minimal_one_is() {
    let minimal = r#"{"policies": [{"allow_origins": ["https://app.example.com"]}]}"#;
    let empty = Config::parse(b"").unwrap_err().lines();
    assert_eq!(
        empty,
        [format!(
            "configuration: the configuration is empty; a minimal one is {minimal}"
        )]
    );
    assert_eq!(Config::parse(b"  \n").unwrap_err().lines(), empty);
    assert_eq!(
        errors(json!({})),
        [format!(
            "policies: is required; a minimal configuration is {minimal}"
        )]
    );
    assert!(Config::parse(minimal.as_bytes()).is_ok());
}

#[test]
fn malformed_input_is_an_error_in_either_encoding() {
    assert_eq!(
        Config::parse(b"{\"policies\": [").unwrap_err().lines(),
        ["configuration: not valid JSON: EOF while parsing a list at line 1 column 14"]
    );
    assert_eq!(
        Config::parse(&[0x0a, 0x05, 0x0a]).unwrap_err().lines(),
        ["configuration: not a valid protobuf Struct: buffer underflow"]
    );
    assert_eq!(
        errors(json!([])),
        ["configuration: expected an object, found a list"]
    );
}

#[test]
fn json_may_begin_with_a_newline_the_byte_a_struct_begins_with() {
    let text = b"\n{\"policies\": [{\"allow_origins\": [\"https://a.example\"]}]}";
    assert_eq!(Config::parse(text).unwrap().policies.len(), 1);
}

#[test]
fn the_policy_list_has_1_to_1000_entries() {
    assert_eq!(
        errors(json!({"policies": []})),
        ["policies: must have 1 to 1000 entries, found 0"]
    );
    let many: Vec<_> = (0..1001).map(|_| json!({"allow_origins": ["*"]})).collect();
    assert_eq!(
        errors(json!({ "policies": many })),
        ["policies: must have 1 to 1000 entries, found 1001"]
    );
    assert_eq!(
        errors(json!({"policies": {}})),
        ["policies: expected a list, found an object"]
    );
}

#[test]
fn unknown_fields_are_errors_at_every_level() {
    let fields = "name, match, disabled, allow_origins, allow_origin_regexes, allow_methods, \
                  allow_headers, expose_headers, allow_credentials, allow_private_network, max_age, \
                  preflight_status, forward_unmatched_preflights, report_only, timing_allow_origin, cors";
    assert_eq!(
        errors(json!({"policies": [{"allow_origins": ["*"], "colour": ["x"]}], "rules": 1})),
        [
            "rules: unknown field; expected one of policies, record_decisions".to_string(),
            format!("policies[0].colour: unknown field; expected one of {fields}"),
        ]
    );
    assert_eq!(
        one_policy_errors(json!({"allow_origins": ["*"], "match": {"paths": ["/"]}})),
        ["policies[0].match.paths: unknown field; expected one of routes, hosts, path_prefixes"]
    );
}

#[test]
fn an_unknown_field_close_to_one_known_field_gets_a_suggestion() {
    assert_eq!(
        errors(json!({
            "policies": [{"allow_origins": ["*"], "allow_header": ["x"], "allowMethods": ["PUT"],
                          "Max_Age": 5, "match": {"route": ["r"]}}],
            "polices": 1,
        })),
        [
            "polices: unknown field; did you mean policies?",
            "policies[0].Max_Age: unknown field; did you mean max_age?",
            "policies[0].allowMethods: unknown field; did you mean allow_methods?",
            "policies[0].allow_header: unknown field; did you mean allow_headers?",
            "policies[0].match.route: unknown field; did you mean routes?",
        ]
    );
}

#[test]
fn every_error_is_reported_not_only_the_first() {
    let config = json!({"policies": [
        {"allow_origins": ["https://app.example.com/"]},
        {"name": "Bad Name", "allow_origins": ["https://*.com", "*"], "max_age": 90000,
         "allow_methods": ["GE T", ""], "allow_headers": ["x-a", "X-A"], "preflight_status": 201},
    ]});
    assert_eq!(
        errors(config),
        [
            r#"policies[0].allow_origins[0]: "https://app.example.com/": an origin has no trailing slash"#,
            r#"policies[1].allow_origins[0]: "https://*.com": a wildcard needs at least two labels after it"#,
            r#"policies[1].allow_origins[1]: "*": "*" must be alone in the list"#,
            r#"policies[1].allow_methods[0]: "GE T": not a valid token (RFC 9110)"#,
            r#"policies[1].allow_methods[1]: "": must not be empty"#,
            r#"policies[1].allow_headers[1]: "X-A": the same as policies[1].allow_headers[0]"#,
            "policies[1].max_age: 90000: must be a whole number from 0 to 86400",
            r#"policies[1].name: "Bad Name": a name is 1 to 64 of a-z, 0-9, _ and -"#,
            "policies[1].preflight_status: 201: must be 204 or 200",
        ]
    );
}

/// All of them as one text (`{errors}`): one a line, in order, no newline before the first
/// or after the last.
#[test]
fn the_errors_as_one_text_are_one_a_line() {
    let config = json!({"policies": [{"allow_origins": ["https://app.example.com/", "*"]}]});
    let errors = Config::from_tree(&config).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "policies[0].allow_origins[0]: \"https://app.example.com/\": an origin has no trailing slash\n\
         policies[0].allow_origins[1]: \"*\": \"*\" must be alone in the list"
    );
}

#[test]
fn star_never_goes_with_credentials() {
    let policy = json!({"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"],
                        "expose_headers": ["*"], "allow_credentials": true});
    assert_eq!(
        one_policy_errors(policy),
        [
            r#"policies[0].allow_origins[0]: "*": "*" cannot be used with allow_credentials: true"#,
            r#"policies[0].allow_methods[0]: "*": "*" cannot be used with allow_credentials: true"#,
            r#"policies[0].allow_headers[0]: "*": "*" cannot be used with allow_credentials: true"#,
            r#"policies[0].expose_headers[0]: "*": "*" cannot be used with allow_credentials: true"#,
        ]
    );
}

#[test]
fn origins_are_required_unless_disabled_or_regexes_are_given() {
    assert_eq!(
        one_policy_errors(json!({"allow_methods": ["PUT"]})),
        ["policies[0]: allow_origins is required unless the policy is disabled or has allow_origin_regexes"]
    );
    assert_eq!(
        one_policy_errors(json!({"allow_origins": []})),
        ["policies[0].allow_origins: must not be empty"]
    );
    let ok = |policy| Config::from_tree(&json!({ "policies": [policy] })).is_ok();
    assert!(ok(json!({"disabled": true})));
    assert!(ok(
        json!({"allow_origin_regexes": [r"https://[a-z]+\.example\.com"]})
    ));
    assert!(ok(
        json!({"allow_origins": [], "allow_origin_regexes": ["https://a\\.com"]})
    ));
}

#[test]
fn origin_duplicates_are_found_after_normalization() {
    assert_eq!(
        one_policy_errors(json!({"allow_origins": ["https://a.com", "HTTPS://A.com:443"]})),
        [
            r#"policies[0].allow_origins[1]: "HTTPS://A.com:443": the same origin as policies[0].allow_origins[0]"#
        ]
    );
    assert_eq!(
        one_policy_errors(
            json!({"allow_origins": ["https://a.com"], "allow_methods": ["put", "PUT"]})
        ),
        [r#"policies[0].allow_methods[1]: "PUT": the same as policies[0].allow_methods[0]"#]
    );
}

#[test]
fn regexes_must_compile_and_not_be_empty() {
    let lines = one_policy_errors(json!({"allow_origin_regexes": ["(", ""]}));
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(r#"policies[0].allow_origin_regexes[0]: "(": not a valid regex: "#),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        r#"policies[0].allow_origin_regexes[1]: "": must not be empty"#
    );
}

#[test]
fn match_lists_are_validated() {
    let policy = json!({"allow_origins": ["*"],
                        "match": {"routes": [], "hosts": ["a b"], "path_prefixes": ["api"]}});
    assert_eq!(
        one_policy_errors(policy),
        [
            "policies[0].match.routes: must not be empty",
            r#"policies[0].match.hosts[0]: "a b": expected a host name such as api.example.com or *.example.com"#,
            r#"policies[0].match.path_prefixes[0]: "api": a path prefix starts with "/""#,
        ]
    );
}

#[test]
fn record_decisions_is_a_top_level_boolean_off_by_default() {
    let policies = json!([{"allow_origins": ["*"]}]);
    let parse = |config: serde_json::Value| Config::from_tree(&config);
    assert!(
        !parse(json!({ "policies": policies }))
            .unwrap()
            .record_decisions
    );
    assert!(
        parse(json!({"policies": policies, "record_decisions": true}))
            .unwrap()
            .record_decisions
    );
    assert_eq!(
        errors(json!({"policies": policies, "record_decisions": "yes"})),
        ["record_decisions: expected true or false, found a string"]
    );
}

#[test]
fn wrong_types_name_what_was_expected() {
    let policy = json!({"allow_origins": "https://a.com", "allow_credentials": "yes",
                        "max_age": "600", "allow_headers": [1], "name": 7,
                        "timing_allow_origin": "yes"});
    assert_eq!(
        one_policy_errors(policy),
        [
            "policies[0].allow_credentials: expected true or false, found a string",
            "policies[0].allow_origins: expected a list, found a string",
            "policies[0].allow_headers[0]: expected a string, found a number",
            "policies[0].max_age: expected a number, found a string",
            "policies[0].name: expected a string, found a number",
            "policies[0].timing_allow_origin: expected true or false, found a string",
        ]
    );
}

#[test]
fn names_default_to_their_index_and_must_be_unique() {
    let config = Config::from_tree(&json!({"policies": [
        {"allow_origins": ["*"]}, {"name": "api", "allow_origins": ["*"]},
    ]}))
    .unwrap();
    assert_eq!(config.policies[0].name, "policy-0");
    assert_eq!(config.policies[1].name, "api");
    assert_eq!(
        errors(json!({"policies": [
            {"name": "api", "allow_origins": ["*"]}, {"name": "api", "allow_origins": ["*"]},
            {"name": "policy-0", "allow_origins": ["*"]}, {"allow_origins": ["*"]},
        ]})),
        [r#"policies[1].name: "api": already the name of policies[0]"#]
    );
}

#[test]
fn a_name_that_is_another_policys_default_is_reported_where_it_was_written() {
    // The unnamed policy comes first: the second's name is the error.
    assert_eq!(
        errors(json!({"policies": [
            {"allow_origins": ["*"]}, {"name": "policy-0", "allow_origins": ["*"]},
        ]})),
        [
            r#"policies[1].name: "policy-0": already the default name of policies[0], which has no name"#
        ]
    );
    // The unnamed policy comes after: still the name that was written, not policies[1].name.
    assert_eq!(
        errors(json!({"policies": [
            {"name": "policy-1", "allow_origins": ["*"]}, {"allow_origins": ["*"]},
        ]})),
        [r#"policies[0].name: "policy-1": the default name of policies[1], which has no name"#]
    );
}

#[test]
fn star_beside_regexes_is_an_error() {
    assert_eq!(
        one_policy_errors(
            json!({"allow_origins": ["*"], "allow_origin_regexes": ["https://a\\.com"]})
        ),
        [
            r#"policies[0].allow_origins[0]: "*": "*" cannot be used together with allow_origin_regexes: it allows every origin, so they would never be tried"#
        ]
    );
}

#[test]
fn numbers_may_be_doubles_as_a_struct_carries_them() {
    let config = Config::from_tree(&json!({"policies": [
        {"allow_origins": ["*"], "max_age": 600.0, "preflight_status": 200.0},
    ]}))
    .unwrap();
    assert_eq!(
        config.policies[0].rules.rendered.max_age.as_deref(),
        Some("600")
    );
    assert_eq!(config.policies[0].preflight_status, 200);
    assert_eq!(
        one_policy_errors(json!({"allow_origins": ["*"], "max_age": 1.5})),
        ["policies[0].max_age: 1.5: must be a whole number from 0 to 86400"]
    );
}

/// A double is a whole number only below 2^53, where every whole number is one double:
/// 9007199254740993 written in a Struct arrives as 2^53, which is refused, not rounded.
#[test]
fn a_double_from_2_to_the_53_on_is_not_a_whole_number() {
    assert_eq!(
        one_policy_errors(
            json!({"allow_origins": ["*"], "preflight_status": 9_007_199_254_740_992.0})
        ),
        ["policies[0].preflight_status: 9007199254740992: must be a whole number"]
    );
    assert_eq!(
        one_policy_errors(
            json!({"allow_origins": ["*"], "preflight_status": 9_007_199_254_740_991.0})
        ),
        ["policies[0].preflight_status: 9007199254740991: must be 204 or 200"]
    );
}

#[test]
fn null_is_the_same_as_absent() {
    let config = Config::from_tree(&json!({"policies": [
        {"allow_origins": ["*"], "max_age": null, "match": null},
    ]}))
    .unwrap();
    assert_eq!(config.policies[0].rules.rendered.max_age, None);
}

#[test]
fn only_the_facts_some_policy_matches_on_are_read() {
    let config = Config::from_tree(&json!({"policies": [
        {"match": {"path_prefixes": ["/a"]}, "allow_origins": ["*"]},
        {"match": {"hosts": ["a.com"]}, "allow_origins": ["*"]},
    ]}))
    .unwrap();
    assert!(!config.needs_route);
    assert!(config.needs_authority);
    assert!(config.needs_path);
}

#[test]
fn limits_are_errors_with_their_numbers() {
    let huge = vec![b' '; super::config::MAX_SIZE + 1];
    assert_eq!(
        Config::parse(&huge).unwrap_err().lines(),
        ["configuration: 4194305 bytes; the limit is 4194304 (4 MiB)"]
    );
    let origins: Vec<String> = (0..10_001)
        .map(|i| format!("https://a{i}.example.com"))
        .collect();
    assert_eq!(
        one_policy_errors(json!({ "allow_origins": origins })),
        ["policies[0].allow_origins: has 10001 entries; the limit is 10000"]
    );
    let ten_thousand: Vec<String> = (0..10_000)
        .map(|i| format!("https://a{i}.example.com"))
        .collect();
    assert!(Config::from_tree(&json!({"policies": [{ "allow_origins": ten_thousand }]})).is_ok());
    let long = "a".repeat(1025);
    assert_eq!(
        one_policy_errors(json!({ "allow_origin_regexes": [long.clone()] })),
        [format!(
            r#"policies[0].allow_origin_regexes[0]: "{long}": a regex of 1025 bytes; the limit is 1024"#
        )]
    );
    let deep = format!("{}a{}", "(".repeat(60), ")".repeat(60));
    let lines = one_policy_errors(json!({ "allow_origin_regexes": [deep] }));
    assert!(lines[0].contains("not a valid regex: "), "{lines:?}");
    let big = "(?:a{0,100}){0,100}";
    let lines = one_policy_errors(json!({ "allow_origin_regexes": [big] }));
    assert!(lines[0].contains("not a valid regex: "), "{lines:?}");
}

/// Each limit of docs/policy.md, at its exact value and one past it.
#[test]
fn every_limit_holds_at_its_boundary_and_not_one_past() {
    let accepted = |config: serde_json::Value| {
        if let Err(errors) = Config::from_tree(&config) {
            panic!("refused: {:?}", errors.lines());
        }
    };
    let policies = |n| -> Vec<_> { (0..n).map(|_| json!({"allow_origins": ["*"]})).collect() };
    accepted(json!({ "policies": policies(1000) }));
    assert_eq!(
        errors(json!({ "policies": policies(1001) })),
        ["policies: must have 1 to 1000 entries, found 1001"]
    );

    // 1,024 bytes of text that compile small (one class), under the compiled-size limit.
    let class = format!("[{}]", "a".repeat(1022));
    accepted(json!({"policies": [{"allow_origin_regexes": [class]}]}));
    accepted(json!({"policies": [{"allow_origins": ["*"], "max_age": 86_400}]}));
    accepted(json!({"policies": [{"allow_origins": ["*"], "max_age": 0}]}));
    assert_eq!(
        one_policy_errors(json!({"allow_origins": ["*"], "max_age": 86_401})),
        ["policies[0].max_age: 86401: must be a whole number from 0 to 86400"]
    );
    assert_eq!(
        one_policy_errors(json!({"allow_origins": ["*"], "max_age": -1})),
        ["policies[0].max_age: -1: must be a whole number from 0 to 86400"]
    );

    accepted(json!({"policies": [{"name": "n".repeat(64), "allow_origins": ["*"]}]}));
    let long_name = "n".repeat(65);
    assert_eq!(
        one_policy_errors(json!({"name": long_name, "allow_origins": ["*"]})),
        [format!(
            r#"policies[0].name: "{long_name}": a name is 1 to 64 of a-z, 0-9, _ and -"#
        )]
    );

    let nested = |n: usize| format!("{}a{}", "(?:".repeat(n), ")".repeat(n));
    accepted(json!({"policies": [{"allow_origin_regexes": [nested(50)]}]}));
    let lines = one_policy_errors(json!({ "allow_origin_regexes": [nested(51)] }));
    assert!(
        lines[0].contains("not a valid regex: ") && lines[0].contains("nest"),
        "{lines:?}"
    );

    let minimal = br#"{"policies": [{"allow_origins": ["*"]}]}"#;
    let mut at_limit = minimal.to_vec();
    at_limit.resize(super::config::MAX_SIZE, b' ');
    assert!(Config::parse(&at_limit).is_ok());
    at_limit.push(b' ');
    assert_eq!(
        Config::parse(&at_limit).unwrap_err().lines(),
        ["configuration: 4194305 bytes; the limit is 4194304 (4 MiB)"]
    );
}

#[test]
fn a_key_written_twice_in_one_object_is_an_error_in_either_encoding() {
    let text = br#"{"policies": [{"allow_origins": ["https://a.example"],
                    "allow_credentials": false, "allow_credentials": true}]}"#;
    let line = "policies[0].allow_credentials: the key is written more than once in this \
                object; write it once";
    assert_eq!(Config::parse(text).unwrap_err().lines(), [line]);
    // A Struct's map is a list of entries on the wire: two Structs one after the other are
    // one Struct with both lists, so this one has `policies` twice.
    let once = crate::encoding::proto_struct::Struct {
        fields: vec![crate::encoding::proto_struct::Entry {
            key: "policies".into(),
            value: None,
        }],
    };
    let twice = [once.encode_to_vec(), once.encode_to_vec()].concat();
    assert_eq!(
        Config::parse(&twice).unwrap_err().lines(),
        ["policies: the key is written more than once in this object; write it once"]
    );
}

fn warnings(config: serde_json::Value) -> Vec<String> {
    match Config::from_tree(&config) {
        Ok(config) => config.warnings.iter().map(ToString::to_string).collect(),
        Err(errors) => panic!("refused: {errors}"),
    }
}

#[test]
fn a_policy_after_one_without_match_never_applies_and_is_warned_about() {
    let config = json!({"policies": [
        {"name": "all", "allow_origins": ["*"]},
        {"name": "api", "match": {"path_prefixes": ["/api/"]}, "allow_origins": ["*"]},
        {"allow_origins": ["*"], "disabled": true},
    ]});
    assert_eq!(
        warnings(config),
        [
            "policies[1]: never applies: policies[0] (all) has no match, so it takes every request first",
            "policies[2]: never applies: policies[0] (all) has no match, so it takes every request first",
        ]
    );
}

#[test]
fn a_policy_inside_an_earlier_broader_match_never_applies() {
    let config = json!({"policies": [
        {"name": "api", "match": {"path_prefixes": ["/api", "/v2/"], "hosts": ["*.example.com"]},
         "allow_origins": ["*"]},
        {"name": "api-v1", "match": {"path_prefixes": ["/api/v1/"], "hosts": ["*.example.com"]},
         "allow_origins": ["*"]},
        {"name": "one-host", "match": {"path_prefixes": ["/v2/x", "/api"], "hosts": ["a.b.example.com", "*.x.example.com"]},
         "allow_origins": ["*"]},
        {"name": "routed", "match": {"routes": ["r1", "r2"]}, "allow_origins": ["*"]},
        {"name": "routed-api", "match": {"routes": ["r2"], "path_prefixes": ["/"]}, "allow_origins": ["*"]},
    ]});
    assert_eq!(
        warnings(config),
        [
            "policies[1]: never applies: every request it matches is taken first by policies[0] (api)",
            "policies[2]: never applies: every request it matches is taken first by policies[0] (api)",
            "policies[4]: never applies: every request it matches is taken first by policies[3] (routed)",
        ]
    );
}

#[test]
fn a_policy_that_some_request_reaches_is_not_warned_about() {
    let config = json!({"policies": [
        // Narrower first: the broader one still gets the rest.
        {"name": "v1", "match": {"path_prefixes": ["/api/v1/"]}, "allow_origins": ["*"]},
        {"name": "api", "match": {"path_prefixes": ["/api/"]}, "allow_origins": ["*"]},
        // An extra condition on the earlier one: not every request of the later fits it.
        {"name": "admin", "match": {"path_prefixes": ["/admin/"], "routes": ["admin"]}, "allow_origins": ["*"]},
        {"name": "admin-any", "match": {"path_prefixes": ["/admin/"]}, "allow_origins": ["*"]},
        // Not every listed entry covered: "/other" is not under "/api/".
        {"name": "mixed", "match": {"path_prefixes": ["/api/x", "/other"]}, "allow_origins": ["*"]},
        // A wildcard host never covers its apex; an exact host no subdomain.
        {"name": "subs", "match": {"hosts": ["*.example.com", "example.org"]}, "allow_origins": ["*"]},
        {"name": "apex", "match": {"hosts": ["example.com"]}, "allow_origins": ["*"]},
        {"name": "org-subs", "match": {"hosts": ["*.example.org"]}, "allow_origins": ["*"]},
        {"name": "routes", "match": {"routes": ["r1"]}, "allow_origins": ["*"]},
        {"name": "other-route", "match": {"routes": ["r1", "r3"]}, "allow_origins": ["*"]},
        {"name": "rest", "allow_origins": ["*"]},
    ]});
    assert_eq!(warnings(config), Vec::<String>::new());
}

/// The check costs lookups per entry of the later policy, not a product of two long lists:
/// eight policies of the same 10,000 routes, told apart only by their hosts (a product
/// would be 28 pairs of 10^8 comparisons).
#[test]
fn the_reach_check_stays_fast_on_long_lists() {
    let routes: Vec<String> = (0..10_000).map(|i| format!("route-{i}")).collect();
    let mut policies: Vec<_> = (0..8)
        .map(|i| {
            json!({"match": {"routes": routes, "hosts": [format!("h{i}.example.com")]},
                        "allow_origins": ["*"]})
        })
        .collect();
    policies.push(
        json!({"match": {"routes": routes, "hosts": ["h0.example.com"], "path_prefixes": ["/x"]},
                         "allow_origins": ["*"]}),
    );
    let started = std::time::Instant::now();
    assert_eq!(
        warnings(json!({ "policies": policies })),
        ["policies[8]: never applies: every request it matches is taken first by policies[0] (policy-0)"]
    );
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}
