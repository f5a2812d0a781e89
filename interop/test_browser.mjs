// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against the real
// daemon: the chat demo page (examples/chat/web) served over http from 127.0.0.1 and opened
// from disk (file://, Origin null), a page whose origin is not allowed, and reconnection after
// the daemon restarts. Started by run.sh (see the RS_* variables it exports).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const env = process.env;
const WS_PORT = Number(env.RS_WS_PORT);
const STATIC_PORT = Number(env.RS_STATIC_PORT);
const REFUSED_PORT = Number(env.RS_REFUSED_PORT);
const RECONNECT_PORT = Number(env.RS_RECONNECT_PORT);
const ADMIN_PORT = Number(env.RS_ADMIN_PORT);
const WEB = env.RS_CHAT_WEB;
const WORK = env.INTEROP_WORK || tmpdir();
const TIMEOUT = 10000;
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const server = `ws://127.0.0.1:${WS_PORT}/chat`;
const httpPage = (port, ws = server) =>
  `http://127.0.0.1:${port}/index.html?server=${encodeURIComponent(ws)}`;
const filePage = (ws = server) =>
  `${pathToFileURL(path.join(WEB, 'index.html')).href}?server=${encodeURIComponent(ws)}`;

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

// ---------- a tiny static server for examples/chat/web, on two ports ----------

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
function serveStatic(port) {
  const srv = http.createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.replace(/^\/$/, '/index.html').slice(1);
    if (!['index.html', 'chat.js', 'chat.css'].includes(name)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(name)], 'cache-control': 'no-store' });
    res.end(readFileSync(path.join(WEB, name)));
  });
  return new Promise((resolve) => srv.listen(port, '127.0.0.1', () => resolve(srv)));
}

// ---------- the reconnect test's own daemon ----------

