//! Command-line front end: parses arguments, picks the message source or the
//! output target, runs `send` or `fetch`, and maps errors to exit codes.

use actormail_flex::pop3::{self, FetchOptions};
use actormail_flex::smtp::{self, SendOptions};
use actormail_flex::{message, FlexError};
use std::fs::{self, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Where `send` connects when --server is not given.
const DEFAULT_SMTP: &str = "127.0.0.1:2525";
/// Where `fetch` connects when --server is not given.
const DEFAULT_POP3: &str = "127.0.0.1:2110";
/// Seconds allowed for the connect and for each read and write.
const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// Subject of the generated message when --subject is not given.
const DEFAULT_SUBJECT: &str = "ActorMail Flex test message";
/// Environment variable that can carry the POP3 password instead of --pass.
const PASS_ENV: &str = "ACTORMAIL_FLEX_PASS";

/// Text of --help.
const USAGE: &str = "\
actormail-flex: a small SMTP/POP3 mail client for ActorMail

Usage:
  actormail-flex send --from ADDR --to ADDR [--to ADDR ...] [--file PATH | --file -]
                      [--server HOST:PORT] [--helo NAME] [--subject TEXT]
                      [--timeout SECS] [--verbose]
  actormail-flex fetch --user NAME --pass PASSWORD [--delete] [--out DIR]
                       [--server HOST:PORT] [--timeout SECS] [--verbose]
  actormail-flex --help | --version

send   Submits one message over SMTP (default server 127.0.0.1:2525).
       The message is read from --file, or from stdin (--file - forces stdin).
       Without --file, when stdin is a terminal or empty, a short message with
       Date, From, To, Subject (--subject) and Message-ID headers is generated.
       --from \"\" sends with the null reverse-path <>.
fetch  Downloads every message over POP3 (default server 127.0.0.1:2110),
       writing DIR/<n>.eml with --out or printing them to stdout, and deletes
       them on the server with --delete. The password may instead be given in
       the ACTORMAIL_FLEX_PASS environment variable.

Options may also be written --name=value. --timeout (default 30) limits the
connect and every read and write. --verbose traces the dialogue on stderr.

Exit status: 0 success, 1 usage error, 2 refused by the server or protocol
error, 3 connection, timeout or file error.
";

fn main() {
    let code = match collect_args().and_then(|args| run(&args)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("actormail-flex: {e}");
            if let FlexError::Usage(_) = e {
                eprintln!("Try 'actormail-flex --help'.");
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}

/// Reads the arguments, refusing non-UTF-8 ones instead of panicking.
fn collect_args() -> Result<Vec<String>, FlexError> {
    std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| usage(format!("argument {a:?} is not valid UTF-8")))
        })
        .collect()
}

/// Dispatches to the subcommand named by the first argument.
fn run(args: &[String]) -> Result<(), FlexError> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        None => Err(usage("missing command (send or fetch)".to_string())),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some("-V" | "--version") => {
            println!("actormail-flex {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(_) if rest.iter().any(|a| a == "-h" || a == "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some("send") => cmd_send(rest),
        Some("fetch") => cmd_fetch(rest),
        Some(other) => Err(usage(format!(
            "unknown command {other:?} (use send or fetch)"
        ))),
    }
}

