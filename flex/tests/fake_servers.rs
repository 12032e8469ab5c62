//! Runs the real binary against scripted SMTP and POP3 servers on 127.0.0.1
//! and checks the exact octets the client sends.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_actormail-flex");

/// The server end of one scripted session; records every octet the client sends.
struct Peer {
    reader: BufReader<TcpStream>,
    seen: Vec<u8>,
}

impl Peer {
    /// Reads one line from the client (empty at end of stream).
    fn line(&mut self) -> String {
        let mut buf = Vec::new();
        self.reader
            .read_until(b'\n', &mut buf)
            .expect("read from client");
        self.seen.extend_from_slice(&buf);
        String::from_utf8(buf).expect("client sent UTF-8")
    }

    /// Reads one line and requires it to be `want`.
    fn expect(&mut self, want: &str) {
        assert_eq!(self.line(), want);
    }

    /// Sends raw reply text to the client.
    fn say(&mut self, text: &str) {
        self.reader
            .get_mut()
            .write_all(text.as_bytes())
            .expect("write to client");
    }

    /// Reads a dot-terminated DATA block and returns it raw (stuffed, with the terminator).
    fn data(&mut self) -> String {
        let mut block = String::new();
        loop {
            let line = self.line();
            assert!(!line.is_empty(), "client closed during DATA");
            block.push_str(&line);
            if line == ".\r\n" {
                return block;
            }
        }
    }

    /// True when the client has sent nothing more after a short wait, i.e. it
    /// is waiting for our reply instead of running ahead.
    fn client_waits(&mut self) -> bool {
        thread::sleep(Duration::from_millis(150));
        if !self.reader.buffer().is_empty() {
            return false;
        }
        let stream = self.reader.get_mut();
        stream.set_nonblocking(true).unwrap();
        let mut probe = [0u8; 1];
        let idle = matches!(stream.peek(&mut probe), Err(e) if e.kind() == ErrorKind::WouldBlock);
        stream.set_nonblocking(false).unwrap();
        idle
    }

    /// Reads whatever the client still sends until it closes the connection.
    fn drain(&mut self) -> String {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).expect("read to end");
        self.seen.extend_from_slice(&rest);
        String::from_utf8(rest).unwrap()
    }
}

/// Starts a one-connection server running `script`; returns its address and
/// a handle yielding everything the client sent.
fn serve<F>(script: F) -> (String, JoinHandle<String>)
where
    F: FnOnce(&mut Peer) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap().to_string();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut peer = Peer {
            reader: BufReader::new(stream),
            seen: Vec::new(),
        };
        script(&mut peer);
        String::from_utf8(peer.seen).unwrap()
    });
    (addr, handle)
}

/// Runs the client with `args`, feeding `stdin`.
fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start actormail-flex");
    // A client that exits without reading stdin closes the pipe; that is not a failure here.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh, empty directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("flex-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A message with every dot-stuffing edge case, LF line ends and no final newline.
const TRICKY: &str = ".starts with a dot\nSubject: t\n\n.\n..\n.hidden\n\nmiddle . dot\nlast";
/// How TRICKY must appear on the wire after `354`.
const TRICKY_WIRE: &str =
    "..starts with a dot\r\nSubject: t\r\n\r\n..\r\n...\r\n..hidden\r\n\r\nmiddle . dot\r\nlast\r\n.\r\n";

