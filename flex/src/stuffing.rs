//! Dot-stuffing for SMTP DATA (RFC 5321 section 4.5.2) and its undoing for
//! POP3 multi-line responses (RFC 1939 section 3).

/// Turns a message into the exact octets sent after `354`: CRLF line ends,
/// a doubled leading dot on every line that starts with `.`, a final CRLF if
/// the message lacks one, and the `.` CRLF terminator.
///
/// Bare LF and bare CR both become CRLF, because RFC 5321 forbids sending
/// either alone. An empty message produces only the terminator.
pub fn encode_data(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 16 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let byte = message[i];
        i += 1;
        match byte {
            b'\r' => {
                if message.get(i) == Some(&b'\n') {
                    i += 1;
                }
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => {
                if at_line_start && byte == b'.' {
                    out.push(b'.');
                }
                out.push(byte);
                at_line_start = false;
            }
        }
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// What one received line of a POP3 multi-line response means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DotLine<'a> {
    /// The line holding only `.`: the response is complete.
    End,
    /// A content line, line ending kept, with the stuffing dot removed.
    Data(&'a [u8]),
}

/// Classifies one received line (including its line ending) and un-stuffs it.
///
/// Following RFC 1939, a line that starts with `.` and is not the terminator
/// loses that first dot; for a conforming server that is exactly the lines
/// starting with `..`.
pub fn unstuff_line(line: &[u8]) -> DotLine<'_> {
    match line {
        b".\r\n" | b".\n" => DotLine::End,
        [b'.', rest @ ..] => DotLine::Data(rest),
        _ => DotLine::Data(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Un-stuffs a whole received block; `None` when the terminator never comes.
    fn unstuff_block(block: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for line in block.split_inclusive(|&b| b == b'\n') {
            if !line.ends_with(b"\n") {
                return None;
            }
            match unstuff_line(line) {
                DotLine::End => return Some(out),
                DotLine::Data(data) => out.extend_from_slice(data),
            }
        }
        None
    }

    fn encoded(message: &str) -> String {
        String::from_utf8(encode_data(message.as_bytes())).unwrap()
    }

    #[test]
    fn lone_dot_line_is_doubled() {
        assert_eq!(encoded("a\r\n.\r\nb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
    }

    #[test]
    fn double_dot_line_gets_a_third_dot() {
        assert_eq!(encoded("a\r\n..\r\n"), "a\r\n...\r\n.\r\n");
    }

    #[test]
    fn hidden_style_line_is_stuffed() {
        assert_eq!(encoded("x\r\n.hidden\r\n"), "x\r\n..hidden\r\n.\r\n");
    }

    #[test]
    fn dots_inside_a_line_are_left_alone() {
        assert_eq!(encoded("a.b ..c .\r\n"), "a.b ..c .\r\n.\r\n");
    }

    #[test]
    fn empty_lines_are_kept() {
        assert_eq!(encoded("a\r\n\r\n\r\nb\r\n"), "a\r\n\r\n\r\nb\r\n.\r\n");
        assert_eq!(encoded("\n\n"), "\r\n\r\n.\r\n");
    }

    #[test]
    fn first_line_starting_with_dot_is_stuffed() {
        assert_eq!(
            encoded(".first\r\nsecond\r\n"),
            "..first\r\nsecond\r\n.\r\n"
        );
        assert_eq!(encoded("."), "..\r\n.\r\n");
    }

    #[test]
    fn missing_final_newline_is_added() {
        assert_eq!(encoded("no newline"), "no newline\r\n.\r\n");
        assert_eq!(encoded("a\n.b"), "a\r\n..b\r\n.\r\n");
    }

    #[test]
    fn bare_lf_and_bare_cr_become_crlf() {
        assert_eq!(encoded("a\nb\rc\r\nd\n"), "a\r\nb\r\nc\r\nd\r\n.\r\n");
        assert_eq!(encoded("a\n.\n..\n"), "a\r\n..\r\n...\r\n.\r\n");
    }

    #[test]
    fn empty_message_is_only_the_terminator() {
        assert_eq!(encoded(""), ".\r\n");
    }

    #[test]
    fn non_utf8_bytes_pass_through() {
        let out = encode_data(b"\xff\xfe\n.\x80\n");
        assert_eq!(out, b"\xff\xfe\r\n..\x80\r\n.\r\n");
    }

    #[test]
    fn unstuff_recognises_terminator() {
        assert_eq!(unstuff_line(b".\r\n"), DotLine::End);
        assert_eq!(unstuff_line(b".\n"), DotLine::End);
    }

    #[test]
    fn unstuff_removes_one_dot() {
        assert_eq!(unstuff_line(b"..\r\n"), DotLine::Data(b".\r\n"));
        assert_eq!(unstuff_line(b"...\r\n"), DotLine::Data(b"..\r\n"));
        assert_eq!(unstuff_line(b"..hidden\r\n"), DotLine::Data(b".hidden\r\n"));
        assert_eq!(unstuff_line(b"plain\r\n"), DotLine::Data(b"plain\r\n"));
        assert_eq!(unstuff_line(b"\r\n"), DotLine::Data(b"\r\n"));
        assert_eq!(unstuff_line(b"a.\r\n"), DotLine::Data(b"a.\r\n"));
    }

    #[test]
    fn unstuff_block_stops_at_terminator_and_keeps_crlf() {
        let wire = b"..\r\n...\r\n..hidden\r\n\r\ntext\r\n.\r\nafter\r\n";
        assert_eq!(
            unstuff_block(wire).unwrap(),
            b".\r\n..\r\n.hidden\r\n\r\ntext\r\n".to_vec()
        );
        assert_eq!(unstuff_block(b"text\r\n"), None);
        assert_eq!(unstuff_block(b"text\r\n."), None);
    }

    #[test]
    fn encode_then_unstuff_round_trips() {
        let original = b"..\r\n.\r\n.hidden\r\n\r\nend\r\n";
        let wire = encode_data(original);
        assert_eq!(unstuff_block(&wire).unwrap(), original.to_vec());
    }
}
