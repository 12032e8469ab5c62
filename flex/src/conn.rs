//! A TCP connection that reads lines, enforces timeouts and explains failures.

use crate::FlexError;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Longest line accepted from a server, so a peer that never sends LF cannot exhaust memory.
pub const MAX_LINE: usize = 1 << 20;

/// One client connection shared by the SMTP and POP3 code.
pub struct Conn {
    reader: BufReader<TcpStream>,
    peer: String,
    timeout: Duration,
    trace: bool,
}

impl Conn {
    /// Connects to `server` ("host:port"), trying each resolved address within `timeout`.
    ///
    /// The same timeout then applies to every read and write on the socket.
    /// With `trace` set, commands and replies are echoed to stderr.
    pub fn open(server: &str, timeout: Duration, trace: bool) -> Result<Conn, FlexError> {
        let addrs: Vec<SocketAddr> = server
            .to_socket_addrs()
            .map_err(|e| FlexError::Io(format!("cannot resolve {server}: {e}")))?
            .collect();
        let mut failure = FlexError::Io(format!("{server} did not resolve to any address"));
        for addr in &addrs {
            match TcpStream::connect_timeout(addr, timeout) {
                Ok(stream) => {
                    let setup = stream
                        .set_read_timeout(Some(timeout))
                        .and_then(|_| stream.set_write_timeout(Some(timeout)));
                    if let Err(e) = setup {
                        return Err(FlexError::Io(format!("cannot configure socket: {e}")));
                    }
                    if trace {
                        eprintln!("-- connected to {addr}");
                    }
                    return Ok(Conn {
                        reader: BufReader::new(stream),
                        peer: server.to_string(),
                        timeout,
                        trace,
                    });
                }
                Err(e) => failure = connect_error(server, &e, timeout),
            }
        }
        Err(failure)
    }

    /// The server name as the user gave it, for error messages.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Our own address as an RFC 5321 address literal, the fallback EHLO/HELO argument.
    pub fn local_literal(&self) -> String {
        match self.reader.get_ref().local_addr() {
            Ok(SocketAddr::V4(a)) => format!("[{}]", a.ip()),
            Ok(SocketAddr::V6(a)) => format!("[IPv6:{}]", a.ip()),
            Err(_) => "localhost".to_string(),
        }
    }

    /// Writes `bytes` in a single write call; `shown` is what the trace prints instead.
    pub fn send(&mut self, bytes: &[u8], shown: &str) -> Result<(), FlexError> {
        if self.trace {
            for line in shown.lines() {
                eprintln!("C: {line}");
            }
        }
        let stream = self.reader.get_mut();
        stream
            .write_all(bytes)
            .and_then(|_| stream.flush())
            .map_err(|e| {
                let doing = format!("sending {} to {}", first_line(shown), self.peer);
                self.io_error(&e, &doing)
            })
    }

    /// Reads one line including its line ending; `what` names the awaited reply in errors.
    ///
    /// A peer that closes the connection first is an I/O error; a line longer
    /// than [`MAX_LINE`] is a protocol error. `show` controls tracing of the line.
    pub fn read_line(&mut self, what: &str, show: bool) -> Result<Vec<u8>, FlexError> {
        let mut line = Vec::new();
        let got = (&mut self.reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .map_err(|e| self.io_error(&e, &format!("waiting for {what} from {}", self.peer)))?;
        if line.ends_with(b"\n") {
            if self.trace && show {
                eprintln!("S: {}", String::from_utf8_lossy(&line).trim_end());
            }
            return Ok(line);
        }
        if got >= MAX_LINE {
            return Err(FlexError::Protocol(format!(
                "{} sent a line longer than {MAX_LINE} octets while we waited for {what}",
                self.peer
            )));
        }
        let partial = if line.is_empty() {
            String::new()
        } else {
            format!(
                " (after a partial line {:?})",
                String::from_utf8_lossy(&line)
            )
        };
        Err(FlexError::Io(format!(
            "connection closed by {} while waiting for {what}{partial}",
            self.peer
        )))
    }

    /// Turns a socket error into a message that says what we were doing when it happened.
    fn io_error(&self, e: &io::Error, doing: &str) -> FlexError {
        FlexError::Io(match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                format!("timed out after {} s {doing}", self.timeout.as_secs())
            }
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => format!("connection closed while {doing}"),
            _ => format!("I/O error while {doing}: {e}"),
        })
    }
}

/// Explains a failed connect in the terms a user needs (refused, timed out, other).
fn connect_error(server: &str, e: &io::Error, timeout: Duration) -> FlexError {
    FlexError::Io(match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            format!("connection refused by {server} (is the server running?)")
        }
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
            "timed out after {} s connecting to {server}",
            timeout.as_secs()
        ),
        _ => format!("cannot connect to {server}: {e}"),
    })
}

/// The first line of a trace text, used to name a command in error messages.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
