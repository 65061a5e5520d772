//! `cors-wasm-check import`: another proxy's or framework's CORS configuration read into a
//! cors-wasm configuration, with every change a browser would see listed. Envoy's native
//! filter ([`envoy`]), Istio's `corsPolicy` ([`istio`], which Istio carries out with that
//! same filter, so it is read into Envoy's meaning first) and the options of Express's `cors`
//! middleware ([`express`]). What cannot be expressed is an error naming where it is, never dropped or
//! widened. Native only: the module never carries it.

pub mod envoy;
mod envoy_cors;
pub mod express;
pub mod istio;
mod origins;
mod yaml_out;

use serde_json::{json, Map, Value};

/// A cors-wasm configuration and the changes of behaviour it brings.
#[derive(Debug)]
pub struct Import {
    /// The policies, in the order they must be tried.
    pub policies: Vec<Value>,
    pub changes: Vec<Change>,
}

/// One change a browser would see, named by where it comes from in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where in the source (`virtual host api, route orders`).
    pub at: String,
    /// The imported policy it concerns.
    pub policy: String,
    pub kind: Kind,
    pub text: String,
}

/// What changes, for tests that check a response difference against the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `Vary` on responses where there was none.
    Vary,
    /// The upstream's `Access-Control-*` headers are removed.
    UpstreamHeaders,
    /// Preflights asking a method not allowed, once answered as if allowed.
    PreflightMethod,
    /// Preflights asking a header not allowed, once answered as if allowed.
    PreflightHeaders,
    /// Preflights asking for private network access, once answered without it.
    PrivateNetwork,
    /// Preflights from disallowed origins, once answered with a success status.
    DeniedPreflight,
    /// `Access-Control-Allow-Origin: *` where the origin was echoed, or the other way.
    AnyOrigin,
    /// `Access-Control-Expose-Headers` on preflight answers.
    ExposeOnPreflight,
    /// Headers once sent to requests whose origin is not allowed, or without `Origin`.
    DisallowedOriginHeaders,
    /// Who answers allowed preflights, or with what status.
    PreflightAnswer,
    /// `OPTIONS` requests that are not preflights, once answered as preflights.
    PlainOptions,
    /// `Access-Control-Max-Age` capped.
    MaxAge,
}

/// An error: what cannot be imported, with where it is.
pub type ImportError = String;

impl Import {
    /// The plugin configuration, as the filter reads it.
    pub fn config(&self) -> Value {
        json!({ "policies": self.policies })
    }

    /// The configuration as YAML, ready to paste as the filter's `Struct`.
    pub fn yaml(&self) -> String {
        yaml_out::write(&self.config())
    }
}

/// The sources `import` reads, by the word that names them on the command line.
pub const SOURCES: &[&str] = &["envoy", "istio", "express"];

/// Reads `text` (the file's content) as `source`; an error names the path in the source.
pub fn import(source: &str, text: &str) -> Result<Import, ImportError> {
    let imported = match source {
        "envoy" => envoy::import(&read_tree(text)?),
        "istio" => istio::import(&read_documents(text)?),
        "express" => express::import(text),
        other => Err(format!(
            "unknown source {other:?}: expected one of {}",
            SOURCES.join(", ")
        )),
    }
    .map_err(|e| one_line(&e))?;
    refused_by_cors_wasm(&imported)?;
    let mut imported = imported;
    for change in &mut imported.changes {
        change.at = one_line(&change.at);
        change.text = one_line(&change.text);
    }
    Ok(imported)
}

/// `text` with each control character escaped (`\n`): keys and names come from the file,
/// and every message is one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The filter's own validation of what was imported: anything it refuses is a bug here or
/// something the source says that cors-wasm cannot, named by the filter's message.
fn refused_by_cors_wasm(imported: &Import) -> Result<(), ImportError> {
    match crate::policy::Config::from_tree(&imported.config()) {
        Ok(_) => Ok(()),
        Err(errors) => Err(one_line(&format!(
            "cors-wasm would refuse the imported policy: {}",
            errors.lines().join("; ")
        ))),
    }
}

/// A YAML or JSON file of one document.
fn read_tree(text: &str) -> Result<Value, ImportError> {
    let mut documents = read_documents(text)?;
    match documents.len() {
        1 => Ok(documents.remove(0)),
        0 => Err("the file is empty".into()),
        n => Err(format!("expected one document, found {n}")),
    }
}

/// Every document of a YAML (or JSON) file.
fn read_documents(text: &str) -> Result<Vec<Value>, ImportError> {
    crate::encoding::yaml::parse(text)
}

/// A policy name (`[a-z0-9_-]{1,64}`) made from `wanted`, unique among `taken`.
fn policy_name(wanted: &str, taken: &[Value]) -> String {
    let mut base: String = wanted
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' => c,
            _ => '-',
        })
        .take(56)
        .collect();
    if base.is_empty() {
        base = "policy".into();
    }
    let used = |name: &str| taken.iter().any(|p| p["name"] == name);
    if !used(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !used(name))
        .unwrap_or(base)
}

/// An object from fields, leaving out `None`s.
fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    let map: Map<String, Value> = fields
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key.to_string(), v)))
        .collect();
    Value::Object(map)
}

/// `(at, message)` as one error line.
fn error_at(at: &str, message: impl std::fmt::Display) -> ImportError {
    format!("{at}: {message}")
}

#[cfg(test)]
mod tests;
