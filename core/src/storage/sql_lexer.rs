//! SQLite's tokenizer (`sqlite3GetToken` in `tokenize.c`, SQLite 3.54), ported byte for byte
//! so the runtime sees a statement's tokens exactly where SQLite sees them.
//!
//! The sandbox needs it for the one check SQLite's authorizer cannot make (the target of
//! `ALTER TABLE … RENAME TO`, see `sandbox.rs`). A tokenizer that disagrees with SQLite on a
//! single boundary (a quote, a comment, a keyword spelled inside an identifier) is a bypass,
//! so this follows SQLite's character classes rather than "what SQL usually looks like":
//!
//! * input ends at the first NUL byte, as SQLite's parser stops there;
//! * whitespace is `\t \n \f \r` and space to start a run, and also `\v` inside one;
//! * `-- …` runs to the newline; `/* …` runs to `*/` or the end of input;
//! * `"…"` and `` `…` `` are identifiers, `'…'` is a string, a doubled quote is a literal
//!   quote; `[…]` is an identifier without escapes;
//! * words are runs of ASCII letters, digits, `_`, `$` and any byte ≥ 0x80 that start with a
//!   letter, `_` or a byte ≥ 0x80; keywords are words compared ignoring ASCII case.

/// The kind of one token. Words cover both keywords and bare identifiers: which one a word
/// is depends on the grammar (SQLite lets most keywords fall back to identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Space,
    Comment,
    /// A bare word: a keyword or an unquoted identifier.
    Word,
    /// `"…"`, `` `…` `` or `[…]`: always an identifier, never a keyword.
    QuotedId,
    /// `'…'`: a string literal (SQLite also accepts it where a name is expected).
    String,
    Blob,
    Number,
    Variable,
    Semi,
    Dot,
    /// Any operator or punctuation other than `;` and `.`.
    Punct,
    /// Something SQLite refuses (`unrecognized token`).
    Illegal,
}

/// One token: its kind and its bytes in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind,
    pub text: &'a [u8],
}

impl Token<'_> {
    /// True for the bare word `kw` (ASCII case ignored), i.e. where SQLite may read keyword `kw`.
    pub fn is_word(&self, kw: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(kw.as_bytes())
    }

    /// True for a token that can be a name (`nm` in SQLite's grammar: an identifier, a
    /// keyword that falls back to one, or a string).
    pub fn is_name(&self) -> bool {
        matches!(self.kind, Kind::Word | Kind::QuotedId | Kind::String)
    }

    /// The name this token stands for, without quotes (`sqlite3Dequote`).
    pub fn name(&self) -> Vec<u8> {
        dequote(self.text)
    }
}

// Character classes of `aiClass` in tokenize.c (ASCII build).
const CC_X: u8 = 0;
const CC_KYWD0: u8 = 1;
const CC_KYWD: u8 = 2;
const CC_DIGIT: u8 = 3;
const CC_DOLLAR: u8 = 4;
const CC_VARALPHA: u8 = 5;
const CC_VARNUM: u8 = 6;
const CC_SPACE: u8 = 7;
const CC_QUOTE: u8 = 8;
const CC_QUOTE2: u8 = 9;
const CC_PIPE: u8 = 10;
const CC_MINUS: u8 = 11;
const CC_LT: u8 = 12;
const CC_GT: u8 = 13;
const CC_EQ: u8 = 14;
const CC_BANG: u8 = 15;
const CC_SLASH: u8 = 16;
const CC_LP: u8 = 17;
const CC_RP: u8 = 18;
const CC_SEMI: u8 = 19;
const CC_PLUS: u8 = 20;
const CC_STAR: u8 = 21;
const CC_PERCENT: u8 = 22;
const CC_COMMA: u8 = 23;
const CC_AND: u8 = 24;
const CC_TILDA: u8 = 25;
const CC_DOT: u8 = 26;
const CC_ID: u8 = 27;
const CC_NUL: u8 = 29;
const CC_BOM: u8 = 30;