/// `send`: validate the options, obtain the message, run the SMTP session.
fn cmd_send(args: &[String]) -> Result<(), FlexError> {
    let opts = parse_options(
        args,
        &[
            "--from",
            "--to",
            "--file",
            "--server",
            "--helo",
            "--subject",
            "--timeout",
        ],
        &["--verbose"],
    )?;
    let from = opts.single("--from")?.ok_or_else(|| {
        usage("send needs --from ADDRESS (--from \"\" for the null sender)".to_string())
    })?;
    let from = check_address("--from", &from, true)?;
    let to = opts
        .all("--to")
        .iter()
        .map(|a| check_address("--to", a, false))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(usage("send needs at least one --to ADDRESS".to_string()));
    }
    let helo = opts.single("--helo")?;
    if let Some(name) = &helo {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(usage(format!("--helo {name:?} must be one word")));
        }
    }
    let subject = opts.single("--subject")?;
    if subject
        .as_deref()
        .is_some_and(|s| s.chars().any(char::is_control))
    {
        return Err(usage(
            "--subject must not contain control characters".to_string(),
        ));
    }
    let server = server_arg(opts.single("--server")?, DEFAULT_SMTP)?;
    let timeout = timeout_arg(opts.single("--timeout")?)?;

    let subject_text = subject
        .clone()
        .unwrap_or_else(|| DEFAULT_SUBJECT.to_string());
    let (content, generated) = read_message(opts.single("--file")?.as_deref(), || {
        message::generated(&from, &to, &subject_text, SystemTime::now())
    })?;
    if subject.is_some() && !generated {
        eprintln!("actormail-flex: note: --subject only applies to generated messages; ignored");
    }

    let send_opts = SendOptions {
        server: server.clone(),
        helo,
        from,
        to,
        timeout,
        verbose: opts.flag("--verbose"),
    };
    let outcome = smtp::send(&send_opts, &content)?;
    if let Some(warning) = &outcome.quit_warning {
        eprintln!("actormail-flex: warning: the message was accepted, but {warning}");
    }
    let mut how = Vec::new();
    if outcome.pipelined {
        how.push("pipelined");
    }
    if outcome.used_helo {
        how.push("HELO fallback");
    }
    let how = if how.is_empty() {
        String::new()
    } else {
        format!(" ({})", how.join(", "))
    };
    println!(
        "sent {} octets to {} recipient(s) via {server}{how}: {}",
        content.len(),
        send_opts.to.len(),
        outcome.accepted
    );
    Ok(())
}

/// Picks the message source: a file, stdin, or a generated message when
/// stdin is a terminal or empty. Returns the content and whether it was generated.
fn read_message(
    file: Option<&str>,
    generate: impl FnOnce() -> Vec<u8>,
) -> Result<(Vec<u8>, bool), FlexError> {
    match file {
        Some("-") => Ok((read_stdin()?, false)),
        Some(path) => fs::read(path)
            .map(|content| (content, false))
            .map_err(|e| FlexError::Io(format!("cannot read {path}: {e}"))),
        None if io::stdin().is_terminal() => Ok((generate(), true)),
        None => {
            let content = read_stdin()?;
            if content.is_empty() {
                Ok((generate(), true))
            } else {
                Ok((content, false))
            }
        }
    }
}

/// Reads all of stdin as bytes.
fn read_stdin() -> Result<Vec<u8>, FlexError> {
    let mut content = Vec::new();
    io::stdin()
        .lock()
        .read_to_end(&mut content)
        .map_err(|e| FlexError::Io(format!("cannot read stdin: {e}")))?;
    Ok(content)
}

/// `fetch`: validate the options, prepare the output, run the POP3 session.
fn cmd_fetch(args: &[String]) -> Result<(), FlexError> {
    let opts = parse_options(
        args,
        &["--user", "--pass", "--server", "--out", "--timeout"],
        &["--delete", "--verbose"],
    )?;
    let user = opts
        .single("--user")?
        .ok_or_else(|| usage("fetch needs --user NAME".to_string()))?;
    if user.is_empty() || user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(usage(format!("--user {user:?} must be one word")));
    }
    let pass = match opts.single("--pass")? {
        Some(pass) => pass,
        None => std::env::var(PASS_ENV).map_err(|_| {
            usage(format!(
                "fetch needs --pass PASSWORD (or the {PASS_ENV} variable)"
            ))
        })?,
    };
    if pass.chars().any(char::is_control) {
        return Err(usage(
            "the password must not contain control characters".to_string(),
        ));
    }
    let server = server_arg(opts.single("--server")?, DEFAULT_POP3)?;
    let timeout = timeout_arg(opts.single("--timeout")?)?;
    let out = opts.single("--out")?.map(PathBuf::from);
    if let Some(dir) = &out {
        fs::create_dir_all(dir)
            .map_err(|e| FlexError::Io(format!("cannot create {}: {e}", dir.display())))?;
    }

    let fetch_opts = FetchOptions {
        server,
        user,
        pass,
        delete: opts.flag("--delete"),
        timeout,
        verbose: opts.flag("--verbose"),
    };
    let store = |n: u32, content: &[u8]| -> Result<(), FlexError> {
        match &out {
            Some(dir) => {
                let path = dir.join(format!("{n}.eml"));
                write_new_file(&path, content)?;
                println!("{}", path.display());
                Ok(())
            }
            None => print_message(n, content),
        }
    };
    let outcome = pop3::fetch(&fetch_opts, store)?;
    eprintln!(
        "actormail-flex: fetched {} message(s), deleted {}",
        outcome.fetched, outcome.deleted
    );
    Ok(())
}

