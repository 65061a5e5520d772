//! The checker's explain mode: a host with no proxy at all. It takes a request written as
//! `METHOD URL` and headers, or as a browser's "Copy as cURL" command, hands it to the
//! filter's own decision ([`cors::evaluate`]) through [`RequestView`], and writes out what
//! the filter would do, in words. Like the other hosts it knows no CORS rule.

mod ansi_c;
mod curl;
pub mod envoy;
mod har;
mod json;

pub use har::{explain_har, har_text, read_har, HarRequest};
pub use json::explain_json;

use crate::cors::{self, header, Action, Evaluation, HeaderEdit, Outcome, RequestView};
use crate::cors::{MERGES_VARY, REPLACES_UPSTREAM_CORS};
use crate::policy::{is_safelisted_method, is_token, Condition, Config, RequestFacts};
use std::fmt::Write;

/// A request as a proxy would hand it to the filter: pseudo-headers and lower-case names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub scheme: String,
    pub authority: String,
    pub path: String,
    /// Lower-case names, in order; a repeated name's values joined with `,` (as Envoy's
    /// codec joins the CORS request headers).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The Envoy route name (`xds.route_name`), when given.
    pub route: Option<String>,
}

impl Request {
    /// `METHOD URL` (`OPTIONS https://api.example.com/api/x`) and `Name: value` headers.
    pub fn from_line(line: &str, headers: &[String]) -> Result<Request, String> {
        let mut words = line.split_whitespace();
        let (Some(method), Some(url), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!(
                "--request {line:?}: expected METHOD URL, such as 'OPTIONS https://api.example.com/api/x'"
            ));
        };
        let mut request = Request::new(method, url)?;
        for header in headers {
            request.add_header(header.as_bytes())?;
        }
        Ok(request)
    }

    /// A browser's "Copy as cURL" (bash) command.
    pub fn from_curl(command: &str) -> Result<Request, String> {
        curl::parse(command)
    }

    fn new(method: &str, url: &str) -> Result<Request, String> {
        if method.is_empty() || !is_token(method.as_bytes()) {
            return Err(format!("{method:?} is not an HTTP method (a token)"));
        }
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
            .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL"))?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.is_empty() || authority.contains('@') {
            return Err(format!(
                "{url:?}: expected a host after {scheme}://, without userinfo"
            ));
        }
        // A fragment never leaves the browser.
        let path = path.split('#').next().unwrap_or_default();
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(Request {
            method: method.to_string(),
            scheme: scheme.to_string(),
            authority: authority.to_string(),
            path,
            headers: Vec::new(),
            route: None,
        })
    }

    /// `Name: value`; `Host` sets the authority, as it does in HTTP/1, and so do the HTTP/2
    /// pseudo-headers (`:authority: api.example.com`) the browsers' own copies hold.
    fn add_header(&mut self, line: &[u8]) -> Result<(), String> {
        let shown = || {
            format!(
                "header {:?}: expected 'Name: value'",
                String::from_utf8_lossy(line)
            )
        };
        let pseudo = line.starts_with(b":");
        let colon = line
            .iter()
            .skip(1)
            .position(|b| *b == b':')
            .ok_or_else(shown)?
            + 1;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let name = std::str::from_utf8(name).map_err(|_| shown())?.trim_end();
        let bare = name.strip_prefix(':').unwrap_or(name);
        if bare.is_empty() || !is_token(bare.as_bytes()) {
            return Err(shown());
        }
        let name = name.to_ascii_lowercase();
        let value = value.trim_ascii();
        if pseudo {
            return self.set_pseudo(&name, value)?.ok_or_else(shown);
        }
        if name == "host" {
            self.authority = String::from_utf8_lossy(value).into_owned();
            return Ok(());
        }
        match self.headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push(b',');
                existing.extend_from_slice(value);
            }
            None => self.headers.push((name, value.to_vec())),
        }
        Ok(())
    }

    /// An HTTP/2 pseudo-header; `None` for one a request does not have, an error for a value
    /// no browser sends (Envoy would refuse the request before any filter saw it).
    fn set_pseudo(&mut self, name: &str, value: &[u8]) -> Result<Option<()>, String> {
        let value = String::from_utf8_lossy(value).into_owned();
        let (field, valid) = match name {
            ":method" => (
                &mut self.method,
                !value.is_empty() && is_token(value.as_bytes()),
            ),
            ":scheme" => (&mut self.scheme, matches!(value.as_str(), "http" | "https")),
            ":path" => (&mut self.path, value.starts_with('/')),
            ":authority" => (
                &mut self.authority,
                !value.is_empty() && !value.contains('@'),
            ),
            _ => return Ok(None),
        };
        if !valid {
            return Err(format!("header {name}: {value:?} is not a valid {name}"));
        }
        *field = value;
        Ok(Some(()))
    }

    fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.path)
    }

    fn facts(&self) -> RequestFacts {
        RequestFacts {
            route: self.route_name(),
            authority: self.header(header::AUTHORITY),
            path: self.header(header::PATH),
        }
    }
}

