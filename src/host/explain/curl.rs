//! A browser's "Copy as cURL" command read as the request it describes: Chromium's "(bash)",
//! Firefox's "(POSIX)" and Safari's. Words are split as bash splits them (`$'...'` decoded
//! by [`ansi_c`], the rest by the `shlex` crate); only what shapes the request is read, and
//! any option we do not know is an error rather than a guess.

use super::{ansi_c, Request};

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

/// Options whose value is attached when written short (`-XPOST`, as Safari writes it).
const SHORT_WITH_VALUE: &[&str] = &["-X", "-H", "-b", "-A", "-e", "-d", "-F"];

pub fn parse(command: &str) -> Result<Request, String> {
    let mut words = curl_words(command)?;
    let mut options = Options::default();
    while let Some(word) = words.next() {
        options.read(word, &mut words)?;
    }
    options.request()
}

/// The command's words after `curl`; a copy for Windows cmd, or another command, is an error.
fn curl_words(command: &str) -> Result<std::vec::IntoIter<Vec<u8>>, String> {
    if command.contains("^\"") {
        return Err(
            "--curl: this is a copy for Windows cmd (^\"...^\"); copy as cURL (bash)".into(),
        );
    }
    let mut words = words(command)?.into_iter();
    match words.next() {
        Some(curl) if curl == b"curl" || curl.ends_with(b"/curl") => Ok(words),
        _ => Err("--curl: the command must start with curl".into()),
    }
}

/// What the command's options say of the request.
#[derive(Default)]
struct Options {
    method: Option<String>,
    url: Option<String>,
    headers: Vec<Vec<u8>>,
    /// A body is sent: the method is POST unless one is given.
    body: bool,
    globoff: bool,
}

impl Options {
    /// One word of the command, with its option's value taken from `words` when not attached.
    fn read(
        &mut self,
        word: Vec<u8>,
        words: &mut impl Iterator<Item = Vec<u8>>,
    ) -> Result<(), String> {
        let (option, attached) = split_short(word);
        let mut value = |option: &str| match attached.clone() {
            Some(value) => Ok(value),
            None => words
                .next()
                .ok_or_else(|| format!("--curl: {option} needs a value")),
        };
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        let headers = &mut self.headers;
        match option.as_str() {
            "-X" | "--request" => self.method = Some(text(value(&option)?)),
            "-H" | "--header" => headers.push(value(&option)?),
            "-b" | "--cookie" => headers.push([b"Cookie: ".to_vec(), value(&option)?].concat()),
            "-A" | "--user-agent" => {
                headers.push([b"User-Agent: ".to_vec(), value(&option)?].concat())
            }
            "-e" | "--referer" => headers.push([b"Referer: ".to_vec(), value(&option)?].concat()),
            "--url" => self.url = Some(text(value(&option)?)),
            "-I" | "--head" => self.method = Some("HEAD".into()),
            "-G" | "--get" => self.method = Some("GET".into()),
            "-g" | "--globoff" => self.globoff = true,
            option if BODY.contains(&option) => {
                value(option)?;
                self.body = true;
            }
            flag if FLAGS.contains(&flag) => {}
            option if option.starts_with('-') && option.len() > 1 => {
                return Err(format!("--curl: unsupported curl option {option}"))
            }
            ";" | "&&" | "||" | "|" => {
                return Err(format!(
                    "--curl: {option:?} joins several commands; give one, or save them as HAR for --har"
                ))
            }
            _ if self.url.is_some() => return Err(format!("--curl: a second URL {option:?}")),
            _ => self.url = Some(option),
        }
        Ok(())
    }

    /// The request, once every word is read.
    fn request(self) -> Result<Request, String> {
        let url = self.url.ok_or("--curl: the command has no URL")?;
        // Chromium and Safari escape curl's URL globbing characters, which curl then unescapes.
        let url = if self.globoff { url } else { unglob(&url) };
        let method = self
            .method
            .unwrap_or_else(|| if self.body { "POST" } else { "GET" }.to_string());
        let mut request = Request::from_line(&format!("{method} {url}"), &[])?;
        for header in self.headers {
            request.add_header(&header)?;
        }
        Ok(request)
    }
}

/// The command's words, as bash splits them: `$'...'` decoded, a backslash at the end of a
/// line continuing the command, and a command copied on Windows ending its lines in CR LF.
fn words(command: &str) -> Result<Vec<Vec<u8>>, String> {
    let command = command.replace("\r\n", "\n").replace("\\\n", " ");
    let command = ansi_c::unquote(command.as_bytes())?;
    shlex::bytes::split(&command)
        .ok_or_else(|| "--curl: the command has an unclosed quote or a trailing backslash".into())
}

/// An option and the value attached to it (`-XPOST`); any other word as it is.
fn split_short(word: Vec<u8>) -> (String, Option<Vec<u8>>) {
    let short = word.get(..2).and_then(|p| std::str::from_utf8(p).ok());
    match short {
        Some(option) if word.len() > 2 && SHORT_WITH_VALUE.contains(&option) => {
            (option.to_string(), Some(word[2..].to_vec()))
        }
        _ => (String::from_utf8_lossy(&word).into_owned(), None),
    }
}

fn unglob(url: &str) -> String {
    ["[", "]", "{", "}"]
        .iter()
        .fold(url.to_string(), |url, c| url.replace(&format!("\\{c}"), c))
}
