//! Downloading a maildrop over POP3 (RFC 1939) with USER/PASS login.

use crate::conn::Conn;
use crate::reply::{parse_pop3_status, Pop3Status};
use crate::stuffing::{unstuff_line, DotLine};
use crate::FlexError;
use std::time::Duration;

/// Everything `fetch` needs.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Server as "host:port".
    pub server: String,
    /// Mailbox name for USER.
    pub user: String,
    /// Password for PASS.
    pub pass: String,
    /// Mark each message deleted (DELE) once it has been stored.
    pub delete: bool,
    /// Limit for the connect and for each read and write.
    pub timeout: Duration,
    /// Echo the dialogue to stderr (the password is masked).
    pub verbose: bool,
}

/// Counts reported after a successful fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOutcome {
    /// Messages retrieved and stored.
    pub fetched: usize,
    /// Messages deleted on the server (committed by QUIT).
    pub deleted: usize,
}

/// Retrieves every message and hands it to `store` as received (CRLF lines,
/// dot-stuffing removed), then deletes it if asked.
///
/// A message is only deleted after `store` returned `Ok`. If `store` fails,
/// QUIT still commits the deletions of the messages stored before it, and
/// the failing message stays on the server.
pub fn fetch<F>(opts: &FetchOptions, mut store: F) -> Result<FetchOutcome, FlexError>
where
    F: FnMut(u32, &[u8]) -> Result<(), FlexError>,
{
    let conn = Conn::open(&opts.server, opts.timeout, opts.verbose)?;
    let mut session = Session { conn };
    session.expect_ok("the greeting")?;
    session.command(&format!("USER {}", opts.user), "USER")?;
    session.command(&format!("PASS {}", opts.pass), "PASS ****")?;

    let stat = session.command("STAT", "STAT")?;
    let count = parse_stat(&stat)
        .ok_or_else(|| FlexError::Protocol(format!("malformed reply to STAT: \"+OK {stat}\"")))?;
    session.command("LIST", "LIST")?;
    let listing = session.multiline("the LIST listing")?;
    let numbers = parse_list(&listing)?;
    if numbers.len() != count {
        return Err(FlexError::Protocol(format!(
            "STAT reported {count} messages but LIST showed {}",
            numbers.len()
        )));
    }

    let mut outcome = FetchOutcome {
        fetched: 0,
        deleted: 0,
    };
    for n in numbers {
        let retr = format!("RETR {n}");
        session.command(&retr, &retr)?;
        let message = session.multiline(&format!("message {n}"))?;
        if let Err(e) = store(n, &message) {
            session.quit_quietly();
            return Err(e);
        }
        outcome.fetched += 1;
        if opts.delete {
            let dele = format!("DELE {n}");
            session.command(&dele, &dele)?;
            outcome.deleted += 1;
        }
    }
    session.command("QUIT", "QUIT").map_err(|e| {
        if opts.delete {
            FlexError::Protocol(format!("{e}\n(deletions may not have been applied)"))
        } else {
            e
        }
    })?;
    Ok(outcome)
}

/// Reads the message count from a STAT reply text ("count size").
fn parse_stat(text: &str) -> Option<usize> {
    let mut parts = text.split_whitespace();
    let count = parts.next()?.parse().ok()?;
    let _size: u64 = parts.next()?.parse().ok()?;
    Some(count)
}

/// Reads the message numbers from a LIST listing ("number size" per line).
fn parse_list(listing: &[u8]) -> Result<Vec<u32>, FlexError> {
    let text = String::from_utf8_lossy(listing);
    text.lines()
        .map(|line| {
            let mut parts = line.split_whitespace();
            let number = parts.next().and_then(|n| n.parse::<u32>().ok());
            let size = parts.next().and_then(|s| s.parse::<u64>().ok());
            match (number, size) {
                (Some(n), Some(_)) if n > 0 => Ok(n),
                _ => Err(FlexError::Protocol(format!(
                    "malformed LIST line: {line:?}"
                ))),
            }
        })
        .collect()
}

/// The connection in an authenticated-or-not POP3 session.
struct Session {
    conn: Conn,
}

impl Session {
    /// Reads a status line and requires "+OK"; returns the text after it.
    fn expect_ok(&mut self, what: &str) -> Result<String, FlexError> {
        let line = self.conn.read_line(what, true)?;
        match parse_pop3_status(&line) {
            Ok(Pop3Status::Ok(text)) => Ok(text),
            Ok(Pop3Status::Err(text)) => {
                let refused = format!("server refused {what}:\n-ERR {text}");
                if !matches!(what, "the greeting" | "QUIT") {
                    self.quit_quietly();
                }
                Err(FlexError::Protocol(refused))
            }
            Err(e) => Err(FlexError::Protocol(format!(
                "{e} (from {} while waiting for {what})",
                self.conn.peer()
            ))),
        }
    }

    /// Sends one command and requires "+OK"; `shown` is the traced (masked) form.
    fn command(&mut self, command: &str, shown: &str) -> Result<String, FlexError> {
        self.conn.send(format!("{command}\r\n").as_bytes(), shown)?;
        self.expect_ok(shown)
    }

    /// Reads a dot-terminated block, un-stuffing lines and keeping their line ends.
    fn multiline(&mut self, what: &str) -> Result<Vec<u8>, FlexError> {
        let mut out = Vec::new();
        loop {
            let line = self.conn.read_line(what, false)?;
            match unstuff_line(&line) {
                DotLine::End => return Ok(out),
                DotLine::Data(data) => out.extend_from_slice(data),
            }
        }
    }

    /// Ends the session after a failure; errors here cannot change the outcome.
    fn quit_quietly(&mut self) {
        if self.conn.send(b"QUIT\r\n", "QUIT").is_ok() {
            let _ = self.conn.read_line("the reply to QUIT", true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_reply_is_parsed() {
        assert_eq!(parse_stat("2 320"), Some(2));
        assert_eq!(parse_stat("0 0 extra text"), Some(0));
        assert_eq!(parse_stat("two 320"), None);
        assert_eq!(parse_stat("2"), None);
    }

    #[test]
    fn list_listing_is_parsed() {
        assert_eq!(parse_list(b"1 120\r\n3 99\r\n").unwrap(), vec![1, 3]);
        assert_eq!(parse_list(b"").unwrap(), Vec::<u32>::new());
        assert!(parse_list(b"1\r\n").is_err());
        assert!(parse_list(b"0 5\r\n").is_err());
        assert!(parse_list(b"x 5\r\n").is_err());
    }
}
