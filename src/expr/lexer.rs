//! Tokens of the expression language, each with its byte position for error messages.

use super::ParseError;

/// A token of the language.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A number literal.
    Number(f64),
    /// A name: a variable, a function, a constant or a keyword.
    Name(String),
    /// Operators and punctuation: + - * / % ** < <= > >= == != & | ~ ( ) ,
    Symbol(&'static str),
    /// The end of the text (always the last token).
    End,
}

/// A token and the byte offset where it starts.
pub struct Lexed {
    /// The token.
    pub token: Token,
    /// Its byte offset in the source.
    pub at: usize,
}

const SYMBOLS: &[&str] = &[
    "**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "&", "|", "~", "(", ")", ",",
];

/// The tokens of `source`, ending with `Token::End`.
pub fn tokenize(source: &str) -> Result<Vec<Lexed>, ParseError> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let mut j = i + 1;
                if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            // Python's integer suffixes and the like are not numbers here.
            if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
                return Err(ParseError::new(i, "a number followed directly by a letter"));
            }
            let text = &source[start..i];
            let value: f64 = text
                .parse()
                .map_err(|_| ParseError::new(start, format!("{text:?} is not a number")))?;
            out.push(Lexed {
                token: Token::Number(value),
                at: start,
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Lexed {
                token: Token::Name(source[start..i].to_owned()),
                at: start,
            });
            continue;
        }
        match SYMBOLS.iter().find(|s| source[i..].starts_with(**s)) {
            Some(s) => {
                i += s.len();
                out.push(Lexed {
                    token: Token::Symbol(s),
                    at: start,
                });
            }
            None => {
                let ch = source[i..].chars().next().unwrap_or('?');
                return Err(ParseError::new(i, format!("unexpected character {ch:?}")));
            }
        }
    }
    out.push(Lexed {
        token: Token::End,
        at: bytes.len(),
    });
    Ok(out)
}
