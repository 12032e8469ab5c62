// The web page in headless Chromium against a running node (started by tests/e2e/test_web.py,
// which passes its addresses in ACTORMAIL_*). Every wait is for something to appear, bounded by
// Playwright's timeout; none measures time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { htmlMessage, mimeMessage, popOpen, popSignIn, sendMail } from './mail.mjs';

const WEB = process.env.ACTORMAIL_WEB;
const SMTP = Number(process.env.ACTORMAIL_SMTP_PORT);
const POP3 = Number(process.env.ACTORMAIL_POP3_PORT);
const MAILDIR = process.env.ACTORMAIL_MAILDIR;
const LOGS = process.env.ACTORMAIL_LOGDIR;
const SHOTS = process.env.ACTORMAIL_SCREENSHOTS; // a folder: the screenshots for docs/ are written there
const USERS = { alice: 'alice-demo', bob: 'bob-demo' };
const WAIT_MS = 15000;
// Each test's bound: a hung step fails its test, and the suite goes on.
const TEST = { timeout: 60000 };

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => { await browser?.close(); });

// A signed-in page with the view loaded; page errors and refused policies fail the test.
async function signIn(user, viewport = { width: 1200, height: 800 }) {
  const context = await browser.newContext({ httpCredentials: { username: user, password: USERS[user] }, viewport, acceptDownloads: true });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  // What the page asked for and how each request ended, for the message of a failed wait.
  page.trace = [];
  page.on('request', (r) => page.trace.push(`> ${r.method()} ${r.url()}`));
  page.on('requestfinished', (r) => page.trace.push(`< ${r.method()} ${r.url()}`));
  page.on('requestfailed', (r) => page.trace.push(`! ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  await page.goto(WEB + '/');
  await page.locator('body[data-ready="true"]').waitFor();
  return { page, context, problems };
}

const files = (user) => ['new', 'cur'].flatMap((f) => {
  const d = path.join(MAILDIR, user, f);
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
});

// Waits for selector; a timeout says what the page's status line and errors said.
async function shown(page, selector) {
  try {
    await page.locator(selector).waitFor();
  } catch (e) {
    throw new Error(`${e.message}\nstatus: ${await page.locator('#status').innerText()}\nhash: ${await page.evaluate(() => location.hash)}\n${page.trace.join('\n')}`);
  }
}

const child = (page) => page.frames().find((f) => f.parentFrame() === page.mainFrame());

// Waits until check() is true, up to WAIT_MS.
async function eventually(check, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${WAIT_MS} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const unique = (what) => `${what} ${process.pid}-${Math.random().toString(16).slice(2, 8)}`;

test('a mail sent over SMTP appears live, opens, downloads its attachment and is deleted', TEST, async () => {
  const { page, context, problems } = await signIn('alice');
  await assert.doesNotReject(page.locator('#user', { hasText: 'alice' }).waitFor());
  const before = await page.locator('#messages tbody tr').count();

  const subject = unique('Quarterly report');
  const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
  await sendMail(SMTP, 'carol@example.org', ['alice@localhost'], mimeMessage({
    from: 'Carol <carol@example.org>', to: 'alice@localhost', subject,
    text: 'The figures are attached.\r\nRegards, Carol', attachment: { name: 'figures.bin', bytes },
    html: '<p>The figures are <b>attached</b>.</p><p style="color: #1d5fa8">Regards, Carol</p>',
  }));

  // No reload: the row comes from the event stream, and the count follows.
  const row = page.locator('#messages tbody tr', { hasText: subject });
  await row.waitFor();
  await page.locator('#count', { hasText: `${before + 1} message` }).waitFor();
  assert.match(await row.innerText(), /carol@example\.org/);
  assert.equal(await row.getByRole('img', { name: 'has attachments' }).count(), 1);
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'web-mailbox.png') });

  await row.getByRole('link', { name: subject }).click();
  await page.locator('#message-subject', { hasText: subject }).waitFor();
  assert.match(await page.locator('#message-text').innerText(), /The figures are attached\./);
  await page.frameLocator('#message-html').getByText('Regards, Carol').waitFor();
  const link = page.getByRole('link', { name: 'figures.bin' });
  await link.waitFor();
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'web-message.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'figures.bin');
  assert.deepEqual(fs.readFileSync(await download.path()), bytes);

  const id = await page.evaluate(() => decodeURIComponent(location.hash.split('/').at(-1)));
  assert.ok(files('alice').includes(id), `${id} is in alice's Maildir before the delete`);
  // From the keyboard, as a user without a mouse would.
  await page.getByRole('button', { name: 'Delete this message' }).press('Enter');
  await shown(page, '#mail-view:not([hidden])');
  await page.locator('#count', { hasText: `${before} message` }).waitFor();
  assert.equal(await page.locator('#messages tbody tr', { hasText: subject }).count(), 0);
  assert.ok(!files('alice').includes(id), `${id} is gone from new/ and cur/`);
  assert.deepEqual(problems, []);
  await context.close();
});

test("bob's page never shows alice's mail", TEST, async () => {
  const { page, context, problems } = await signIn('bob');
  const forAlice = unique('For alice only');
  const forBob = unique('For bob');
  await sendMail(SMTP, 'dave@example.org', ['alice@localhost'], mimeMessage({ from: 'dave@example.org', to: 'alice@localhost', subject: forAlice, text: 'secret' }));
  await sendMail(SMTP, 'dave@example.org', ['bob@localhost'], mimeMessage({ from: 'dave@example.org', to: 'bob@localhost', subject: forBob, text: 'hello bob' }));
  // Bob's own mail arrives after alice's: once it is listed, alice's had every chance to be.
  await page.locator('#messages tbody tr', { hasText: forBob }).waitFor();
  assert.equal(await page.getByText(forAlice).count(), 0);
  assert.equal(await page.locator('#mailbox-picker-row').isHidden(), true);

  // Asking for alice's mailbox by address shows bob's own.
  await page.goto(WEB + '/#/mailbox/alice');
  await page.locator('#messages tbody tr', { hasText: forBob }).waitFor();
  assert.equal(await page.locator('#mailbox-name').innerText(), 'bob');
  assert.equal(await page.getByText(forAlice).count(), 0);
  assert.deepEqual(problems, []);
  const status = await page.evaluate(async () => (await fetch('/api/v1/mailboxes/alice/messages')).status);
  assert.equal(status, 404);
  await context.close();
});

test('hostile HTML mail runs nothing and loads nothing until remote images are asked for', TEST, async () => {
  // The "remote" server the mail points at: every request that reaches it is recorded.
  const hits = [];
  const remote = http.createServer((req, res) => { hits.push(req.url); res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('x'); });
  await new Promise((resolve) => remote.listen(0, '127.0.0.1', resolve));
  const R = `http://127.0.0.1:${remote.address().port}`;
  try {
    const subject = unique('Hostile');
    const html = `<html><head><meta http-equiv="refresh" content="0; url=${R}/meta">
<link rel="stylesheet" href="${R}/link"><style>body { background: url(${R}/style) }</style>
<script src="${R}/script-src"></script><script>top.xss = 'script'; parent.xss = 'script'; fetch('${R}/fetch');</script></head>
<body><h1 id="hello">Hostile mail</h1>
<img src="${R}/img" alt="remote picture">
<img src="x" onerror="top.xss = 'onerror'; new Image().src = '${R}/onerror'">
<a id="js" href="javascript:top.xss='link';location='${R}/js-link'">click me</a>
<form action="${R}/form" method="post"><input name="q" value="1"><button id="send">Send</button></form>
<p style="background-image: url(${R}/css-url)">styled</p>
<iframe src="${R}/iframe"></iframe>
<svg><script>top.xss = 'svg'</script></svg>
<object data="${R}/object"></object><embed src="${R}/embed">
</body></html>`;
    await sendMail(SMTP, 'mallory@example.org', ['alice@localhost'], htmlMessage({ from: 'mallory@example.org', to: 'alice@localhost', subject, html }));

    const { page, context } = await signIn('alice');
    const pageRequests = [];
    page.on('request', (r) => { if (r.url().startsWith(R)) pageRequests.push(r.url()); });
    await page.locator('#messages tbody tr', { hasText: subject }).getByRole('link').click();
    const frame = page.frameLocator('#message-html');
    await frame.getByRole('heading', { name: 'Hostile mail' }).waitFor();
    // The frame's load event waits for its images and styles: whatever it would fetch, it has asked for.
    await child(page).waitForLoadState('load');
    assert.equal(await frame.locator('script, iframe, form, input, meta[http-equiv], link, style, object, embed, a[href^="javascript"]').count(), 0);
    assert.deepEqual(hits, []);
    assert.deepEqual(pageRequests, []);

    // Clicking what is left of the link and pressing Enter in the frame change nothing.
    await frame.getByText('click me').click();
    assert.equal(await page.evaluate(() => window.xss), undefined);
    assert.match(child(page).url(), /\/html$/);

    // Asked for, remote images load; scripts, frames, forms and the rest still do not.
    await page.getByRole('button', { name: 'Load remote images' }).click();
    await frame.getByRole('heading', { name: 'Hostile mail' }).waitFor();
    await eventually(() => hits.includes('/img'), 'the remote image is asked for');
    assert.deepEqual(hits.filter((h) => !['/img', '/css-url'].includes(h)), []);
    assert.equal(await page.evaluate(() => window.xss), undefined);
    assert.equal(await page.title(), `${subject} · ActorMail`);
    await context.close();
  } finally {
    remote.closeAllConnections();
    await new Promise((resolve) => remote.close(resolve));
  }
});

test('the sessions view shows the transcript of a POP3 session just run, with the password masked', TEST, async () => {
  const replies = await popSignIn(POP3, 'alice', USERS.alice);
  assert.match(replies[2], /^\+OK/, 'the sign-in worked');
  const { page, context, problems } = await signIn('alice');
  await page.getByRole('link', { name: 'Sessions' }).click();
  const row = page.locator('#sessions tbody tr', { hasText: 'POP3' }).first();
  await row.waitFor();
  assert.match(await row.innerText(), /alice/);
  assert.match(await row.innerText(), /quit/);
  const id = await row.getAttribute('data-id');
  await row.getByRole('link').click();
  await page.locator('#session-id', { hasText: id }).waitFor();

  const transcript = page.locator('#transcript tbody');
  await transcript.getByText('PASS ****').waitFor();
  const text = await transcript.innerText();
  assert.ok(!text.includes(USERS.alice), 'the password is not in the transcript');
  assert.match(text, /USER alice/);
  assert.match(text, /STAT/);
  assert.match(await page.locator('#transcript tbody tr', { hasText: 'STAT' }).innerText(), /Transaction.*\+OK.*Transaction/s);
  assert.equal(await page.locator('#states li.visited', { hasText: 'Transaction' }).count(), 1);
  assert.equal(await page.locator('#states li.visited', { hasText: 'Update' }).count(), 1);
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'web-session.png'), fullPage: true });

  // The id is the one in the node's log, so the page and the log meet. The node writes its log
  // in blocks flushed every log-flush-interval (hocon/actormail.conf), so the id may take that long.
  const readLogs = () => fs.readdirSync(LOGS).map((f) => fs.readFileSync(path.join(LOGS, f), 'utf8')).join('\n');
  await eventually(() => readLogs().includes(id), `session ${id} is in the node's log`);
  assert.ok(!readLogs().includes(USERS.alice), 'nor is the password in the log');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a session still open updates live in the sessions view', TEST, async () => {
  const pop = await popOpen(POP3, 'alice', USERS.alice);
  try {
    const { page, context, problems } = await signIn('alice');
    await page.goto(WEB + '/#/sessions');
    const row = page.locator('#sessions tbody tr', { hasText: 'open' }).first();
    await row.waitFor();
    await row.getByRole('link').click();
    const transcript = page.locator('#transcript tbody');
    await transcript.getByText('PASS ****').waitFor();
    assert.equal(await transcript.getByText('NOOP').count(), 0);
    assert.match(await page.locator('#session-summary').innerText(), /still open/);

    // A command sent now shows up on the page without a reload.
    assert.match(await pop.say('NOOP\r\n'), /^\+OK/);
    await transcript.getByText('NOOP').waitFor();
    assert.match(await pop.say('QUIT\r\n'), /^\+OK/);
    await page.locator('#session-summary', { hasText: 'quit' }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await pop.end();
  }
});
