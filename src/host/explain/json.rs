//! `--json`: the facts the explain mode writes in words, as one object for CI scripts. Its
//! shape is documented in docs/checker.md and checked by tests/check.rs.

use super::{decision_parts, misfit, preflight_note, Request};
use crate::cors::{self, header, Action, HeaderEdit};
use crate::cors::{MERGES_VARY, REPLACES_UPSTREAM_CORS};
use crate::policy::Config;
use serde_json::{json, Value};

/// What the filter does with `request`, as data: the same facts as [`super::explain`].
pub fn explain_json(config: &Config, request: &Request) -> Value {
    let evaluation = cors::evaluate(config, request);
    let facts = request.facts();
    let passed = evaluation
        .policy
        .as_ref()
        .map_or(config.policies.len(), |(i, _)| *i);
    let passed_over: Vec<Value> = config.policies[..passed]
        .iter()
        .enumerate()
        .map(|(index, policy)| {
            let why = policy.matcher.unfit(&facts).map(|c| misfit(c, &facts));
            json!({"index": index, "name": policy.name, "why_not": why})
        })
        .collect();
    let policy = evaluation.policy.as_ref().map(|(index, policy)| {
        let why = if policy.matcher.is_everything() {
            "it has no match"
        } else {
            "its match fits"
        };
        json!({"index": index, "name": policy.name, "why": why, "report_only": policy.report_only})
    });
    let (decision, reason) = decision_parts(&evaluation.outcome);
    let mut out = json!({
        "request": request_json(request),
        "passed_over": passed_over,
        "policy": policy,
        "decision": decision,
        "reason": reason,
        "log": evaluation.denial_line(),
        "note": preflight_note(request, &evaluation.outcome)
            .map(|note| note.trim_start_matches("note: ").to_string()),
    });
    if let Value::Object(fields) = &mut out {
        if let Value::Object(response) = action_json(&evaluation.action) {
            fields.extend(response);
        }
    }
    out
}

fn request_json(request: &Request) -> Value {
    let headers: Vec<Value> = request
        .headers
        .iter()
        .map(|(name, value)| json!([name, String::from_utf8_lossy(value)]))
        .collect();
    json!({
        "method": request.method,
        "url": request.url(),
        "route": request.route,
        "headers": headers,
    })
}

/// `status` (null: the upstream's), `upstream` (whether the request goes on to it), and
/// the headers: `send` for the filter's own reply, `edits` of the upstream's response.
fn action_json(action: &Action) -> Value {
    match action {
        Action::Nothing => json!({"status": null, "upstream": true, "send": [], "edits": []}),
        Action::Respond(response) => {
            let send: Vec<Value> = response
                .headers
                .iter()
                .map(|(name, value)| json!([name, &**value]))
                .collect();
            json!({"status": response.status, "upstream": false, "send": send, "edits": []})
        }
        Action::Decorate(plan) => {
            let mut edits =
                vec![json!({"remove": "access-control-*", "how": REPLACES_UPSTREAM_CORS})];
            edits.extend(
                plan.edits(std::iter::empty::<(&[u8], &[u8])>())
                    .into_iter()
                    .map(edit_json),
            );
            json!({"status": null, "upstream": true, "send": [], "edits": edits})
        }
    }
}

fn edit_json(edit: HeaderEdit) -> Value {
    match edit {
        HeaderEdit::Set(header::VARY, value) | HeaderEdit::Add(header::VARY, value) => {
            json!({"set": header::VARY, "value": value, "how": MERGES_VARY})
        }
        HeaderEdit::Set(name, value) | HeaderEdit::Add(name, value) => {
            json!({"set": name, "value": value})
        }
        HeaderEdit::Remove(name) => json!({"remove": name}),
    }
}
