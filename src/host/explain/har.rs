//! `--har FILE`: every cross-origin request of a HAR file (HAR 1.2, as Chromium, Firefox and
//! Safari save the network panel) explained, each preflight paired with the request it was
//! sent for, and a summary.

use super::json::explain_json;
use super::Request;
use crate::cors::header;
use crate::cors::RequestView;
use crate::policy::Config;
use serde_json::{json, Value};

/// A cross-origin request of a HAR file: its index in `log.entries`, and the request.
pub struct HarRequest {
    pub entry: usize,
    pub request: Request,
}

/// The cross-origin requests of a HAR file, and how many of its entries are not (same-origin,
/// without `Origin`, or not HTTP). An error names what is wrong and where.
pub fn read_har(text: &str) -> Result<(Vec<HarRequest>, usize), String> {
    let har: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let entries = har["log"]["entries"]
        .as_array()
        .ok_or("log.entries: missing, so this is no HAR file")?;
    let mut requests = Vec::new();
    for (entry, value) in entries.iter().enumerate() {
        let at = format!("log.entries[{entry}].request");
        if let Some(request) = read_entry(&value["request"]).map_err(|e| format!("{at}{e}"))? {
            requests.push(HarRequest { entry, request });
        }
    }
    let others = entries.len() - requests.len();
    Ok((requests, others))
}

/// The request of one entry when it is a cross-origin HTTP request; errors start with the
/// field they are about (`.url: ...`).
fn read_entry(value: &Value) -> Result<Option<Request>, String> {
    let text = |field: &str| {
        value[field]
            .as_str()
            .ok_or_else(|| format!(".{field}: expected a string"))
    };
    let (method, url) = (text("method")?, text("url")?);
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Ok(None);
    }
    let mut request = Request::new(method, url).map_err(|e| format!(": {e}"))?;
    let headers = value["headers"]
        .as_array()
        .ok_or(".headers: expected a list of {\"name\", \"value\"}")?;
    for (i, header) in headers.iter().enumerate() {
        let (Some(name), Some(text)) = (header["name"].as_str(), header["value"].as_str()) else {
            return Err(format!(
                ".headers[{i}]: expected {{\"name\", \"value\"}} strings"
            ));
        };
        request
            .add_header(format!("{name}: {text}").as_bytes())
            .map_err(|e| format!(".headers[{i}]: {e}"))?;
    }
    Ok(is_cross_origin(&request).then_some(request))
}

/// A request whose `Origin` is not its URL's own origin (the browser sends `Origin` on
/// same-origin POSTs too).
fn is_cross_origin(request: &Request) -> bool {
    let own = format!("{}://{}", request.scheme, request.authority);
    request
        .header(header::ORIGIN)
        .is_some_and(|origin| origin != own.as_bytes())
}

/// Each request explained (`explain_json` under `explanation`), paired with its preflight,
/// and a summary: the facts of `--har`, as data.
pub fn explain_har(config: &Config, requests: &[HarRequest], others: usize) -> Value {
    let explained: Vec<Value> = requests
        .iter()
        .map(|r| explain_json(config, &r.request))
        .collect();
    let pairs = preflight_pairs(requests);
    let lines: Vec<Value> = requests
        .iter()
        .zip(&explained)
        .enumerate()
        .map(|(i, (r, explanation))| {
            let origin = r.request.header(header::ORIGIN).unwrap_or_default();
            let preflight_for = pairs
                .iter()
                .find(|(p, _)| *p == i)
                .map(|(_, a)| requests[*a].entry);
            let preflight = pairs
                .iter()
                .find(|(_, a)| *a == i)
                .map(|(p, _)| requests[*p].entry);
            json!({
                "entry": r.entry,
                "method": r.request.method,
                "url": r.request.url(),
                "origin": String::from_utf8_lossy(&origin),
                "decision": explanation["decision"],
                "reason": explanation["reason"],
                "preflight_for": preflight_for,
                "preflight": preflight,
                "explanation": explanation,
            })
        })
        .collect();
    json!({"requests": lines, "summary": summary(&explained, pairs.len(), others)})
}