#[rustfmt::skip]
const AI_CLASS: [u8; 256] = [
/*         x0  x1  x2  x3  x4  x5  x6  x7  x8  x9  xa  xb  xc  xd  xe  xf */
/* 0x */   29, 28, 28, 28, 28, 28, 28, 28, 28,  7,  7, 28,  7,  7, 28, 28,
/* 1x */   28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
/* 2x */    7, 15,  8,  5,  4, 22, 24,  8, 17, 18, 21, 20, 23, 11, 26, 16,
/* 3x */    3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  5, 19, 12, 14, 13,  6,
/* 4x */    5,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
/* 5x */    1,  1,  1,  1,  1,  1,  1,  1,  0,  2,  2,  9, 28, 28, 28,  2,
/* 6x */    8,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
/* 7x */    1,  1,  1,  1,  1,  1,  1,  1,  0,  2,  2, 28, 10, 28, 25, 28,
/* 8x */   27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
/* 9x */   27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
/* Ax */   27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
/* Bx */   27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
/* Cx */   27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
/* Dx */   27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
/* Ex */   27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 30,
/* Fx */   27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27, 27,
];

/// `sqlite3Isspace`: `\t \n \v \f \r` and space.
fn is_space(c: u8) -> bool {
    matches!(c, b'\t'..=b'\r' | b' ')
}

/// `IdChar`: a byte that can continue an identifier.
fn id_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The byte at `i`, or NUL past the end (SQLite reads a NUL-terminated copy).
fn at(z: &[u8], i: usize) -> u8 {
    z.get(i).copied().unwrap_or(0)
}

/// `sqlite3GetToken`: the kind and length of the token at the start of `z`. A length of 0
/// means the end of input (the end of `z` or a NUL byte).
pub fn next_token(z: &[u8]) -> (Kind, usize) {
    let c0 = at(z, 0);
    let mut i: usize;
    match AI_CLASS[c0 as usize] {
        CC_SPACE => {
            i = 1;
            while is_space(at(z, i)) {
                i += 1;
            }
            return (Kind::Space, i);
        }
        CC_MINUS => {
            return match at(z, 1) {
                b'-' => {
                    i = 2;
                    while !matches!(at(z, i), 0 | b'\n') {
                        i += 1;
                    }
                    (Kind::Comment, i)
                }
                b'>' => (Kind::Punct, 2 + usize::from(at(z, 2) == b'>')),
                _ => (Kind::Punct, 1),
            };
        }
        CC_LP | CC_RP | CC_PLUS | CC_STAR | CC_PERCENT | CC_COMMA | CC_AND | CC_TILDA => {
            return (Kind::Punct, 1);
        }
        CC_SEMI => return (Kind::Semi, 1),
        CC_SLASH => {
            if at(z, 1) != b'*' || at(z, 2) == 0 {
                return (Kind::Punct, 1);
            }
            // for(i=3, c=z[2]; (c!='*' || z[i]!='/') && (c=z[i])!=0; i++){}  if( c ) i++;
            i = 3;
            let mut c = at(z, 2);
            loop {
                if c == b'*' && at(z, i) == b'/' {
                    break;
                }
                c = at(z, i);
                if c == 0 {
                    break;
                }
                i += 1;
            }
            if c != 0 {
                i += 1;
            }
            return (Kind::Comment, i);
        }
        CC_EQ => return (Kind::Punct, 1 + usize::from(at(z, 1) == b'=')),
        CC_LT => {
            return (
                Kind::Punct,
                if matches!(at(z, 1), b'=' | b'>' | b'<') {
                    2
                } else {
                    1
                },
            )
        }
        CC_GT => {
            return (
                Kind::Punct,
                if matches!(at(z, 1), b'=' | b'>') {
                    2
                } else {
                    1
                },
            )
        }
        CC_BANG => {
            return if at(z, 1) == b'=' {
                (Kind::Punct, 2)
            } else {
                (Kind::Illegal, 1)
            };
        }
        CC_PIPE => return (Kind::Punct, 1 + usize::from(at(z, 1) == b'|')),
        CC_QUOTE => {
            let delim = c0;
            i = 1;
            let mut c;
            loop {
                c = at(z, i);
                if c == 0 {
                    break;
                }
                if c == delim {
                    if at(z, i + 1) == delim {
                        i += 1;
                    } else {
                        break;
                    }
                }
                i += 1;
            }
            return if c == b'\'' {
                (Kind::String, i + 1)
            } else if c != 0 {
                (Kind::QuotedId, i + 1)
            } else {
                (Kind::Illegal, i)
            };
        }
        CC_DOT if !at(z, 1).is_ascii_digit() => return (Kind::Dot, 1),
        CC_DOT | CC_DIGIT => return number(z),
        CC_QUOTE2 => {
            i = 1;
            let mut c = c0;
            while c != b']' {
                c = at(z, i);
                if c == 0 {
                    break;
                }
                i += 1;
            }
            return (
                if c == b']' {
                    Kind::QuotedId
                } else {
                    Kind::Illegal
                },
                i,
            );
        }
        CC_VARNUM => {
            i = 1;
            while at(z, i).is_ascii_digit() {
                i += 1;
            }
            return (Kind::Variable, i);
        }
        CC_DOLLAR | CC_VARALPHA => return variable(z),
        CC_KYWD0 => {
            // A run of keyword characters is a keyword or an identifier; any other identifier
            // character after it makes it an identifier. Either way it is a word of
            // identifier characters.
            i = 1;
        }
        CC_X => {
            if at(z, 1) == b'\'' {
                i = 2;
                while at(z, i).is_ascii_hexdigit() {
                    i += 1;
                }
                let mut kind = Kind::Blob;
                if at(z, i) != b'\'' || i % 2 == 1 {
                    kind = Kind::Illegal;
                    while !matches!(at(z, i), 0 | b'\'') {
                        i += 1;
                    }
                }
                if at(z, i) != 0 {
                    i += 1;
                }
                return (kind, i);
            }
            i = 1;
        }
        CC_KYWD | CC_ID => i = 1,
        CC_BOM => {
            if at(z, 1) == 0xbb && at(z, 2) == 0xbf {
                return (Kind::Space, 3);
            }
            i = 1;
        }
        CC_NUL => return (Kind::Illegal, 0),
        _ => return (Kind::Illegal, 1),
    }
    while id_char(at(z, i)) {
        i += 1;
    }
    (Kind::Word, i)
}

