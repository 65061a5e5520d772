//! Bash's ANSI-C quoting (`$'...'`), which Chromium, Firefox and Safari write in "Copy as
//! cURL" for any value with a `'` or a byte outside printable ASCII. No kept crate reads it
//! (`shlex` splits words but leaves `$'...'` alone), so the checker decodes it itself: each
//! `$'...'` becomes a plain single-quoted word holding the bytes bash would pass to curl.

/// `command` with every `$'...'` outside other quotes rewritten as `'...'` (a `'` in it as
/// `'\''`); the rest untouched, for `shlex` to split.
pub fn unquote(command: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(command.len());
    let mut i = 0;
    while let Some(&byte) = command.get(i) {
        match (byte, command.get(i + 1)) {
            (b'$', Some(b'\'')) => {
                let (decoded, end) = decode(command, i + 2)?;
                requote(&mut out, &decoded);
                i = end;
            }
            (b'\\', Some(&next)) => {
                out.extend([byte, next]);
                i += 2;
            }
            (b'\'' | b'"', _) => {
                let end = closing(command, i).ok_or(UNCLOSED)?;
                out.extend_from_slice(&command[i..=end]);
                i = end + 1;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Ok(out)
}

const UNCLOSED: &str = "--curl: the command has an unclosed quote or a trailing backslash";

/// Where the quote opened at `start` closes (in double quotes a backslash escapes).
fn closing(command: &[u8], start: usize) -> Option<usize> {
    let quote = command[start];
    let mut i = start + 1;
    while let Some(&byte) = command.get(i) {
        match byte {
            b'\\' if quote == b'"' => i += 2,
            _ if byte == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn requote(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'\'');
    for &byte in bytes {
        match byte {
            b'\'' => out.extend_from_slice(b"'\\''"),
            _ => out.push(byte),
        }
    }
    out.push(b'\'');
}

/// The bytes of a `$'...'` whose text starts at `start`, and the index after its `'`.
fn decode(command: &[u8], start: usize) -> Result<(Vec<u8>, usize), String> {
    let mut out = Vec::new();
    let mut i = start;
    loop {
        match command.get(i) {
            None => return Err(UNCLOSED.into()),
            Some(b'\'') => return Ok((out, i + 1)),
            Some(b'\\') => i = escape(command, i + 1, &mut out),
            Some(&byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
}

/// Decodes the escape whose letter is at `i` into `out`, as bash does; returns the index
/// after it. An escape bash does not know stays as written, backslash and all.
fn escape(command: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    let Some(&letter) = command.get(i) else {
        out.push(b'\\');
        return i;
    };
    let simple = match letter {
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'e' | b'E' => Some(0x1b),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        b'\\' | b'\'' | b'"' | b'?' => Some(letter),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return i + 1;
    }
    let (radix, most, start) = match letter {
        b'0'..=b'7' => (8, 3, i),
        b'x' => (16, 2, i + 1),
        b'u' => (16, 4, i + 1),
        b'U' => (16, 8, i + 1),
        b'c' => return control(command, i + 1, out),
        _ => {
            out.extend([b'\\', letter]);
            return i + 1;
        }
    };
    let digits = command[start..]
        .iter()
        .take(most)
        .take_while(|d| char::from(**d).is_digit(radix))
        .count();
    let text = std::str::from_utf8(&command[start..start + digits]).unwrap_or_default();
    let Ok(value) = u32::from_str_radix(text, radix) else {
        // `\x`, `\u` or `\U` with no digit after it
        out.extend([b'\\', letter]);
        return i + 1;
    };
    match letter {
        // \nnn and \xHH are one byte; \u and \U a character, in UTF-8
        b'x' | b'0'..=b'7' => out.push(value as u8),
        _ => {
            let c = char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER);
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
    }
    start + digits
}

/// Decodes `\c` and the byte after it, at `i`, into `out`: that byte's control character, as
/// bash makes it (`\c?` is DEL; in `\c\x` the backslash's, then `x` as written, but `\c\\` is
/// the backslash's alone); `\c` at the closing quote stays as written. Returns the index after.
fn control(command: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    match (command.get(i), command.get(i + 1)) {
        (None | Some(b'\''), _) => {
            out.extend(*b"\\c");
            i
        }
        (Some(b'?'), _) => {
            out.push(0x7f);
            i + 1
        }
        (Some(b'\\'), Some(&escaped)) => {
            out.push(0x1c);
            if escaped != b'\\' {
                out.push(escaped);
            }
            i + 2
        }
        (Some(&byte), _) => {
            out.push(byte & 0x1f);
            i + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unquote;

    fn unquoted(command: &str) -> String {
        String::from_utf8(unquote(command.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn each_escape_bash_knows_is_decoded() {
        assert_eq!(unquoted(r"-H $'a\'b'"), r"-H 'a'\''b'");
        assert_eq!(unquoted(r"$'\u0021\041\x21\x7'"), "'!!!\x07'");
        assert_eq!(unquoted(r"$'\u00e9\xc3\xa9\U0001F600'"), "'éé😀'");
        assert_eq!(unquoted(r"$'a\nb\tc\\d\q\x'"), "'a\nb\tc\\d\\q\\x'");
        assert_eq!(unquoted(r"$'\cA'"), "'\x01'");
        assert_eq!(
            unquoted(r#"$'\a\b\e\E\f\r\v\?\"'"#),
            "'\x07\x08\x1b\x1b\x0c\r\x0b?\"'"
        );
    }

    /// What bash makes of `\c` (bash 5.2: `printf %s $'\c?' | od -c`).
    #[test]
    fn a_control_escape_is_read_as_bash_reads_it() {
        assert_eq!(
            unquoted(r"$'\cA\ca\c1\c?\c\x7'"),
            "'\x01\x01\x11\x7f\x1cx7'"
        );
        assert_eq!(
            unquoted(r"$'\c\\' $'\c\n' $'\c\'x'"),
            "'\x1c' '\x1cn' '\x1c'\\''x'"
        );
        assert_eq!(unquoted(r"$'\c' $'x\c'"), r"'\c' 'x\c'");
    }

    /// As in bash: a backslash escapes the next byte in double quotes, and is itself in
    /// single quotes (`'b\'` is the word `b\`).
    #[test]
    fn a_backslash_escapes_in_double_quotes_only() {
        let command = r#"'b\' $'c' "a\" $'x'""#;
        assert_eq!(unquoted(command), r#"'b\' 'c' "a\" $'x'""#);
    }

    #[test]
    fn dollar_quotes_inside_other_quotes_are_left_alone() {
        assert_eq!(unquoted(r#"'$'"a $'x'" \$'y'"#), r#"'$'"a $'x'" \$'y'"#);
    }

    #[test]
    fn latin1_escapes_are_raw_bytes_as_bash_passes_them() {
        assert_eq!(unquote(br"$'\xe9'").unwrap(), b"'\xe9'");
    }

    #[test]
    fn an_unclosed_quote_is_an_error() {
        for command in [r"$'abc", r"$'abc\'", r"$'\c", "'abc", "\"abc"] {
            assert_eq!(
                unquote(command.as_bytes()).unwrap_err(),
                "--curl: the command has an unclosed quote or a trailing backslash",
                "{command}"
            );
        }
    }
}