/// Writes one message to a file that must not exist yet, and syncs it to disk
/// before the caller may delete the message on the server.
fn write_new_file(path: &Path, content: &[u8]) -> Result<(), FlexError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                FlexError::Io(format!(
                    "{} already exists; not overwriting it (the message stays on the server)",
                    path.display()
                ))
            } else {
                FlexError::Io(format!("cannot create {}: {e}", path.display()))
            }
        })?;
    file.write_all(content)
        .and_then(|_| file.sync_all())
        .map_err(|e| FlexError::Io(format!("cannot write {}: {e}", path.display())))
}

/// Prints one message to stdout after a separator line naming it.
fn print_message(n: u32, content: &[u8]) -> Result<(), FlexError> {
    let mut stdout = io::stdout().lock();
    let header = format!(
        "=== actormail-flex message {n} ({} octets) ===\n",
        content.len()
    );
    stdout
        .write_all(header.as_bytes())
        .and_then(|_| stdout.write_all(content))
        .and_then(|_| stdout.flush())
        .map_err(|e| FlexError::Io(format!("cannot write to stdout: {e}")))
}

/// Shorthand for a usage error.
fn usage(text: String) -> FlexError {
    FlexError::Usage(text)
}

/// Checks an envelope address: one optional pair of angle brackets is
/// removed; spaces, brackets, control and non-ASCII characters are refused
/// so nothing can be smuggled into the SMTP command line.
fn check_address(option: &str, value: &str, allow_empty: bool) -> Result<String, FlexError> {
    let bare = value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value);
    if bare.is_empty() && !allow_empty {
        return Err(usage(format!("{option} must not be empty")));
    }
    let bad = |c: char| !c.is_ascii_graphic() || c == '<' || c == '>';
    if bare.chars().any(bad) {
        return Err(usage(format!(
            "{option} {value:?} is not a plain address \
             (no spaces, angle brackets, control or non-ASCII characters)"
        )));
    }
    Ok(bare.to_string())
}

/// Resolves the --server value, adding the default port when only a host is given.
fn server_arg(value: Option<String>, default: &str) -> Result<String, FlexError> {
    match value {
        None => Ok(default.to_string()),
        Some(v) if v.is_empty() => Err(usage("--server must not be empty".to_string())),
        Some(v) if has_port(&v) => Ok(v),
        Some(v) => {
            let port = default.rsplit_once(':').map_or("", |(_, p)| p);
            Ok(format!("{v}:{port}"))
        }
    }
}

/// Whether a --server value already ends in ":port" ("[::1]" alone does not).
fn has_port(server: &str) -> bool {
    server.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && (!host.contains(':') || host.ends_with(']'))
    })
}

/// Parses --timeout as a whole number of seconds, at least 1.
fn timeout_arg(value: Option<String>) -> Result<Duration, FlexError> {
    let Some(text) = value else {
        return Ok(Duration::from_secs(DEFAULT_TIMEOUT_SECS));
    };
    match text.parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(usage(format!(
            "--timeout {text:?} must be a whole number of seconds, at least 1"
        ))),
    }
}