/// A numeric literal (`CC_DIGIT`, or `.` followed by a digit); digits may be separated by
/// `_`; identifier characters straight after it make it illegal.
fn number(z: &[u8]) -> (Kind, usize) {
    let mut kind = Kind::Number;
    let digits = |mut i: usize, hex: bool| loop {
        let c = at(z, i);
        let ok = if hex {
            c.is_ascii_hexdigit()
        } else {
            c.is_ascii_digit()
        };
        if !ok && c != b'_' {
            return i;
        }
        i += 1;
    };
    let mut i;
    if at(z, 0) == b'0' && matches!(at(z, 1), b'x' | b'X') && at(z, 2).is_ascii_hexdigit() {
        i = digits(3, true);
    } else {
        i = digits(0, false);
        if at(z, i) == b'.' {
            i = digits(i + 1, false);
        }
        let c = at(z, i + 1);
        if matches!(at(z, i), b'e' | b'E')
            && (c.is_ascii_digit() || (matches!(c, b'+' | b'-') && at(z, i + 2).is_ascii_digit()))
        {
            i = digits(i + 2, false);
        }
    }
    while id_char(at(z, i)) {
        kind = Kind::Illegal;
        i += 1;
    }
    (kind, i)
}

/// `$name`, `@name`, `:name`, `#name` (with Tcl's `::` and `(…)` suffixes).
fn variable(z: &[u8]) -> (Kind, usize) {
    let mut kind = Kind::Variable;
    let mut n = 0;
    let mut i = 1;
    loop {
        let c = at(z, i);
        if c == 0 {
            break;
        }
        if id_char(c) {
            n += 1;
        } else if c == b'(' && n > 0 {
            loop {
                i += 1;
                let c = at(z, i);
                if c == 0 || is_space(c) || c == b')' {
                    break;
                }
            }
            if at(z, i) == b')' {
                i += 1;
            } else {
                kind = Kind::Illegal;
            }
            break;
        } else if c == b':' && at(z, i + 1) == b':' {
            i += 1;
        } else {
            break;
        }
        i += 1;
    }
    if n == 0 {
        kind = Kind::Illegal;
    }
    (kind, i)
}

