// ActorMail's page. Everything from a message or a session reaches the document as text
// (textContent, attributes set one by one): the page's policy refuses every HTML-parsing sink.
'use strict';

const API = '/api/v1';
const $ = (id) => document.getElementById(id);
const views = ['mail-view', 'message-view', 'sessions-view', 'session-view'];
let me = null;
let current = null;       // the mailbox shown
let shownMessage = null;  // the id of the message shown, if any
let shownSession = null;  // the id of the session shown, if any
let sessionPoll = null;
let searchTimer = null;

// An element with text content and attributes; children are elements or strings.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v; else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) e.append(c);
  return e;
}

function say(text) { $('status').textContent = text; }

async function call(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options });
  if (!response.ok) {
    let detail = response.statusText;
    try { const body = await response.json(); detail = body.detail || body.error || detail; } catch { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response;
}

const json = async (path) => (await call(path)).json();
const box = (name) => `${API}/mailboxes/${encodeURIComponent(name)}`;
const msg = (name, id) => `${box(name)}/messages/${encodeURIComponent(id)}`;

function size(octets) {
  if (octets < 1024) return `${octets} B`;
  if (octets < 1024 * 1024) return `${(octets / 1024).toFixed(1)} kB`;
  return `${(octets / 1024 / 1024).toFixed(1)} MB`;
}

function when(iso) {
  if (!iso) return el('span', { text: '—' });
  const d = new Date(iso);
  return el('time', { datetime: iso, text: d.toLocaleString() });
}

function who(c) {
  if (!c) return '';
  return c.name ? `${c.name} <${c.address}>` : c.address;
}

function show(view) {
  for (const v of views) $(v).hidden = v !== view;
  const sessions = view.startsWith('session');
  $('nav-mail').toggleAttribute('aria-current', !sessions);
  $('nav-sessions').toggleAttribute('aria-current', sessions);
  if (!sessions) $('nav-mail').setAttribute('aria-current', 'page'); else $('nav-sessions').setAttribute('aria-current', 'page');
  if (sessionPoll && view !== 'session-view') { clearInterval(sessionPoll); sessionPoll = null; }
}

// ---- the mailbox view ----

async function showMailbox(name) {
  current = name;
  shownMessage = null;
  show('mail-view');
  $('mailbox-name').textContent = name;
  $('mailbox-picker').value = name;
  document.title = `${name} · ActorMail`;
  await loadList();
}

async function loadList() {
  const q = $('search').value.trim();
  const page = await json(`${box(current)}/messages?limit=1000${q ? `&q=${encodeURIComponent(q)}` : ''}`);
  const rows = page.messages.map((m) => {
    const href = `#/mailbox/${encodeURIComponent(current)}/message/${encodeURIComponent(m.id)}`;
    return el('tr', { 'data-id': m.id },
      el('td', { 'data-label': 'From', text: who(m.from) }),
      el('td', { 'data-label': 'Subject' }, el('a', { href, text: m.subject || '(no subject)' })),
      el('td', { 'data-label': 'Date' }, when(m.date || m.received)),
      el('td', { 'data-label': 'Size', class: 'size', text: size(m.size) }),
      el('td', { 'data-label': 'Attachments' }, m.hasAttachments
        ? el('img', { src: '/static/clip.svg', alt: 'has attachments', width: 16, height: 16 }) : ''));
  });
  $('messages').tBodies[0].replaceChildren(...rows);
  $('empty').hidden = rows.length > 0;
  $('count').textContent = `${page.total} ${page.total === 1 ? 'message' : 'messages'}${q ? ` matching “${q}”` : ''}`;
}

async function deleteAll() {
  if (!confirm(`Delete every message in ${current}?`)) return;
  await call(`${box(current)}/messages`, { method: 'DELETE' });
  say(`Every message in ${current} deleted`);
  await loadList();
}

// ---- the message view ----

async function showMessage(name, id) {
  current = name;
  shownMessage = id;
  show('message-view');
  const m = await json(msg(name, id));
  $('message-subject').textContent = m.subject || '(no subject)';
  document.title = `${m.subject || '(no subject)'} · ActorMail`;
  $('message-from').textContent = who(m.from);
  $('message-to').textContent = [...m.to, ...m.cc].map(who).join(', ');
  $('message-date').replaceChildren(when(m.date));
  $('message-size').textContent = size(m.size);
  $('headers').open = false;
  $('headers').querySelector('tbody').replaceChildren(
    ...m.headers.map((h) => el('tr', {}, el('td', { text: h.name }), el('td', { text: h.value }))));
  $('text-part').hidden = m.text === null;
  $('message-text').textContent = m.text ?? '';
  $('html-part').hidden = m.html === null;
  $('message-html').src = m.html === null ? 'about:blank' : `${msg(name, id)}/html`;
  $('load-images').disabled = false;
  $('attachments-part').hidden = m.attachments.length === 0;
  $('attachments').replaceChildren(...m.attachments.map((a) => el('li', {},
    el('a', { href: `${msg(name, id)}/attachments/${a.index}`, download: a.fileName || `attachment-${a.index}`, text: a.fileName || `attachment ${a.index}` }),
    ` (${a.contentType}, ${size(a.size)})`)));
  $('raw').open = false;
  $('raw-text').textContent = '';
  $('message-subject').focus();
}

async function loadRaw() {
  if (!$('raw').open || $('raw-text').textContent) return;
  $('raw-text').textContent = await (await call(`${msg(current, shownMessage)}/raw`)).text();
}

function loadImages() {
  $('message-html').src = `${msg(current, shownMessage)}/html?images=remote`;
  $('load-images').disabled = true;
  say('Remote images loaded for this message');
}

async function deleteMessage() {
  await call(msg(current, shownMessage), { method: 'DELETE' });
  say('Message deleted');
  location.hash = `#/mailbox/${encodeURIComponent(current)}`;
}

// ---- the sessions views ----

async function showSessions() {
  shownSession = null;
  show('sessions-view');
  document.title = 'Sessions · ActorMail';
  const list = await json(`${API}/sessions`);
  $('sessions').tBodies[0].replaceChildren(...list.map((s) => el('tr', { 'data-id': s.id },
    el('td', { 'data-label': 'Session' }, el('a', { href: `#/sessions/${encodeURIComponent(s.id)}`, text: s.id })),
    el('td', { 'data-label': 'Protocol', text: s.protocol }),
    el('td', { 'data-label': 'Remote', text: s.remote }),
    el('td', { 'data-label': 'User', text: s.user || '—' }),
    el('td', { 'data-label': 'Start' }, when(s.start)),
    el('td', { 'data-label': 'Duration', text: `${s.durationMs} ms` }),
    el('td', { 'data-label': 'End', text: s.end || 'open' }))));
  $('sessions-empty').hidden = list.length > 0;
}

async function showSession(id) {
  shownSession = id;
  show('session-view');
  await loadSession();
}

async function loadSession() {
  const s = await json(`${API}/sessions/${encodeURIComponent(shownSession)}`);
  $('session-id').textContent = s.id;
  document.title = `Session ${s.id} · ActorMail`;
  const facts = [['Protocol', s.protocol], ['Remote', s.remote], ['User', s.user || '—'], ['Start', new Date(s.start).toLocaleString()],
    ['Duration', `${s.durationMs} ms`], ['End', s.end || 'still open']];
  $('session-summary').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
  $('transcript').tBodies[0].replaceChildren(...s.transcript.map((t) => el('tr', {},
    el('td', { class: 'state', text: t.before }),
    el('td', { text: t.command }),
    el('td', { text: t.replies.join('\n') }),
    el('td', { class: 'state', text: t.after }))));
  const visited = new Set(s.transcript.flatMap((t) => [t.before, t.after]));
  $('states').replaceChildren(...s.states.map((name) => el('li', { class: visited.has(name) ? 'visited' : null },
    name, visited.has(name) ? el('span', { class: 'visually-hidden', text: ' (visited)' }) : '')));
  // An open session is read again each second until it ends.
  if (!s.end && !sessionPoll) sessionPoll = setInterval(() => loadSession().catch(fail), 1000);
  if (s.end && sessionPoll) { clearInterval(sessionPoll); sessionPoll = null; }
}

// ---- routing, live updates, start ----

function fail(error) { say(`Error ${error.message}`); }

async function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'sessions') return parts[1] ? showSession(parts[1]) : showSessions();
  const name = parts[0] === 'mailbox' && me.mailboxes.includes(parts[1]) ? parts[1] : home();
  if (parts[2] === 'message' && parts[3]) return showMessage(name, parts[3]);
  return showMailbox(name);
}