/// The request as the decisions read it: the pseudo-headers they ask for (`:method`,
/// `:authority`, `:path`) and its headers.
impl RequestView for Request {
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        let pseudo = match name {
            header::METHOD => Some(&self.method),
            header::AUTHORITY => Some(&self.authority),
            header::PATH => Some(&self.path),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Some(value.as_bytes().to_vec());
        }
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn route_name(&self) -> Option<Vec<u8>> {
        self.route.as_ref().map(|r| r.as_bytes().to_vec())
    }
}

/// A response to the request before the filter sees it: the upstream's, or one Envoy made
/// itself (`local`, such as a route's `direct_response` or an auth filter's 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Lower-case names, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    pub local: bool,
}

/// What the client gets once the filter has done its part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub status: u16,
    /// Whether the request reached the upstream.
    pub upstream: bool,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// What the client gets for `request` when the proxy's answer would be `reply`: the
/// filter's own decision carried out as a proxy host carries it out.
pub fn answer(config: &Config, request: &Request, reply: Reply) -> Answered {
    let Reply {
        status,
        mut headers,
        local,
    } = reply;
    match cors::evaluate(config, request).action {
        Action::Nothing => {}
        Action::Respond(response) => {
            let headers = response
                .headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                .collect();
            return Answered {
                status: u16::try_from(response.status).unwrap_or(u16::MAX),
                upstream: false,
                headers,
            };
        }
        Action::Decorate(plan) => {
            let view = headers.iter().map(|(n, v)| (n.as_bytes(), v.as_slice()));
            for edit in plan.edits(view.collect::<Vec<_>>()) {
                apply(&mut headers, edit);
            }
        }
    }
    Answered {
        status,
        upstream: !local,
        headers,
    }
}

/// One edit applied as Envoy applies it: a set replaces every value of its name.
fn apply(headers: &mut Vec<(String, Vec<u8>)>, edit: HeaderEdit) {
    match edit {
        HeaderEdit::Set(name, value) => {
            headers.retain(|(n, _)| n != name);
            headers.push((name.to_string(), value.into_bytes()));
        }
        HeaderEdit::Add(name, value) => headers.push((name.to_string(), value.into_bytes())),
        HeaderEdit::Remove(name) => headers.retain(|(n, _)| *n != name),
    }
}