/// `sqlite3Dequote`: strips the quotes of `"…"`, `` `…` ``, `'…'` or `[…]` and undoubles
/// doubled quotes; anything else is returned as it is.
pub fn dequote(text: &[u8]) -> Vec<u8> {
    let close = match text.first() {
        Some(b'"') => b'"',
        Some(b'\'') => b'\'',
        Some(b'`') => b'`',
        Some(b'[') => b']',
        _ => return text.to_vec(),
    };
    let mut out = Vec::with_capacity(text.len());
    let mut i = 1;
    while i < text.len() {
        let c = text[i];
        if c == close {
            if text.get(i + 1) == Some(&close) {
                out.push(close);
                i += 2;
                continue;
            }
            break;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The tokens of `sql` up to its end (or first NUL), spaces and comments included.
pub fn tokens(sql: &[u8]) -> Tokens<'_> {
    Tokens { rest: sql }
}

/// Iterator over the tokens of a statement; see [`tokens`].
pub struct Tokens<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let (kind, n) = next_token(self.rest);
        if n == 0 {
            return None;
        }
        // Every token but the end has a length ≥ 1, and none runs past the input.
        let n = n.min(self.rest.len());
        let (text, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(Token { kind, text })
    }
}

/// The tokens SQLite's parser sees: spaces and comments left out.
pub fn significant(sql: &[u8]) -> impl Iterator<Item = Token<'_>> {
    tokens(sql).filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        tokens(sql.as_bytes())
            .map(|t| (t.kind, std::str::from_utf8(t.text).unwrap()))
            .collect()
    }

    #[test]
    fn quotes_comments_and_words_split_as_sqlite_splits_them() {
        use Kind::*;
        assert_eq!(
            kinds(r#"ALTER/*x*/"a""b"--c"#),
            vec![
                (Word, "ALTER"),
                (Comment, "/*x*/"),
                (QuotedId, r#""a""b""#),
                (Comment, "--c")
            ]
        );
        assert_eq!(
            kinds("[a]]'it''s'`q`"),
            vec![
                (QuotedId, "[a]"),
                (Illegal, "]"),
                (String, "'it''s'"),
                (QuotedId, "`q`")
            ]
        );
        assert_eq!(
            kinds("main.t"),
            vec![(Word, "main"), (Dot, "."), (Word, "t")]
        );
        assert_eq!(kinds("x'0A'"), vec![(Blob, "x'0A'")]);
        assert_eq!(kinds("rename1$é"), vec![(Word, "rename1$é")]);
        assert_eq!(kinds("1_000.5e3"), vec![(Number, "1_000.5e3")]);
        assert_eq!(kinds("/* open"), vec![(Comment, "/* open")]);
        assert_eq!(kinds("'open"), vec![(Illegal, "'open")]);
        assert_eq!(kinds("a\0b"), vec![(Word, "a")]);
        assert_eq!(kinds("\x0b"), vec![(Illegal, "\x0b")]);
        assert_eq!(kinds(" \x0b"), vec![(Space, " \x0b")]);
        assert_eq!(kinds(";\u{feff}"), vec![(Semi, ";"), (Space, "\u{feff}")]);
    }

    #[test]
    fn dequote_undoubles_quotes() {
        assert_eq!(dequote(br#""a""b""#), b"a\"b");
        assert_eq!(dequote(b"'it''s'"), b"it's");
        assert_eq!(dequote(b"[a\"b]"), b"a\"b");
        assert_eq!(dequote(b"``"), b"");
        assert_eq!(dequote(b"plain"), b"plain");
    }
}
