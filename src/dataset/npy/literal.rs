//! Python literals as `ast.literal_eval` reads them, as far as an `.npy` header needs
//! (numpy writes the header with `repr` and reads it with `literal_eval`): strings (any
//! quote, escapes, `u`/`r` prefixes, adjacent strings joined), `True`/`False`/`None`,
//! decimal integers (Python 2's `L` suffix too), tuples, lists and dicts. Whitespace,
//! line continuations and comments may sit between tokens. Anything else (bytes,
//! floats, expressions) is refused: no header holds it.

use std::fmt;

/// A parsed literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Literal {
    /// A string.
    Str(String),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// An integer (beyond ±2^127 is refused).
    Int(i128),
    /// A tuple.
    Tuple(Vec<Literal>),
    /// A list.
    List(Vec<Literal>),
    /// A dict, its entries in the order written (repeated keys kept).
    Dict(Vec<(Literal, Literal)>),
}

impl fmt::Display for Literal {
    /// As Python's `repr` writes it (strings single-quoted, escapes aside).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn items(f: &mut fmt::Formatter<'_>, items: &[Literal]) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        match self {
            Literal::Str(s) => write!(f, "'{}'", s.escape_debug()),
            Literal::Bool(true) => f.write_str("True"),
            Literal::Bool(false) => f.write_str("False"),
            Literal::None => f.write_str("None"),
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Tuple(t) => {
                f.write_str("(")?;
                items(f, t)?;
                f.write_str(if t.len() == 1 { ",)" } else { ")" })
            }
            Literal::List(l) => {
                f.write_str("[")?;
                items(f, l)?;
                f.write_str("]")
            }
            Literal::Dict(d) => {
                f.write_str("{")?;
                for (i, (k, v)) in d.iter().enumerate() {
                    write!(f, "{}{k}: {v}", if i > 0 { ", " } else { "" })?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Why a text is not a literal: what was expected, and at which character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// The character offset in the text.
    pub(crate) at: usize,
    /// What is wrong there.
    pub(crate) what: String,
}

/// Nesting deeper than this is refused (no header nests more than three levels; a
/// forged one must not exhaust the stack).
const MAX_DEPTH: usize = 32;

/// Parses `text` as one literal, with only whitespace and comments around it.
pub(crate) fn parse(text: &str) -> Result<Literal, SyntaxError> {
    if let Some(at) = text.chars().position(|c| c == '\0') {
        // As Python: source text cannot hold a NUL.
        return Err(SyntaxError {
            at,
            what: "a NUL character".into(),
        });
    }
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
        key: None,
    };
    let value = p.value()?;
    p.skip_space();
    if p.pos < p.chars.len() {
        return Err(p.error("text after the literal"));
    }
    Ok(value)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    /// The key whose value is being read, for the error message.
    key: Option<String>,
}

impl Parser {
    fn error(&self, what: &str) -> SyntaxError {
        let near: String = self.chars[self.pos.min(self.chars.len())..]
            .iter()
            .take(20)
            .collect();
        let mut what = if near.is_empty() {
            format!("{what}, at the end")
        } else {
            format!("{what}, at {near:?}")
        };
        if let Some(key) = &self.key {
            what.push_str(&format!(", in the value of '{key}'"));
        }
        SyntaxError { at: self.pos, what }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// Whitespace, comments and backslash-newline continuations.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' | '\x0c' => self.pos += 1,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '\\' if matches!(self.peek_at(1), Some('\n')) => self.pos += 2,
                '\\' if self.peek_at(1) == Some('\r') && self.peek_at(2) == Some('\n') => {
                    self.pos += 3
                }
                _ => return,
            }
        }
    }

    fn value(&mut self) -> Result<Literal, SyntaxError> {
        self.skip_space();
        if self.depth >= MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            Some('{') => self.nested(|p| p.dict()),
            Some('[') => self.nested(|p| p.sequence(']').map(|(items, _)| Literal::List(items))),
            Some('(') => self.nested(|p| p.parenthesised()),
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => self.int(),
            Some(c) if c.is_alphabetic() || c == '_' || c == '\'' || c == '"' => self.word(),
            _ => Err(self.error("expected a literal")),
        }
    }

    fn nested(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<Literal, SyntaxError>,
    ) -> Result<Literal, SyntaxError> {
        self.depth += 1;
        self.pos += 1; // the opening bracket
        let value = inner(self);
        self.depth -= 1;
        value
    }

    /// Items up to `close`, comma-separated, a trailing comma allowed; also whether
    /// there was a comma (which makes `(x,)` a tuple).
    fn sequence(&mut self, close: char) -> Result<(Vec<Literal>, bool), SyntaxError> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, comma));
            }
            items.push(self.value()?);
            self.skip_space();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    comma = true;
                }
                Some(c) if c == close => {}
                _ => return Err(self.error(&format!("expected ',' or '{close}'"))),
            }
        }
    }

    fn parenthesised(&mut self) -> Result<Literal, SyntaxError> {
        let (mut items, comma) = self.sequence(')')?;
        Ok(match (items.len(), comma) {
            (1, false) => items.pop().expect("one item"), // (x) is x
            _ => Literal::Tuple(items),
        })
    }

    fn dict(&mut self) -> Result<Literal, SyntaxError> {
        let mut entries = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Literal::Dict(entries));
            }
            let key = self.value()?;
            self.skip_space();
            if self.peek() != Some(':') {
                return Err(self.error("expected ':' after a key"));
            }
            self.pos += 1;
            let outer = match &key {
                Literal::Str(k) => self.key.replace(k.clone()),
                _ => self.key.clone(),
            };
            let value = self.value()?;
            self.key = outer;
            entries.push((key, value));
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    /// A decimal integer with an optional sign (Python's unary + and -), `_` between
    /// digits, and Python 2's `L` suffix; no leading zeros (`007` is not Python).
    fn int(&mut self) -> Result<Literal, SyntaxError> {
        let start = self.pos;
        let mut negative = false;
        while let Some(c @ ('-' | '+')) = self.peek() {
            negative ^= c == '-';
            self.pos += 1;
            self.skip_space();
        }
        let first = self.pos;
        let mut value: i128 = 0;
        while let Some(c) = self.peek() {
            if let Some(d) = c.to_digit(10).filter(|_| c.is_ascii_digit()) {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(d.into()))
                    .ok_or_else(|| self.error("an integer too large"))?;
            } else if !(c == '_'
                && self.pos > first
                && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()))
            {
                break;
            }
            self.pos += 1;
        }
        let digits = &self.chars[first..self.pos];
        if digits.is_empty() || (digits[0] == '0' && value != 0) {
            self.pos = start;
            return Err(self.error("expected a decimal integer"));
        }
        if matches!(self.peek(), Some('L' | 'l')) {
            self.pos += 1;
        }
        if self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_')
        {
            return Err(self.error("expected a decimal integer"));
        }
        Ok(Literal::Int(if negative { -value } else { value }))
    }

    /// `True`, `False`, `None`, or a string with its prefix.
    fn word(&mut self) -> Result<Literal, SyntaxError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        match (word.as_str(), self.peek()) {
            ("True", q) if !matches!(q, Some('\'' | '"')) => Ok(Literal::Bool(true)),
            ("False", q) if !matches!(q, Some('\'' | '"')) => Ok(Literal::Bool(false)),
            ("None", q) if !matches!(q, Some('\'' | '"')) => Ok(Literal::None),
            (prefix, Some('\'' | '"')) => {
                self.pos = start;
                // In characters, as the parser counts (a word may hold any letters).
                self.strings(prefix.chars().count())
            }
            _ => {
                self.pos = start;
                Err(self.error("expected a literal"))
            }
        }
    }

    /// One string, then any adjacent ones (Python joins `'a' 'b'`).
    fn strings(&mut self, prefix_len: usize) -> Result<Literal, SyntaxError> {
        let mut text = self.string(prefix_len)?;
        loop {
            let before = self.pos;
            self.skip_space();
            let prefix_len = self.chars[self.pos..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            if prefix_len <= 2 && matches!(self.peek_at(prefix_len), Some('\'' | '"')) {
                text.push_str(&self.string(prefix_len)?);
            } else {
                self.pos = before;
                return Ok(Literal::Str(text));
            }
        }
    }

    fn string(&mut self, prefix_len: usize) -> Result<String, SyntaxError> {
        let prefix: String = self.chars[self.pos..self.pos + prefix_len]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        let raw = match prefix.as_str() {
            "" | "u" => false,
            "r" => true,
            _ => return Err(self.error("not a str literal (bytes or an f-string)")),
        };
        self.pos += prefix_len;
        let quote = self.peek().expect("a quote follows the prefix");
        if self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote) {
            return Err(self.error("triple-quoted strings are not read"));
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None | Some('\n') => return Err(self.error("a string is never closed")),
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') if raw => {
                    out.push('\\');
                    if let Some(next) = self.peek_at(1) {
                        out.push(next);
                    }
                    self.pos += 2;
                }
                Some('\\') => self.escape(&mut out)?,
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// One backslash escape of a (non-raw) string.
    fn escape(&mut self, out: &mut String) -> Result<(), SyntaxError> {
        let Some(c) = self.peek_at(1) else {
            return Err(self.error("a string is never closed"));
        };
        self.pos += 2;
        let simple = match c {
            '\n' => Some(None),
            '\\' | '\'' | '"' => Some(Some(c)),
            'n' => Some(Some('\n')),
            't' => Some(Some('\t')),
            'r' => Some(Some('\r')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(pushed) = simple {
            out.extend(pushed);
            return Ok(());
        }
        let (digits, radix) = match c {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => {
                self.pos -= 1; // the first octal digit is part of the number
                let n = self.chars[self.pos..]
                    .iter()
                    .take(3)
                    .take_while(|c| c.is_digit(8))
                    .count();
                (n, 8)
            }
            'N' => return Err(self.error("\\N{...} escapes are not read")),
            other => {
                out.push('\\');
                out.push(other);
                return Ok(());
            }
        };
        let code: String = self.chars[self.pos..].iter().take(digits).collect();
        let well_formed = code.chars().count() == digits && code.chars().all(|c| c.is_digit(radix));
        let value = well_formed
            .then(|| u32::from_str_radix(&code, radix).ok())
            .flatten()
            .and_then(char::from_u32)
            .ok_or_else(|| self.error("a bad escape in a string"))?;
        self.pos += digits;
        out.push(value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(text: &str) -> Literal {
        Literal::Str(text.into())
    }

    #[test]
    fn reads_what_python_reads() {
        let parsed = parse("{'descr': '<f8', 'fortran_order': False, 'shape': (10, 3), }   \n");
        assert_eq!(
            parsed.unwrap(),
            Literal::Dict(vec![
                (s("descr"), s("<f8")),
                (s("fortran_order"), Literal::Bool(false)),
                (
                    s("shape"),
                    Literal::Tuple(vec![Literal::Int(10), Literal::Int(3)])
                ),
            ])
        );
        for (text, value) in [
            (r#""a'b""#, s("a'b")),
            (r"'a\'b\\c'", s("a'b\\c")),
            (r"'\x41\u00e9\101\n'", s("A\u{e9}A\n")),
            (r"r'\x41'", s("\\x41")),
            ("u'x' 'y'  \"z\"", s("xyz")),
            ("(3)", Literal::Int(3)),
            ("(3,)", Literal::Tuple(vec![Literal::Int(3)])),
            ("()", Literal::Tuple(vec![])),
            (
                "[1, -2,]",
                Literal::List(vec![Literal::Int(1), Literal::Int(-2)]),
            ),
            ("1_000", Literal::Int(1000)),
            ("10L", Literal::Int(10)),
            ("00", Literal::Int(0)),
            ("None # a comment\n", Literal::None),
            (
                "{'a': (\n1,\\\n)}",
                Literal::Dict(vec![(s("a"), Literal::Tuple(vec![Literal::Int(1)]))]),
            ),
        ] {
            assert_eq!(parse(text).unwrap(), value, "{text}");
        }
    }

    #[test]
    fn refuses_what_python_refuses_or_no_header_holds() {
        for text in [
            "",
            "{",
            "{'a' 1}",
            "{'a': 1,,}",
            "(,)",
            "007",
            "1__0",
            "1_",
            "b'x'",
            "f'x'",
            "'''x'''",
            "'abc",
            "'a\nb'",
            "1.5",
            "inf",
            "{'a': x}",
            "{} {}",
            "'\\x4'",
            "'\\N{DASH}'",
            "'a\0b'",
            "1e3",
            "0x10",
            "True'x'",
        ] {
            assert!(parse(text).is_err(), "{text:?} parsed as {:?}", parse(text));
        }
        let deep = "(".repeat(100) + &")".repeat(100);
        assert!(parse(&deep).unwrap_err().what.contains("nested too deeply"));
        let e = parse("{'descr': '<f8', 'shape': (x,)}").unwrap_err();
        assert!(e.what.contains("in the value of 'shape'"), "{}", e.what);
    }

    fn literal() -> impl Strategy<Value = Literal> {
        let leaf = prop_oneof![
            any::<String>().prop_map(Literal::Str),
            any::<bool>().prop_map(Literal::Bool),
            Just(Literal::None),
            any::<i64>().prop_map(|n| Literal::Int(n.into())),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Literal::Tuple),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Literal::List),
                proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Literal::Dict),
            ]
        })
    }

    proptest! {
        /// What `Display` writes (Python's repr, strings escaped as Rust escapes them,
        /// which Python reads the same way) parses back to the same literal.
        #[test]
        fn display_parses_back(value in literal()) {
            let text = value.to_string();
            // Rust writes \u{..} escapes, which Python spells \U0000....: only plain text
            // round-trips through both.
            prop_assume!(!text.contains("\\u{"));
            prop_assert_eq!(parse(&text).unwrap(), value);
        }

        #[test]
        fn never_panics(text in "[ -~\u{e9}\u{645}\n]{0,40}") {
            let _ = parse(&text);
        }
    }

    #[test]
    fn a_string_prefix_of_other_letters_is_an_error() {
        // Found by never_panics: the prefix was measured in bytes, the text in characters.
        assert!(parse("\u{e9}\u{645}\u{645}\"").is_err());
        assert!(parse("{'descr': \u{e9}'<f8', 'fortran_order': False, 'shape': (1,)}").is_err());
    }
}