const pidFile = path.join(WORK, 'browser-daemon.pid');
const daemons = new Set();
let stopping = false;
// Stopped (run.sh's trap, Ctrl-C): take the daemon down with us; playwright closes Chromium.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    stopping = true;
    for (const child of daemons) child.kill('SIGKILL');
    process.exit(1);
  });
}
function startDaemon() {
  if (stopping) throw new Error('stopping');
  const child = spawn(env.RS_BIN, [env.RS_RECONNECT_CONFIG], { stdio: ['ignore', 'ignore', 'pipe'] });
  daemons.add(child);
  child.on('exit', () => daemons.delete(child));
  writeFileSync(pidFile, String(child.pid));
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon not ready:\n${log}`)), TIMEOUT);
    child.stderr.on('data', (d) => {
      log += d;
      if (log.includes('notice: ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`daemon exited ${code}:\n${log}`)));
  });
}
function stopDaemon(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => {
      try { unlinkSync(pidFile); } catch { /* already gone */ }
      resolve(code);
    });
    process.kill(child.pid, 'SIGTERM');
  });
}

// ---------- page helpers ----------

const pageErrors = [];
async function openPage(context, url, label) {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
  await page.goto(url);
  return page;
}

const waitState = (page, state) =>
  page.waitForFunction((s) => document.getElementById('status').dataset.state === s, state,
    { timeout: TIMEOUT });

// A chat line from `from` with `text`, or (from === null) a notice containing `text`.
const waitLine = (page, from, text) =>
  page.waitForFunction(([f, t]) => [...document.querySelectorAll('#log li')].some((li) => {
    const body = li.querySelector('.text')?.textContent ?? '';
    if (f === null) return li.classList.contains('notice') && body.includes(t);
    return li.querySelector('.from')?.textContent === f && body === t;
  }), [from, text], { timeout: TIMEOUT });

const roster = (page) =>
  page.$$eval('#roster li', (lis) => lis.map((li) => li.textContent).sort());
const waitRoster = (page, names) =>
  page.waitForFunction((want) => {
    const got = [...document.querySelectorAll('#roster li')].map((li) => li.textContent).sort();
    return JSON.stringify(got) === JSON.stringify([...want].sort());
  }, names, { timeout: TIMEOUT }).catch(async (e) => {
    throw new Error(`roster ${JSON.stringify(await roster(page))}, wanted ${JSON.stringify(names)}: ${e.message}`);
  });
const me = (page) => page.textContent('#me');

async function setNick(page, nick) {
  await page.fill('#nick', nick);
  await page.click('#nick-set');
  await page.waitForFunction((n) => document.getElementById('me').textContent === n, nick,
    { timeout: TIMEOUT });
}

async function say(page, text) {
  await page.fill('#msg', text);
  await page.press('#msg', 'Enter');
  await waitLine(page, await me(page), text); // shown as our own line
}

// ---------- the tests ----------

async function twoPagesChat(context) {
  const a = await openPage(context, httpPage(STATIC_PORT), 'A');
  await waitState(a, 'open');
  const guestA = await me(a);
  assert(/^guest\d+$/.test(guestA), `A is ${guestA}`);
  await setNick(a, 'alice');

  const b = await openPage(context, httpPage(STATIC_PORT), 'B');
  await waitState(b, 'open');
  const guestB = await me(b);
  await waitLine(a, null, `${guestB} joined`);
  await setNick(b, 'bob');
  await waitLine(a, null, `${guestB} is now bob`);
  await waitRoster(a, ['alice', 'bob']);
  await waitRoster(b, ['alice', 'bob']);

  await say(b, 'hello alice, from bob');
  await waitLine(a, 'bob', 'hello alice, from bob');
  await say(a, 'hi bob ✓ <b>not bold</b>');
  await waitLine(b, 'alice', 'hi bob ✓ <b>not bold</b>');
  assert(!(await b.$('#log b')), 'message text is not parsed as HTML');

  // A third page opened straight from disk: Origin null, allowed by the config.
  const c = await openPage(context, filePage(), 'C (file://)');
  await waitState(c, 'open');
  await setNick(c, 'carol');
  await waitLine(a, null, 'is now carol');
  await waitRoster(c, ['alice', 'bob', 'carol']);
  await say(c, 'hello from file://');
  await waitLine(a, 'carol', 'hello from file://');
  await waitLine(b, 'carol', 'hello from file://');
  await say(a, 'welcome carol');
  await waitLine(c, 'alice', 'welcome carol');

  // A taken nickname is refused and the page says so.
  await c.fill('#nick', 'alice');
  await c.click('#nick-set');
  await c.waitForSelector('#nick-error:not([hidden])', { timeout: TIMEOUT });
  assert((await c.textContent('#nick-error')).includes('taken'), 'taken message');
  assert((await me(c)) === 'carol', 'still carol');

  // Leaving: the others see it.
  await b.close();
  await waitLine(a, null, 'bob left');
  await waitLine(c, null, 'bob left');
  await waitRoster(a, ['alice', 'carol']);
  await a.screenshot({ path: path.join(WORK, 'chat-alice.png') });
  await c.close();
  await waitLine(a, null, 'carol left');
  await a.close();
}

// One sample of the daemon's /metrics (labels included in `name`).
function metric(name) {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${ADMIN_PORT}/metrics`, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const line = body.split('\n').find((l) => l.startsWith(`${name} `));
        if (line) resolve(Number(line.split(' ').pop()));
        else reject(new Error(`no metric ${name}`));
      });
    }).on('error', reject);
  });
}

// Chromium offers permessage-deflate: the page's socket negotiates it without context takeover,
// and a long chat line goes compressed both ways (the daemon's /metrics count the compressed
// bytes it received and sent; the page cannot see RSV1).
async function compressedChat(context) {
  const a = await openPage(context, httpPage(STATIC_PORT), 'deflate');
  await waitState(a, 'open');
  const extensions = await a.evaluate((url) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => {
      resolve(ws.extensions);
      ws.close(1000);
    };
    ws.onerror = () => reject(new Error('the probe socket failed'));
  }), server);
  assert(
    extensions === 'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
    `negotiated "${extensions}"`,
  );
  const inBefore = await metric('ringsocket_deflate_in_bytes_total{stage="after"}');
  const outBefore = await metric('ringsocket_deflate_out_bytes_total{stage="after"}');
  // The chat app sends a line to everyone but its author: a second page receives it.
  const b = await openPage(context, httpPage(STATIC_PORT), 'deflate B');
  await waitState(b, 'open');
  const line = 'compressed hello, '.repeat(30).trim();
  await say(a, line);
  await waitLine(b, await me(a), line);
  const inAfter = await metric('ringsocket_deflate_in_bytes_total{stage="after"}');
  const outAfter = await metric('ringsocket_deflate_out_bytes_total{stage="after"}');
  assert(inAfter > inBefore, `no compressed bytes from Chromium (${inBefore} -> ${inAfter})`);
  assert(outAfter > outBefore, `no compressed bytes to Chromium (${outBefore} -> ${outAfter})`);
  await b.close();
  await a.close();
}