/// (preflight, actual) index pairs: a preflight goes with the first later request to the
/// same URL from the same origin with the method it asked for.
fn preflight_pairs(requests: &[HarRequest]) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (i, preflight) in requests.iter().enumerate() {
        let asked = preflight.request.header(header::REQUEST_METHOD);
        let Some(asked) = asked.filter(|_| preflight.request.method == "OPTIONS") else {
            continue;
        };
        let actual = (i + 1..requests.len()).find(|&j| {
            let r = &requests[j].request;
            r.method.as_bytes() == asked
                && r.url() == preflight.request.url()
                && r.header(header::ORIGIN) == preflight.request.header(header::ORIGIN)
                && !pairs.iter().any(|(_, a)| *a == j)
        });
        if let Some(j) = actual {
            pairs.push((i, j));
        }
    }
    pairs
}

fn summary(explained: &[Value], preflights: usize, others: usize) -> Value {
    let count = |suffix: &str| {
        explained
            .iter()
            .filter(|e| e["decision"].as_str().is_some_and(|d| d.ends_with(suffix)))
            .count()
    };
    let (allowed, denied) = (count("_allowed"), count("_denied"));
    json!({
        "cross_origin": explained.len(),
        "paired_preflights": preflights,
        "allowed": allowed,
        "denied": denied,
        "untouched": explained.len() - allowed - denied,
        "other_entries": others,
    })
}

/// The text of `--har`: one line a request, then the summary.
pub fn har_text(explained: &Value) -> String {
    let mut out = String::new();
    for line in explained["requests"].as_array().into_iter().flatten() {
        let text = |key: &str| line[key].as_str().unwrap_or_default().to_string();
        let mut decision = text("decision");
        if let Some(reason) = line["reason"].as_str() {
            decision = format!("{decision}: {reason}");
        }
        let pair = match (line["preflight_for"].as_u64(), line["preflight"].as_u64()) {
            (Some(actual), _) => format!(" (the preflight of entries[{actual}])"),
            (_, Some(preflight)) => format!(" (after the preflight entries[{preflight}])"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "entries[{}]: {} {} from {}: {decision}{pair}\n",
            line["entry"],
            text("method"),
            text("url"),
            text("origin")
        ));
    }
    let s = &explained["summary"];
    out.push_str(&format!(
        "summary: {} cross-origin requests, {} after a preflight in the file: {} allowed, {} denied, \
         {} passed untouched; {} other entries (same-origin, without Origin, or not HTTP)\n",
        s["cross_origin"],
        s["paired_preflights"],
        s["allowed"],
        s["denied"],
        s["untouched"],
        s["other_entries"]
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn har(entry: usize, line: &str, headers: &[&str]) -> HarRequest {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let request = Request::from_line(line, &headers).unwrap();
        HarRequest { entry, request }
    }

    /// Each preflight goes with the first later request it was for: same URL, same origin,
    /// the method it asked, and not one an earlier preflight took.
    #[test]
    fn a_preflight_pairs_with_the_first_later_request_it_was_for() {
        let origin = "Origin: https://app.example.com";
        let asking = |method: &str| format!("Access-Control-Request-Method: {method}");
        let put = asking("PUT");
        let options = asking("OPTIONS");
        let requests = [
            har(0, "OPTIONS https://api.example.com/x", &[origin, &put]),
            har(1, "PUT https://api.example.com/other", &[origin]),
            har(2, "OPTIONS https://api.example.com/x", &[origin, &put]),
            har(3, "PUT https://api.example.com/x", &[origin]),
            har(4, "PUT https://api.example.com/x", &[origin]),
            har(5, "OPTIONS https://api.example.com/y", &[origin, &options]),
            har(6, "OPTIONS https://api.example.com/y", &[origin]),
        ];
        assert_eq!(preflight_pairs(&requests), [(0, 3), (2, 4), (5, 6)]);
    }
}
