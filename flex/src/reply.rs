//! Parsing of SMTP replies (RFC 5321 section 4.2) and POP3 status lines (RFC 1939).

use std::fmt;

/// Upper bound on the lines of one SMTP reply, so an endless reply is treated as broken.
pub const MAX_REPLY_LINES: usize = 1000;

/// One complete SMTP reply: the shared code and the text of each line, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code, e.g. 250.
    pub code: u16,
    /// The text after the code and separator, one entry per reply line.
    pub lines: Vec<String>,
}

impl Reply {
    /// The first digit of the code: 2 done, 3 go on, 4 try later, 5 refused.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    /// Whether an EHLO reply announces `keyword` (case-insensitive) on a line after the first.
    pub fn has_extension(&self, keyword: &str) -> bool {
        self.lines.iter().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|word| word.eq_ignore_ascii_case(keyword))
        })
    }
}

impl fmt::Display for Reply {
    /// Shows the reply the way the server sent it, one line per reply line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.lines.len().saturating_sub(1);
        for (i, text) in self.lines.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let sep = if i == last { ' ' } else { '-' };
            if text.is_empty() && i == last {
                write!(f, "{}", self.code)?;
            } else {
                write!(f, "{}{sep}{text}", self.code)?;
            }
        }
        Ok(())
    }
}

/// One reply line split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine<'a> {
    /// The three-digit code.
    pub code: u16,
    /// True when the separator is a space (or absent): this line ends the reply.
    pub last: bool,
    /// The text after the separator.
    pub text: &'a str,
}

/// Splits one SMTP reply line into code, last-line flag and text.
///
/// A trailing CRLF (or bare LF) is ignored. The code must be three digits with
/// the first in 2..=5 and the second in 0..=5; the separator must be `-`, a
/// space, or nothing at all.
pub fn parse_line(line: &str) -> Result<ReplyLine<'_>, String> {
    let body = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .unwrap_or(line);
    let b = body.as_bytes();
    let valid_code = b.len() >= 3
        && (b'2'..=b'5').contains(&b[0])
        && (b'0'..=b'5').contains(&b[1])
        && b[2].is_ascii_digit();
    if !valid_code {
        return Err(format!("malformed reply (no valid 3-digit code): {body:?}"));
    }
    let code = u16::from(b[0] - b'0') * 100 + u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0');
    let (last, text) = match b.get(3) {
        None => (true, ""),
        Some(b' ') => (true, &body[4..]),
        Some(b'-') => (false, &body[4..]),
        Some(_) => {
            return Err(format!(
                "malformed reply (code must be followed by space or '-'): {body:?}"
            ))
        }
    };
    Ok(ReplyLine { code, last, text })
}

/// Collects the lines of one (possibly multi-line) SMTP reply until its last line.
#[derive(Debug, Default)]
pub struct ReplyParser {
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyParser {
    /// Starts with no lines seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one raw line; returns the whole reply once its last line has arrived.
    ///
    /// Errors on malformed lines, on a continuation line whose code differs
    /// from the first line's, and on replies longer than [`MAX_REPLY_LINES`].
    pub fn feed(&mut self, raw: &[u8]) -> Result<Option<Reply>, String> {
        let text = String::from_utf8_lossy(raw);
        let line = parse_line(&text)?;
        if let Some(code) = self.code {
            if code != line.code {
                return Err(format!(
                    "malformed reply: line with code {} inside a {code} reply",
                    line.code
                ));
            }
        }
        self.code = Some(line.code);
        self.lines.push(line.text.to_string());
        if line.last {
            self.code = None;
            let lines = std::mem::take(&mut self.lines);
            return Ok(Some(Reply {
                code: line.code,
                lines,
            }));
        }
        if self.lines.len() >= MAX_REPLY_LINES {
            return Err(format!(
                "malformed reply: more than {MAX_REPLY_LINES} continuation lines"
            ));
        }
        Ok(None)
    }
}

/// The status indicator that starts every POP3 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pop3Status {
    /// "+OK" with the rest of the line.
    Ok(String),
    /// "-ERR" with the rest of the line.
    Err(String),
}