async function refusedOrigin(context) {
  // Same page, but served from an origin that is not in allowed_origins: the daemon answers
  // the upgrade with 403 and the page must say it cannot connect.
  const r = await openPage(context, httpPage(REFUSED_PORT), 'refused');
  await r.waitForSelector('#problem:not([hidden])', { timeout: TIMEOUT });
  const problem = await r.textContent('#problem');
  assert(/cannot connect/i.test(problem), `problem text: ${problem}`);
  assert(problem.includes(`http://127.0.0.1:${REFUSED_PORT}`), 'names the page origin');
  assert(problem.includes('allowed_origins'), 'points at allowed_origins');
  await waitState(r, 'refused');
  assert(/cannot connect/i.test(await r.textContent('#status')), 'status says cannot connect');
  assert(await r.isDisabled('#msg'), 'cannot type while not connected');
  await r.screenshot({ path: path.join(WORK, 'chat-refused.png') });
  await r.close();
}

// A members-only endpoint: refused without a token; the page given ?token= keeps it as a
// cookie, which Chromium sends with the upgrade, and the app names the member by it.
async function memberCookie(context) {
  const members = `ws://127.0.0.1:${WS_PORT}/members`;
  const none = await openPage(context, httpPage(STATIC_PORT, members), 'no token');
  await waitState(none, 'refused');
  await none.close();
  const page = await openPage(context, `${httpPage(STATIC_PORT, members)}&token=page-token`, 'member');
  await waitState(page, 'open');
  await page.waitForFunction(() => document.getElementById('me').textContent === 'pagemember',
    null, { timeout: TIMEOUT });
  const cookies = await context.cookies(`http://127.0.0.1:${STATIC_PORT}`);
  assert(cookies.some((c) => c.name === 'token' && c.value === 'page-token'), 'the page set the cookie');
  await page.close();
  // The other tests' pages connect as guests.
  await context.clearCookies();
}

async function reconnects(context) {
  const url = `ws://127.0.0.1:${RECONNECT_PORT}/chat`;
  let daemon = await startDaemon();
  const d = await openPage(context, httpPage(STATIC_PORT, url), 'D');
  await waitState(d, 'open');
  await setNick(d, 'dave');
  // SIGTERM: the daemon closes the page's connection with 1001 and exits.
  assert((await stopDaemon(daemon)) === 0, 'daemon exit status');
  await waitLine(d, null, 'Disconnected (1001');
  // While it is down, retries fail: the page says it cannot connect and keeps retrying.
  await waitState(d, 'refused');
  daemon = await startDaemon();
  await d.waitForFunction(() => document.getElementById('status').dataset.state === 'open',
    null, { timeout: 20000 });
  // The nickname is taken again after reconnecting.
  await d.waitForFunction(() => document.getElementById('me').textContent === 'dave', null,
    { timeout: TIMEOUT });
  await d.close();
  await stopDaemon(daemon);
}

// ---------- main ----------

const statics = [await serveStatic(STATIC_PORT), await serveStatic(REFUSED_PORT)];
const userDataDir = mkdtempSync(path.join(tmpdir(), 'ringsocket-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: FLAGS,
  timeout: 60000,
});
console.log(`chromium ${context.browser()?.version() ?? '(persistent context)'}, user data ${userDataDir}`);

let passed = 0;
let failed = 0;
for (const test of [twoPagesChat, compressedChat, refusedOrigin, memberCookie, reconnects]) {
  const start = Date.now();
  try {
    await test(context);
    passed++;
    console.log(`ok   ${test.name} (${((Date.now() - start) / 1000).toFixed(2)}s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${test.name}\n${e.stack}`);
  }
}
if (pageErrors.length) {
  failed++;
  console.log(`FAIL uncaught page errors:\n${pageErrors.join('\n')}`);
}
await context.close();
for (const s of statics) s.close();
rmSync(userDataDir, { recursive: true, force: true });
console.log(`chromium: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
