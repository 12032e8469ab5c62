//! Sending one message through an SMTP server (RFC 5321), with PIPELINING
//! (RFC 2920) when the server offers it.

use crate::conn::Conn;
use crate::reply::{Reply, ReplyParser};
use crate::stuffing::encode_data;
use crate::FlexError;
use std::time::Duration;

/// Everything `send` needs apart from the message itself.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Server as "host:port".
    pub server: String,
    /// EHLO/HELO argument; `None` uses our address literal, e.g. `[127.0.0.1]`.
    pub helo: Option<String>,
    /// Envelope sender; empty means the null reverse-path `<>`.
    pub from: String,
    /// Envelope recipients, at least one.
    pub to: Vec<String>,
    /// Limit for the connect and for each read and write.
    pub timeout: Duration,
    /// Echo the dialogue to stderr.
    pub verbose: bool,
}

/// What happened on a successful send, for the summary line.
#[derive(Debug, Clone)]
pub struct SendOutcome {
    /// The reply that accepted the message (after the final `.`).
    pub accepted: Reply,
    /// True when the envelope commands went out as one PIPELINING batch.
    pub pipelined: bool,
    /// True when EHLO was refused and HELO was used instead.
    pub used_helo: bool,
    /// Set when QUIT went wrong after the message was already accepted.
    pub quit_warning: Option<String>,
}

/// One envelope command and the reply codes that let the transaction go on.
struct Step {
    command: String,
    accept: &'static [u16],
}

/// Delivers `message` to every recipient in one SMTP transaction.
///
/// Every reply code is checked. A refusal, or any reply other than the
/// expected one, ends the session and returns [`FlexError::Protocol`] quoting
/// the server's reply; the message is then not sent to anyone.
pub fn send(opts: &SendOptions, message: &[u8]) -> Result<SendOutcome, FlexError> {
    let conn = Conn::open(&opts.server, opts.timeout, opts.verbose)?;
    let mut session = Session {
        conn,
        parser: ReplyParser::new(),
    };

    let greeting = session.reply("the greeting")?;
    if greeting.code != 220 {
        return Err(session.refused("the connection", &greeting));
    }

    let name = opts
        .helo
        .clone()
        .unwrap_or_else(|| session.conn.local_literal());
    let ehlo = session.command(&format!("EHLO {name}"))?;
    let (pipelining, used_helo) = if ehlo.code == 250 {
        (ehlo.has_extension("PIPELINING"), false)
    } else if ehlo.class() == 5 {
        let helo = session.command(&format!("HELO {name}"))?;
        if helo.code != 250 {
            return Err(session.refused(&format!("HELO {name}"), &helo));
        }
        (false, true)
    } else {
        return Err(session.refused(&format!("EHLO {name}"), &ehlo));
    };

    let mut steps = vec![Step {
        command: format!("MAIL FROM:<{}>", opts.from),
        accept: &[250],
    }];
    for rcpt in &opts.to {
        steps.push(Step {
            command: format!("RCPT TO:<{rcpt}>"),
            accept: &[250, 251],
        });
    }
    steps.push(Step {
        command: "DATA".to_string(),
        accept: &[354],
    });

    let failures = if pipelining {
        session.pipelined(&steps)?
    } else {
        session.one_by_one(&steps)?
    };
    if !failures.is_empty() {
        // Only a pipelined batch can leave DATA accepted next to a failure.
        let data_open = pipelining && failures.iter().all(|(cmd, _)| cmd != "DATA");
        let text = failures
            .iter()
            .map(|(cmd, reply)| format!("server refused {cmd}:\n{reply}"))
            .collect::<Vec<_>>()
            .join("\n");
        if data_open {
            // The server said 354 although the envelope failed. Sending the
            // terminator would deliver an empty message, so drop the
            // connection instead: an unfinished DATA is discarded (RFC 5321 4.1.4).
            drop(session);
        } else {
            session.quit_quietly();
        }
        return Err(FlexError::Protocol(text));
    }

    let data = encode_data(message);
    session
        .conn
        .send(&data, &format!("<message, {} octets>\r\n.", data.len()))?;
    let accepted = session.reply("the reply to the message data")?;
    if accepted.code != 250 {
        return Err(session.refused("the message", &accepted));
    }

    let quit_warning = match session.command("QUIT") {
        Ok(reply) if reply.code == 221 => None,
        Ok(reply) => Some(format!("unexpected reply to QUIT:\n{reply}")),
        Err(e) => Some(e.to_string()),
    };
    Ok(SendOutcome {
        accepted,
        pipelined: pipelining,
        used_helo,
        quit_warning,
    })
}

/// The connection plus the reply parser that reads from it.
struct Session {
    conn: Conn,
    parser: ReplyParser,
}

impl Session {
    /// Reads one complete (possibly multi-line) reply; `what` names it in errors.
    fn reply(&mut self, what: &str) -> Result<Reply, FlexError> {
        loop {
            let line = self.conn.read_line(what, true)?;
            match self.parser.feed(&line) {
                Ok(Some(reply)) => return Ok(reply),
                Ok(None) => continue,
                Err(e) => {
                    return Err(FlexError::Protocol(format!(
                        "{e} (from {} while waiting for {what})",
                        self.conn.peer()
                    )))
                }
            }
        }
    }

    /// Sends one command line and reads its reply.
    fn command(&mut self, command: &str) -> Result<Reply, FlexError> {
        self.conn
            .send(format!("{command}\r\n").as_bytes(), command)?;
        self.reply(&format!("the reply to {command}"))
    }

    /// Sends all steps in one write, then reads every reply in order.
    ///
    /// Returns the steps whose reply was not acceptable, with that reply.
    fn pipelined(&mut self, steps: &[Step]) -> Result<Vec<(String, Reply)>, FlexError> {
        let batch: String = steps.iter().map(|s| format!("{}\r\n", s.command)).collect();
        self.conn.send(batch.as_bytes(), &batch)?;
        let mut failures = Vec::new();
        for step in steps {
            let reply = self.reply(&format!("the reply to {}", step.command))?;
            if !step.accept.contains(&reply.code) {
                failures.push((step.command.clone(), reply));
            }
        }
        Ok(failures)
    }

    /// Sends the steps one at a time, stopping at the first unacceptable reply.
    fn one_by_one(&mut self, steps: &[Step]) -> Result<Vec<(String, Reply)>, FlexError> {
        for step in steps {
            let reply = self.command(&step.command)?;
            if !step.accept.contains(&reply.code) {
                return Ok(vec![(step.command.clone(), reply)]);
            }
        }
        Ok(Vec::new())
    }

    /// Builds the error for a refused command after politely closing the session.
    fn refused(&mut self, what: &str, reply: &Reply) -> FlexError {
        // A 421 reply means the server is closing the channel itself.
        if reply.code != 421 {
            self.quit_quietly();
        }
        FlexError::Protocol(format!("server refused {what}:\n{reply}"))
    }

    /// Ends the session after a failure; errors here cannot change the outcome.
    fn quit_quietly(&mut self) {
        let _ = self.command("QUIT");
    }
}