/// Parses a POP3 status line: "+OK" or "-ERR", then nothing or a space and text.
pub fn parse_pop3_status(raw: &[u8]) -> Result<Pop3Status, String> {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    let rest_after = |prefix: &str| {
        line.strip_prefix(prefix).and_then(|rest| {
            if rest.is_empty() {
                Some(String::new())
            } else {
                rest.strip_prefix(' ').map(str::to_string)
            }
        })
    };
    if let Some(rest) = rest_after("+OK") {
        Ok(Pop3Status::Ok(rest))
    } else if let Some(rest) = rest_after("-ERR") {
        Ok(Pop3Status::Err(rest))
    } else {
        Err(format!(
            "malformed POP3 response (expected +OK or -ERR): {line:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(lines: &[&str]) -> Result<Vec<Reply>, String> {
        let mut parser = ReplyParser::new();
        let mut done = Vec::new();
        for line in lines {
            if let Some(reply) = parser.feed(line.as_bytes())? {
                done.push(reply);
            }
        }
        Ok(done)
    }

    #[test]
    fn single_line_reply() {
        let replies = feed_all(&["220 mail.example ESMTP ready\r\n"]).unwrap();
        assert_eq!(
            replies,
            vec![Reply {
                code: 220,
                lines: vec!["mail.example ESMTP ready".into()]
            }]
        );
    }

    #[test]
    fn multi_line_reply_collects_every_line() {
        let replies = feed_all(&[
            "250-localhost greets you\r\n",
            "250-SIZE 10485760\r\n",
            "250-pipelining\r\n",
            "250 8BITMIME\r\n",
        ])
        .unwrap();
        assert_eq!(replies.len(), 1);
        let reply = &replies[0];
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines.len(), 4);
        assert!(reply.has_extension("PIPELINING"));
        assert!(reply.has_extension("size"));
        assert!(
            !reply.has_extension("localhost"),
            "greeting line is not a keyword"
        );
        assert!(!reply.has_extension("STARTTLS"));
    }

    #[test]
    fn continuation_lines_do_not_finish_a_reply() {
        let mut parser = ReplyParser::new();
        assert_eq!(parser.feed(b"250-first\r\n"), Ok(None));
        assert_eq!(parser.feed(b"250-\r\n"), Ok(None));
        let reply = parser.feed(b"250 last\r\n").unwrap().unwrap();
        assert_eq!(reply.lines, vec!["first", "", "last"]);
        // The parser is ready for the next reply afterwards.
        let next = parser.feed(b"354 go ahead\r\n").unwrap().unwrap();
        assert_eq!(next.code, 354);
    }

    #[test]
    fn code_without_text_and_bare_lf_are_accepted() {
        assert_eq!(
            parse_line("250\r\n"),
            Ok(ReplyLine {
                code: 250,
                last: true,
                text: ""
            })
        );
        assert_eq!(parse_line("221 bye\n").unwrap().text, "bye");
    }

    #[test]
    fn bad_codes_are_rejected() {
        for bad in [
            "hello\r\n",
            "25\r\n",
            "\r\n",
            "2x0 ok\r\n",
            "650 out of range\r\n",
            "190 informational\r\n",
            "260 second digit too big\r\n",
            " 250 leading space\r\n",
        ] {
            let err = parse_line(bad).unwrap_err();
            assert!(err.contains("3-digit code"), "{bad:?} gave {err}");
        }
    }

    #[test]
    fn bad_separator_is_rejected() {
        for bad in ["250_ok\r\n", "2500 ok\r\n", "250\tok\r\n"] {
            let err = parse_line(bad).unwrap_err();
            assert!(err.contains("space or '-'"), "{bad:?} gave {err}");
        }
    }

    #[test]
    fn mismatched_continuation_code_is_rejected() {
        let err = feed_all(&["250-first\r\n", "251 second\r\n"]).unwrap_err();
        assert!(err.contains("251 inside a 250 reply"), "{err}");
    }

    #[test]
    fn endless_reply_is_rejected() {
        let mut parser = ReplyParser::new();
        let mut result = Ok(None);
        for _ in 0..MAX_REPLY_LINES {
            result = parser.feed(b"250-again\r\n");
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
    }

    #[test]
    fn display_reproduces_the_reply() {
        let reply = Reply {
            code: 550,
            lines: vec!["5.1.1 first".into(), "5.1.1 no such user".into()],
        };
        assert_eq!(reply.to_string(), "550-5.1.1 first\n550 5.1.1 no such user");
        let bare = Reply {
            code: 250,
            lines: vec![String::new()],
        };
        assert_eq!(bare.to_string(), "250");
    }

    #[test]
    fn pop3_status_lines() {
        assert_eq!(
            parse_pop3_status(b"+OK 2 320\r\n"),
            Ok(Pop3Status::Ok("2 320".into()))
        );
        assert_eq!(
            parse_pop3_status(b"+OK\r\n"),
            Ok(Pop3Status::Ok(String::new()))
        );
        assert_eq!(
            parse_pop3_status(b"-ERR no such message\r\n"),
            Ok(Pop3Status::Err("no such message".into()))
        );
        for bad in [
            &b"+OKAY\r\n"[..],
            b"OK\r\n",
            b"+ok\r\n",
            b"* OK imap\r\n",
            b"\r\n",
        ] {
            assert!(parse_pop3_status(bad).is_err(), "{bad:?}");
        }
    }
}
