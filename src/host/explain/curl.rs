//! A browser's "Copy as cURL" (bash) command read as the request it describes. Words are
//! split as a POSIX shell splits them (the `shlex` crate); only what shapes the request is
//! read, and any option we do not know is an error rather than a guess.

use super::Request;

/// Options that take no value and do not change the request the filter sees.
const FLAGS: &[&str] = &[
    "--compressed",
    "-s",
    "--silent",
    "-S",
    "--show-error",
    "-i",
    "--include",
    "-k",
    "--insecure",
    "-L",
    "--location",
    "-v",
    "--verbose",
    "-g",
    "--globoff",
    "-N",
    "--no-buffer",
    "-f",
    "--fail",
    "--http1.1",
    "--http2",
    "--http2-prior-knowledge",
];

/// Options whose value is a request body: the method becomes POST unless one is given.
const BODY: &[&str] = &[
    "-d",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-ascii",
    "--data-urlencode",
    "--json",
    "-F",
    "--form",
];

pub fn parse(command: &str) -> Result<Request, String> {
    if command.contains("$'") {
        return Err("--curl: ANSI-C quoting ($'...') is not supported; \
                    write those words in plain single quotes"
            .into());
    }
    // A backslash at the end of a line continues the command, as in a shell (shlex would
    // leave an empty word); a command copied on Windows ends its lines with CR LF.
    let command = command.replace("\r\n", "\n").replace("\\\n", " ");
    let words = shlex::split(&command)
        .ok_or("--curl: the command has an unclosed quote or a trailing backslash")?;
    let mut words = words.into_iter();
    match words.next() {
        Some(curl) if curl == "curl" || curl.ends_with("/curl") => {}
        _ => return Err("--curl: the command must start with curl".into()),
    }
    let (mut method, mut url, mut body) = (None, None, false);
    let mut headers = Vec::new();
    while let Some(word) = words.next() {
        let mut value = |option: &str| {
            words
                .next()
                .ok_or_else(|| format!("--curl: {option} needs a value"))
        };
        match word.as_str() {
            "-X" | "--request" => method = Some(value(&word)?),
            "-H" | "--header" => headers.push(value(&word)?),
            "-b" | "--cookie" => headers.push(format!("Cookie: {}", value(&word)?)),
            "-A" | "--user-agent" => headers.push(format!("User-Agent: {}", value(&word)?)),
            "-e" | "--referer" => headers.push(format!("Referer: {}", value(&word)?)),
            "--url" => url = Some(value(&word)?),
            "-I" | "--head" => method = Some("HEAD".into()),
            "-G" | "--get" => method = Some("GET".into()),
            option if BODY.contains(&option) => {
                value(option)?;
                body = true;
            }
            flag if FLAGS.contains(&flag) => {}
            option if option.starts_with('-') => {
                return Err(format!("--curl: unsupported curl option {option}"))
            }
            _ if url.is_some() => return Err(format!("--curl: a second URL {word:?}")),
            _ => url = Some(word),
        }
    }
    let url = url.ok_or("--curl: the command has no URL")?;
    let method = method.unwrap_or_else(|| if body { "POST" } else { "GET" }.to_string());
    Request::from_line(&format!("{method} {url}"), &headers)
}