/// What the filter does with `request`, one fact a line: the request, the policies it
/// passes over, the one that applies, its decision and what it does to the response.
pub fn explain(config: &Config, request: &Request) -> String {
    let mut out = String::new();
    write_request(&mut out, request);
    let evaluation = cors::evaluate(config, request);
    write_passed_over(&mut out, config, request, &evaluation);
    let Some((index, policy)) = &evaluation.policy else {
        out.push_str("no policy applies: the request and its response pass untouched\n");
        return out;
    };
    let how = if policy.matcher.is_everything() {
        "it has no match"
    } else {
        "its match fits"
    };
    let _ = writeln!(out, "policies[{index}] ({}): applies: {how}", policy.name);
    let _ = writeln!(out, "decision: {}", decision(&evaluation.outcome));
    if let Some(line) = evaluation.denial_line() {
        let _ = writeln!(out, "log (debug level): {line}");
    }
    if policy.report_only {
        out.push_str("report_only: counted and logged as above, but nothing is changed\n");
    }
    write_action(&mut out, &evaluation.action);
    if let Some(note) = preflight_note(request, &evaluation.outcome) {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// The request line and its headers.
fn write_request(out: &mut String, request: &Request) {
    let route = match &request.route {
        Some(route) => format!("route {route:?}"),
        None => "no route name (--route gives one)".to_string(),
    };
    let _ = writeln!(
        out,
        "request: {} {}, {route}",
        request.method,
        request.url()
    );
    for (name, value) in &request.headers {
        let _ = writeln!(out, "  {name}: {}", String::from_utf8_lossy(value));
    }
}

/// Each policy before the one that applies (every policy when none does), and why not it.
fn write_passed_over(
    out: &mut String,
    config: &Config,
    request: &Request,
    evaluation: &Evaluation,
) {
    let facts = request.facts();
    let passed = evaluation
        .policy
        .as_ref()
        .map_or(config.policies.len(), |(i, _)| *i);
    for (i, policy) in config.policies.iter().enumerate().take(passed) {
        let why = policy
            .matcher
            .unfit(&facts)
            .map_or("(no condition failed)".to_string(), |c| misfit(c, &facts));
        let _ = writeln!(out, "policies[{i}] ({}): not this one: {why}", policy.name);
    }
}

/// What the filter does: nothing, a reply of its own, or edits to the upstream's response.
fn write_action(out: &mut String, action: &Action) {
    match action {
        Action::Nothing => out.push_str("status: the upstream's; the filter changes nothing\n"),
        Action::Respond(response) => {
            let _ = writeln!(
                out,
                "status: {}, answered by the filter (the request never reaches the upstream)",
                response.status
            );
            for (name, value) in &response.headers {
                let _ = writeln!(out, "send: {name}: {}", &**value);
            }
        }
        Action::Decorate(plan) => {
            out.push_str("status: the upstream's (the request goes upstream)\n");
            let _ = writeln!(out, "remove: {REPLACES_UPSTREAM_CORS}");
            for edit in plan.edits(std::iter::empty::<(&[u8], &[u8])>()) {
                write_edit(out, edit);
            }
        }
    }
}

/// One edit of a response with no header of its own.
fn write_edit(out: &mut String, edit: HeaderEdit) {
    let _ = match edit {
        HeaderEdit::Set(header::VARY, value) | HeaderEdit::Add(header::VARY, value) => {
            writeln!(out, "set: {}: {value} ({MERGES_VARY})", header::VARY)
        }
        HeaderEdit::Set(name, value) | HeaderEdit::Add(name, value) => {
            writeln!(out, "set: {name}: {value}")
        }
        HeaderEdit::Remove(name) => writeln!(out, "remove: {name}"),
    };
}

fn misfit(condition: Condition, facts: &RequestFacts) -> String {
    let shown = |v: &Option<Vec<u8>>| {
        format!(
            "{:?}",
            String::from_utf8_lossy(v.as_deref().unwrap_or_default())
        )
    };
    let field = condition.field();
    match condition {
        Condition::Routes if facts.route.is_none() => {
            format!("match.{field} needs a route name and the request has none")
        }
        Condition::Routes => format!("route {} is not in match.{field}", shown(&facts.route)),
        Condition::Hosts => format!(
            "host {} fits no entry of match.{field}",
            shown(&facts.authority)
        ),
        Condition::PathPrefixes => {
            format!(
                "path {} starts with no entry of match.{field}",
                shown(&facts.path)
            )
        }
    }
}

fn decision(outcome: &Outcome) -> String {
    match decision_parts(outcome) {
        (name, Some(reason)) => format!("{name}: {reason}"),
        (name, None) => name,
    }
}

/// The decision's name (its counter's, or `disabled`) and, when there is one, why.
fn decision_parts(outcome: &Outcome) -> (String, Option<String>) {
    let counter = outcome.counter().map(|counter| counter.name().to_string());
    match (outcome, counter) {
        (Outcome::PreflightDenied(denial) | Outcome::ActualDenied(denial), Some(name)) => {
            (name, Some(denial.to_string()))
        }
        (Outcome::NoOrigin, Some(name)) => (
            name,
            Some("the request has no Origin header, so it is no CORS request".into()),
        ),
        (_, Some(name)) => (name, None),
        (Outcome::Disabled, None) => (
            "disabled".into(),
            Some("no CORS handling, the request and its response pass untouched".into()),
        ),
        (Outcome::Unmatched, None) => (
            "unmatched".into(),
            Some("no policy applies: the request and its response pass untouched".into()),
        ),
        _ => (format!("{outcome:?}"), None),
    }
}

/// A browser sends a preflight before a cross-origin request with any method but the
/// CORS-safelisted ones (GET, HEAD and POST); what it copies as cURL from the network panel is the request itself.
fn preflight_note(request: &Request, outcome: &Outcome) -> Option<String> {
    let actual = matches!(outcome, Outcome::ActualAllowed | Outcome::ActualDenied(_));
    let simple = is_safelisted_method(request.method.as_bytes());
    let origin = request.header(header::ORIGIN)?;
    (actual && !simple).then(|| {
        format!(
            "note: a browser first sends a preflight for a {} request; explain it with \
             --request 'OPTIONS {}' -H 'Origin: {}' -H 'Access-Control-Request-Method: {}'",
            request.method,
            request.url(),
            String::from_utf8_lossy(&origin),
            request.method
        )
    })
}

#[cfg(test)]
mod tests;