#[test]
fn pipelining_sends_the_envelope_in_one_batch() {
    let (addr, server) = serve(|p| {
        p.say("220 fake.test ESMTP\r\n");
        p.expect("EHLO client.test\r\n");
        p.say("250-fake.test hello\r\n250-SIZE 1000000\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
        // Reply to nothing until the whole batch is in: a client that waits
        // for the MAIL reply would stall here and fail the test.
        p.expect("MAIL FROM:<a@x.test>\r\n");
        p.expect("RCPT TO:<b@y.test>\r\n");
        p.expect("RCPT TO:<c@y.test>\r\n");
        p.expect("DATA\r\n");
        p.say("250 2.1.0 sender ok\r\n250 2.1.5 ok\r\n251 2.1.5 forwarded\r\n354 go on\r\n");
        assert_eq!(p.data(), TRICKY_WIRE);
        p.say("250 2.0.0 queued as X1\r\n");
        p.expect("QUIT\r\n");
        p.say("221 2.0.0 bye\r\n");
        assert_eq!(p.drain(), "");
    });
    let out = run(
        &[
            "send",
            "--server",
            &addr,
            "--helo",
            "client.test",
            "--from",
            "a@x.test",
            "--to",
            "b@y.test",
            "--to",
            "<c@y.test>",
            "--timeout",
            "5",
        ],
        TRICKY.as_bytes(),
    );
    let seen = server.join().expect("server script");
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let expected = format!(
        "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n\
         DATA\r\n{TRICKY_WIRE}QUIT\r\n"
    );
    assert_eq!(seen, expected);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pipelined"), "{stdout}");
    assert!(stdout.contains("250 2.0.0 queued as X1"), "{stdout}");
}

#[test]
fn helo_fallback_and_step_by_step_dialogue() {
    let (addr, server) = serve(|p| {
        p.say("220-fake.test first greeting line\r\n220 fake.test ready\r\n");
        p.expect("EHLO client.test\r\n");
        p.say("502 5.5.2 EHLO not implemented\r\n");
        p.expect("HELO client.test\r\n");
        p.say("250 fake.test\r\n");
        p.expect("MAIL FROM:<>\r\n");
        assert!(p.client_waits(), "client ran ahead without PIPELINING");
        p.say("250 ok\r\n");
        p.expect("RCPT TO:<b@y.test>\r\n");
        assert!(p.client_waits(), "client ran ahead without PIPELINING");
        p.say("250 ok\r\n");
        p.expect("DATA\r\n");
        p.say("354 send it\r\n");
        assert_eq!(p.data(), "hello\r\n.\r\n");
        p.say("250 ok\r\n");
        p.expect("QUIT\r\n");
        p.say("221 bye\r\n");
    });
    let out = run(
        &[
            "send",
            "--server",
            &addr,
            "--helo",
            "client.test",
            "--from",
            "",
            "--to",
            "b@y.test",
            "--timeout",
            "5",
        ],
        b"hello\n",
    );
    let seen = server.join().expect("server script");
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(
        seen,
        "EHLO client.test\r\nHELO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<b@y.test>\r\n\
         DATA\r\nhello\r\n.\r\nQUIT\r\n"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("HELO fallback"));
}

#[test]
fn default_helo_name_is_our_address_literal() {
    let (addr, server) = serve(|p| {
        p.say("220 fake.test\r\n");
        p.expect("EHLO [127.0.0.1]\r\n");
        p.say("421 4.3.2 shutting down\r\n");
    });
    let out = run(
        &["send", "--server", &addr, "--from", "a@x", "--to", "b@y"],
        b"x",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("421 4.3.2 shutting down"));
}

#[test]
fn rejected_recipient_stops_before_data() {
    let (addr, server) = serve(|p| {
        p.say("220 fake.test\r\n");
        p.expect("EHLO c\r\n");
        p.say("250 fake.test\r\n");
        p.expect("MAIL FROM:<a@x>\r\n");
        p.say("250 ok\r\n");
        p.expect("RCPT TO:<nobody@x>\r\n");
        p.say("550-5.1.1 <nobody@x>:\r\n550 5.1.1 no such user\r\n");
        p.expect("QUIT\r\n");
        p.say("221 bye\r\n");
        assert_eq!(p.drain(), "");
    });
    let out = run(
        &[
            "send", "--server", &addr, "--helo", "c", "--from", "a@x", "--to", "nobody@x",
        ],
        b"body\n",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("RCPT TO:<nobody@x>"), "{err}");
    assert!(
        err.contains("550-5.1.1 <nobody@x>:\n550 5.1.1 no such user"),
        "{err}"
    );
}

#[test]
fn pipelined_rejection_reads_every_reply_and_sends_no_data() {
    let (addr, server) = serve(|p| {
        p.say("220 fake.test\r\n");
        p.expect("EHLO c\r\n");
        p.say("250-fake.test\r\n250 PIPELINING\r\n");
        p.expect("MAIL FROM:<a@x>\r\n");
        p.expect("RCPT TO:<nobody@x>\r\n");
        p.expect("DATA\r\n");
        p.say("250 ok\r\n550 5.1.1 unknown user\r\n554 5.5.1 no valid recipients\r\n");
        p.expect("QUIT\r\n");
        p.say("221 bye\r\n");
        assert_eq!(p.drain(), "");
    });
    let out = run(
        &[
            "send", "--server", &addr, "--helo", "c", "--from", "a@x", "--to", "nobody@x",
        ],
        b"body\n",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("550 5.1.1 unknown user"), "{err}");
    assert!(err.contains("554 5.5.1"), "{err}");
}

#[test]
fn pipelined_rejection_with_open_data_aborts_without_terminator() {
    let (addr, server) = serve(|p| {
        p.say("220 fake.test\r\n");
        p.expect("EHLO c\r\n");
        p.say("250-fake.test\r\n250 PIPELINING\r\n");
        p.expect("MAIL FROM:<a@x>\r\n");
        p.expect("RCPT TO:<ok@x>\r\n");
        p.expect("RCPT TO:<nobody@x>\r\n");
        p.expect("DATA\r\n");
        p.say("250 ok\r\n250 ok\r\n550 5.1.1 unknown user\r\n354 go ahead\r\n");
        // The client must hang up rather than send "." and deliver an empty message.
        assert_eq!(p.drain(), "");
    });
    let out = run(
        &[
            "send", "--server", &addr, "--helo", "c", "--from", "a@x", "--to", "ok@x", "--to",
            "nobody@x",
        ],
        b"body\n",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("550 5.1.1 unknown user"));
}

#[test]
fn malformed_replies_are_protocol_errors() {
    for (bad, hint) in [
        ("hello there\r\n", "3-digit code"),
        ("220_fake\r\n", "space or '-'"),
        ("220-fake\r\n230 other\r\n", "230 inside a 220 reply"),
    ] {
        let (addr, server) = serve(move |p| {
            p.say(bad);
            p.drain();
        });
        let out = run(
            &["send", "--server", &addr, "--from", "a@x", "--to", "b@y"],
            b"x",
        );
        server.join().expect("server script");
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = stderr(&out);
        assert!(
            err.contains("malformed reply") && err.contains(hint),
            "{err}"
        );
    }
}

#[test]
fn connection_refused_is_exit_3() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = format!("127.0.0.1:{port}");
    let out = run(
        &["send", "--server", &server, "--from", "a@x", "--to", "b@y"],
        b"x",
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("connection refused"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn early_close_is_exit_3() {
    let (addr, server) = serve(|p| {
        p.say("220 fake.test\r\n");
        p.expect("EHLO c\r\n");
    });
    let out = run(
        &[
            "send", "--server", &addr, "--helo", "c", "--from", "a@x", "--to", "b@y",
        ],
        b"x",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("connection closed"), "{err}");
    assert!(err.contains("EHLO c"), "{err}");
}

#[test]
fn silent_server_times_out() {
    let (addr, server) = serve(|p| {
        // Say nothing; wait for the client to give up and hang up.
        p.drain();
    });
    let started = std::time::Instant::now();
    let out = run(
        &[
            "send",
            "--server",
            &addr,
            "--from",
            "a@x",
            "--to",
            "b@y",
            "--timeout",
            "1",
        ],
        b"x",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("timed out after 1 s"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[test]
fn empty_stdin_sends_a_generated_message() {
    let (addr, server) = serve(|p| {
        p.say("220 fake.test\r\n");
        p.expect("EHLO c\r\n");
        p.say("250 fake.test\r\n");
        p.expect("MAIL FROM:<a@x.test>\r\n");
        p.say("250 ok\r\n");
        p.expect("RCPT TO:<b@y.test>\r\n");
        p.say("250 ok\r\n");
        p.expect("DATA\r\n");
        p.say("354 go\r\n");
        let data = p.data();
        for header in [
            "\r\nFrom: a@x.test\r\n",
            "\r\nTo: b@y.test\r\n",
            "\r\nSubject: hello there\r\n",
            "\r\nMessage-ID: <flex.",
        ] {
            assert!(data.contains(header), "{header:?} missing in {data:?}");
        }
        assert!(data.starts_with("Date: "), "{data:?}");
        assert!(data.contains(" +0000\r\n"), "{data:?}");
        p.say("250 ok\r\n");
        p.expect("QUIT\r\n");
        p.say("221 bye\r\n");
    });
    let out = run(
        &[
            "send",
            "--server",
            &addr,
            "--helo",
            "c",
            "--from",
            "a@x.test",
            "--to",
            "b@y.test",
            "--subject",
            "hello there",
        ],
        b"",
    );
    server.join().expect("server script");
    assert!(out.status.success(), "stderr: {}", stderr(&out));
}

#[test]
fn file_option_is_read_as_bytes() {
    let dir = temp_dir("file");
    let path = dir.join("m.eml");
    std::fs::write(&path, b"Subject: f\r\n\r\n.x\r\n").unwrap();
    let (addr, server) = serve(|p| {
        p.say("220 fake.test\r\n");
        p.expect("EHLO c\r\n");
        p.say("250-fake.test\r\n250 PIPELINING\r\n");
        p.expect("MAIL FROM:<a@x>\r\n");
        p.expect("RCPT TO:<b@y>\r\n");
        p.expect("DATA\r\n");
        p.say("250 ok\r\n250 ok\r\n354 go\r\n");
        assert_eq!(p.data(), "Subject: f\r\n\r\n..x\r\n.\r\n");
        p.say("250 ok\r\n");
        p.expect("QUIT\r\n");
        p.say("500 what\r\n");
    });
    let file = path.to_str().unwrap();
    let out = run(
        &[
            "send", "--server", &addr, "--helo", "c", "--from", "a@x", "--to", "b@y", "--file",
            file,
        ],
        b"ignored stdin",
    );
    server.join().expect("server script");
    std::fs::remove_dir_all(&dir).unwrap();
    // The message was accepted; a bad QUIT reply is only a warning.
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
}

/// The two messages the fake POP3 server holds, as stored (CRLF, unstuffed).
const MSG1: &str = "Subject: one\r\n\r\n.\r\n..\r\n.hidden\r\n\r\nend\r\n";
const MSG2: &str = "Subject: two\r\n\r\nplain body\r\n";

/// Scripts a POP3 server holding MSG1 and MSG2; `delete` says whether DELE is expected.
fn pop3_script(p: &mut Peer, delete: bool) {
    p.say("+OK fake POP3 ready\r\n");
    p.expect("USER alice\r\n");
    p.say("+OK\r\n");
    p.expect("PASS s3cret word\r\n");
    p.say("+OK logged in\r\n");
    p.expect("STAT\r\n");
    p.say(&format!("+OK 2 {}\r\n", MSG1.len() + MSG2.len()));
    p.expect("LIST\r\n");
    p.say(&format!(
        "+OK 2 messages\r\n1 {}\r\n2 {}\r\n.\r\n",
        MSG1.len(),
        MSG2.len()
    ));
    p.expect("RETR 1\r\n");
    p.say("+OK message follows\r\nSubject: one\r\n\r\n..\r\n...\r\n..hidden\r\n\r\nend\r\n.\r\n");
    if delete {
        p.expect("DELE 1\r\n");
        p.say("+OK deleted\r\n");
    }
    p.expect("RETR 2\r\n");
    p.say(&format!("+OK\r\n{MSG2}.\r\n"));
    if delete {
        p.expect("DELE 2\r\n");
        p.say("+OK deleted\r\n");
    }
    p.expect("QUIT\r\n");
    p.say("+OK bye\r\n");
    assert_eq!(p.drain(), "");
}

#[test]
fn fetch_to_directory_with_delete() {
    let dir = temp_dir("fetch");
    let (addr, server) = serve(|p| pop3_script(p, true));
    let out_dir = dir.join("out");
    let out = run(
        &[
            "fetch",
            "--server",
            &addr,
            "--user",
            "alice",
            "--pass",
            "s3cret word",
            "--delete",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    let seen = server.join().expect("server script");
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(
        seen,
        "USER alice\r\nPASS s3cret word\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n"
    );
    assert_eq!(
        std::fs::read(out_dir.join("1.eml")).unwrap(),
        MSG1.as_bytes()
    );
    assert_eq!(
        std::fs::read(out_dir.join("2.eml")).unwrap(),
        MSG2.as_bytes()
    );
    assert!(stderr(&out).contains("fetched 2 message(s), deleted 2"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fetch_to_stdout_without_delete() {
    let (addr, server) = serve(|p| pop3_script(p, false));
    let out = run(
        &[
            "fetch",
            "--server",
            &addr,
            "--user",
            "alice",
            "--pass",
            "s3cret word",
        ],
        b"",
    );
    let seen = server.join().expect("server script");
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(
        seen,
        "USER alice\r\nPASS s3cret word\r\nSTAT\r\nLIST\r\nRETR 1\r\nRETR 2\r\nQUIT\r\n"
    );
    let expected = format!(
        "=== actormail-flex message 1 ({} octets) ===\n{MSG1}\
         === actormail-flex message 2 ({} octets) ===\n{MSG2}",
        MSG1.len(),
        MSG2.len()
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn fetch_bad_password_is_exit_2() {
    let (addr, server) = serve(|p| {
        p.say("+OK ready\r\n");
        p.expect("USER alice\r\n");
        p.say("+OK\r\n");
        p.expect("PASS wrong\r\n");
        p.say("-ERR [AUTH] invalid login\r\n");
        p.expect("QUIT\r\n");
        p.say("+OK bye\r\n");
    });
    let out = run(
        &[
            "fetch", "--server", &addr, "--user", "alice", "--pass", "wrong",
        ],
        b"",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("-ERR [AUTH] invalid login"), "{err}");
    assert!(!err.contains("wrong"), "password leaked into: {err}");
}

#[test]
fn fetch_never_overwrites_and_keeps_the_message_on_the_server() {
    let dir = temp_dir("exists");
    std::fs::write(dir.join("1.eml"), b"older mail").unwrap();
    let (addr, server) = serve(|p| {
        p.say("+OK ready\r\n");
        p.expect("USER alice\r\n");
        p.say("+OK\r\n");
        p.expect("PASS pw\r\n");
        p.say("+OK\r\n");
        p.expect("STAT\r\n");
        p.say("+OK 1 20\r\n");
        p.expect("LIST\r\n");
        p.say("+OK\r\n1 20\r\n.\r\n");
        p.expect("RETR 1\r\n");
        p.say("+OK\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
        // No DELE 1: the message could not be stored.
        p.expect("QUIT\r\n");
        p.say("+OK bye\r\n");
        assert_eq!(p.drain(), "");
    });
    let out = run(
        &[
            "fetch",
            "--server",
            &addr,
            "--user",
            "alice",
            "--pass",
            "pw",
            "--delete",
            "--out",
            dir.to_str().unwrap(),
        ],
        b"",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.join("1.eml")).unwrap(), b"older mail");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fetch_malformed_status_is_exit_2() {
    let (addr, server) = serve(|p| {
        p.say("* OK this is IMAP\r\n");
        p.drain();
    });
    let out = run(
        &["fetch", "--server", &addr, "--user", "a", "--pass", "b"],
        b"",
    );
    server.join().expect("server script");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("malformed POP3 response"));
}

#[test]
fn usage_errors_are_exit_1() {
    for args in [
        &[][..],
        &["send", "--to", "b@y"],
        &["send", "--from", "a@x"],
        &["send", "--from", "a@x", "--to", "b y"],
        &["send", "--from", "a@x", "--to", "b@y", "--timeout", "0"],
        &["fetch", "--user", "alice"],
        &["fetch", "--pass", "x"],
        &["frobnicate"],
        &["send", "--nonsense"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .env_remove("ACTORMAIL_FLEX_PASS")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains("--help"), "{args:?}");
    }
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit status"));
}