const home = () => (me.mailboxes.includes(me.user) ? me.user : me.mailboxes[0]);

function follow() {
  const events = new EventSource(`${API}/events`);
  const changed = (kind) => (e) => {
    const data = JSON.parse(e.data);
    if (data.mailbox !== current) return;
    if (kind === 'delivered') say(`New message in ${data.mailbox}`);
    if (!$('mail-view').hidden) loadList().catch(fail);
    if (kind === 'deleted' && data.id === shownMessage && !$('message-view').hidden) say('This message has been deleted');
  };
  events.addEventListener('delivered', changed('delivered'));
  events.addEventListener('deleted', changed('deleted'));
}

async function start() {
  me = await json(`${API}/me`);
  $('user').textContent = me.user;
  $('mailbox-picker').replaceChildren(...me.mailboxes.map((m) => el('option', { value: m, text: m })));
  $('mailbox-picker-row').hidden = me.mailboxes.length < 2;
  $('mailbox-picker').addEventListener('change', (e) => { location.hash = `#/mailbox/${encodeURIComponent(e.target.value)}`; });
  $('search').addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => loadList().catch(fail), 250); });
  $('delete-all').addEventListener('click', () => deleteAll().catch(fail));
  $('delete-message').addEventListener('click', () => deleteMessage().catch(fail));
  $('load-images').addEventListener('click', loadImages);
  $('raw').addEventListener('toggle', () => loadRaw().catch(fail));
  $('message-subject').tabIndex = -1;
  window.addEventListener('hashchange', () => route().catch(fail));
  follow();
  await route();
  document.body.dataset.ready = 'true';
}

document.addEventListener('DOMContentLoaded', () => start().catch(fail));
