//! ActorMail Flex: a small mail client built on the Rust standard library only.
//!
//! `smtp` submits one message over SMTP, `pop3` downloads a maildrop over POP3.
//! Both share `conn` for sockets and timeouts, `reply` for parsing server
//! replies and `stuffing` for the dot-stuffing rules of the two protocols.

#![warn(missing_docs)]

pub mod conn;
pub mod message;
pub mod pop3;
pub mod reply;
pub mod smtp;
pub mod stuffing;

use std::fmt;

/// Exit status for a bad command line, so scripts can tell misuse from failures.
pub const EXIT_USAGE: i32 = 1;
/// Exit status when the server refused a command or spoke invalid protocol.
pub const EXIT_PROTOCOL: i32 = 2;
/// Exit status for network and file problems (refused, closed, timed out, unreadable).
pub const EXIT_IO: i32 = 3;

/// Every failure the client reports, grouped by the exit status the user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlexError {
    /// The command line is wrong; the text says what to fix.
    Usage(String),
    /// The server rejected a command or sent a reply that breaks the protocol.
    Protocol(String),
    /// A connection, socket or local file operation failed.
    Io(String),
}

impl FlexError {
    /// Maps the error to the documented process exit status.
    pub fn exit_code(&self) -> i32 {
        match self {
            FlexError::Usage(_) => EXIT_USAGE,
            FlexError::Protocol(_) => EXIT_PROTOCOL,
            FlexError::Io(_) => EXIT_IO,
        }
    }
}

impl fmt::Display for FlexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlexError::Usage(text) | FlexError::Protocol(text) | FlexError::Io(text) => {
                f.write_str(text)
            }
        }
    }
}

impl std::error::Error for FlexError {}