/// Options collected from the command line, in the order given.
#[derive(Debug, Default)]
struct Options {
    values: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Options {
    /// Every value given for a repeatable option such as --to.
    fn all(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The value of an option that may appear at most once.
    fn single(&self, name: &str) -> Result<Option<String>, FlexError> {
        let mut values = self.all(name);
        if values.len() > 1 {
            return Err(usage(format!("{name} given more than once")));
        }
        Ok(values.pop())
    }

    /// Whether a flag such as --delete was given.
    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}

/// Splits arguments into options with values (`--name value` or `--name=value`)
/// and flags; anything else is a usage error.
fn parse_options(args: &[String], valued: &[&str], flags: &[&str]) -> Result<Options, FlexError> {
    let mut opts = Options::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        if valued.contains(&name) {
            let value = match inline {
                Some(value) => value,
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| usage(format!("{name} needs a value")))?,
            };
            opts.values.push((name.to_string(), value));
        } else if flags.contains(&name) && inline.is_none() {
            opts.flags.push(name.to_string());
        } else if name.starts_with('-') {
            return Err(usage(format!("unknown option {arg:?}")));
        } else {
            return Err(usage(format!("unexpected argument {arg:?}")));
        }
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn options_with_values_flags_and_repeats() {
        let args = strings(&["--to", "a@x", "--to=b@x", "--verbose", "--from", ""]);
        let opts = parse_options(&args, &["--to", "--from"], &["--verbose"]).unwrap();
        assert_eq!(opts.all("--to"), vec!["a@x", "b@x"]);
        assert_eq!(opts.single("--from").unwrap(), Some(String::new()));
        assert!(opts.flag("--verbose"));
        assert!(!opts.flag("--delete"));
    }

    #[test]
    fn bad_command_lines_are_usage_errors() {
        let cases: [&[&str]; 4] = [&["--to"], &["--bogus"], &["stray"], &["--verbose=yes"]];
        for args in cases {
            let err = parse_options(&strings(args), &["--to"], &["--verbose"]).unwrap_err();
            assert_eq!(err.exit_code(), 1, "{args:?}");
        }
        let twice = parse_options(&strings(&["--to", "a", "--to", "b"]), &["--to"], &[]).unwrap();
        assert!(twice.single("--to").is_err());
    }

    #[test]
    fn addresses_are_checked() {
        assert_eq!(check_address("--to", "<a@x>", false).unwrap(), "a@x");
        assert_eq!(check_address("--from", "", true).unwrap(), "");
        assert_eq!(check_address("--from", "<>", true).unwrap(), "");
        assert!(check_address("--to", "", false).is_err());
        for bad in ["a b@x", "a@x\r\nRCPT TO:<c@x>", "a>@x", "<a@x", "é@x"] {
            assert!(check_address("--to", bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn server_and_timeout_defaults() {
        assert_eq!(server_arg(None, DEFAULT_SMTP).unwrap(), "127.0.0.1:2525");
        assert_eq!(
            server_arg(Some("mail".into()), DEFAULT_POP3).unwrap(),
            "mail:2110"
        );
        assert_eq!(
            server_arg(Some("h:25".into()), DEFAULT_SMTP).unwrap(),
            "h:25"
        );
        assert_eq!(
            server_arg(Some("[::1]".into()), DEFAULT_SMTP).unwrap(),
            "[::1]:2525"
        );
        assert_eq!(
            server_arg(Some("[::1]:25".into()), DEFAULT_SMTP).unwrap(),
            "[::1]:25"
        );
        assert_eq!(timeout_arg(None).unwrap(), Duration::from_secs(30));
        assert_eq!(
            timeout_arg(Some("5".into())).unwrap(),
            Duration::from_secs(5)
        );
        assert!(timeout_arg(Some("0".into())).is_err());
        assert!(timeout_arg(Some("1.5".into())).is_err());
    }
}
