// Small mail clients for the browser tests: the node's SMTP and POP3 over plain sockets.
import net from 'node:net';

// A server that stops answering fails the test instead of holding it.
const SOCKET_TIMEOUT_MS = 15000;

// A connection that writes a line (or nothing, for the greeting) and waits for the server's
// complete reply, as last() finds its end, for each say(); end() closes it.
function connect(port, last) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  let buffer = '';
  let waiting = null;
  socket.setTimeout(SOCKET_TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${SOCKET_TIMEOUT_MS} ms; so far: ${buffer}`)));
  socket.on('data', (chunk) => { buffer += chunk; waiting?.(); });
  const closed = new Promise((resolve, reject) => { socket.on('close', resolve); socket.on('error', reject); });
  closed.catch(() => {}); // the error also rejects the reply being waited for
  const say = (line) => new Promise((resolve, reject) => {
    socket.once('error', reject);
    const check = () => {
      const at = last(buffer);
      if (at < 0) { waiting = check; return; }
      waiting = null;
      const text = buffer.slice(0, at);
      buffer = buffer.slice(at);
      resolve(text);
    };
    if (line !== null) socket.write(line);
    check();
  });
  const end = async () => { socket.end(); await closed; };
  return { say, end };
}

// One conversation: each step is said in turn; returns the replies.
async function converse(port, steps, last) {
  const connection = connect(port, last);
  const replies = [];
  for (const step of steps) replies.push(await connection.say(step));
  await connection.end();
  return replies;
}

// The end of a complete SMTP reply in buf (after its last line, "NNN text\r\n"), or -1.
function smtpEnd(buf) {
  const m = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buf);
  return m ? m.index + m[0].length : -1;
}

// The end of a one-line POP3 reply, or -1.
function popEnd(buf) {
  const i = buf.indexOf('\r\n');
  return i < 0 ? -1 : i + 2;
}

/** Sends one message (CRLF lines, dot-stuffed here) and checks every reply's code. */
export async function sendMail(port, from, to, message) {
  const body = message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
  const replies = await converse(port, [null, 'EHLO browser.test\r\n', `MAIL FROM:<${from}>\r\n`, ...to.map((t) => `RCPT TO:<${t}>\r\n`),
    'DATA\r\n', `${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'QUIT\r\n'], smtpEnd);
  const bad = replies.find((r) => !/^(2|3)\d\d/m.test(r.split('\r\n').at(-2) ?? r));
  if (bad) throw new Error(`SMTP refused: ${bad}`);
}

/** A POP3 session that signs in and quits; returns its replies. */
export function popSignIn(port, user, password) {
  return converse(port, [null, `USER ${user}\r\n`, `PASS ${password}\r\n`, 'STAT\r\n', 'QUIT\r\n'], popEnd);
}

/** A POP3 connection signed in as user and left open: say('NOOP\\r\\n') answers one line; end() closes. */
export async function popOpen(port, user, password) {
  const connection = connect(port, popEnd);
  for (const line of [null, `USER ${user}\r\n`, `PASS ${password}\r\n`]) {
    const reply = await connection.say(line);
    if (!reply.startsWith('+OK')) throw new Error(`POP3 refused: ${reply}`);
  }
  return connection;
}

/** A MIME message with a text part and one attachment. */
export function mimeMessage({ from, to, subject, text, html, attachment }) {
  const boundary = 'b-' + Math.random().toString(16).slice(2);
  const lines = [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`, '',
    `--${boundary}`];
  if (html) {
    // Text and HTML as alternatives of one body, as mail clients send them.
    lines.push(`Content-Type: multipart/alternative; boundary="${boundary}-alt"`, '', `--${boundary}-alt`,
      'Content-Type: text/plain; charset=utf-8', '', text, `--${boundary}-alt`, 'Content-Type: text/html; charset=utf-8', '', html,
      `--${boundary}-alt--`);
  } else {
    lines.push('Content-Type: text/plain; charset=utf-8', '', text);
  }
  if (attachment) {
    lines.push(`--${boundary}`, `Content-Type: application/octet-stream; name="${attachment.name}"`,
      `Content-Disposition: attachment; filename="${attachment.name}"`, 'Content-Transfer-Encoding: base64', '',
      ...attachment.bytes.toString('base64').match(/.{1,76}/g));
  }
  lines.push(`--${boundary}--`, '');
  return lines.join('\r\n');
}

/** A message whose only part is HTML. */
export function htmlMessage({ from, to, subject, html }) {
  return [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', html, ''].join('\r\n');
}
