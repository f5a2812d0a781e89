// Interop: the Node `ws` client against the real `ringsocket` daemon (started by run.sh, which
// passes RS_WS_PORT, RS_WSS_PORT, RS_CA, RS_MAX_MSG and RS_ALLOWED_ORIGIN).
//
// Every test runs over ws://127.0.0.1, wss://127.0.0.1 (Node sends no SNI to an IP address, so
// the daemon must pick its default certificate) and wss://localhost (SNI "localhost").
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import WebSocket from 'ws';

const require = createRequire(import.meta.url);
const WS_PORT = Number(process.env.RS_WS_PORT);
const WSS_PORT = Number(process.env.RS_WSS_PORT);
const CA = readFileSync(process.env.RS_CA);
const MAX = Number(process.env.RS_MAX_MSG || 65536);
const ALLOWED_ORIGIN = process.env.RS_ALLOWED_ORIGIN;
const TIMEOUT = 5000;

const TRANSPORTS = [
  { name: 'ws', base: `ws://127.0.0.1:${WS_PORT}`, cn: null },
  { name: 'wss-ip-no-sni', base: `wss://127.0.0.1:${WSS_PORT}`, cn: 'default 127.0.0.1' },
  { name: 'wss-localhost-sni', base: `wss://localhost:${WSS_PORT}`, cn: 'localhost' },
];

// "localhost" always to 127.0.0.1 (the daemon listens there only; it may resolve to ::1 first).
function lookup(hostname, options, callback) {
  if (options && options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}

class Conn {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.closed = null;
    this.pings = [];
    ws.on('message', (data, isBinary) => this.push({ data, isBinary }));
    ws.on('ping', (data) => this.pings.push(data));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.push(null);
    });
    ws.on('error', () => {});
  }

  push(item) {
    const w = this.waiters.shift();
    if (w) w(item);
    else this.queue.push(item);
  }

  next(timeout = TIMEOUT) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nothing received in ${timeout} ms`)), timeout);
      this.waiters.push((item) => {
        clearTimeout(timer);
        resolve(item);
      });
    });
  }

  async recv() {
    const m = await this.next();
    if (m === null) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) instead of a message`);
    return m;
  }

  async text() {
    const m = await this.recv();
    assert(!m.isBinary, 'expected text, got binary');
    return m.data.toString('utf8');
  }

  async binary() {
    const m = await this.recv();
    assert(m.isBinary, 'expected binary, got text');
    return m.data;
  }

  // Waits for the server's close; returns { code, reason } as the client saw them.
  async closeFromServer(code) {
    for (;;) {
      const m = await this.next();
      if (m === null) break;
    }
    assert(this.closed.code === code, `closed with ${this.closed.code} "${this.closed.reason}", wanted ${code}`);
    return this.closed;
  }

  // Client-initiated close; resolves with what the server answered.
  async close(code, reason) {
    this.ws.close(code, reason);
    return this.closeFromServer(code);
  }

  send(data, options = {}) {
    return new Promise((resolve, reject) => this.ws.send(data, options, (e) => (e ? reject(e) : resolve())));
  }
}

function open(base, path, { protocols = [], ...options } = {}) {
  const url = base + path;
  const ws = new WebSocket(url, protocols, {
    ca: CA,
    lookup,
    handshakeTimeout: TIMEOUT,
    maxPayload: 4 * MAX,
    ...options,
  });
  return new Promise((resolve, reject) => {
    const conn = new Conn(ws);
    ws.once('open', () => resolve(conn));
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      const e = new Error(`HTTP ${res.statusCode}`);
      e.status = res.statusCode;
      reject(e);
    });
    ws.once('error', reject);
  });
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------- tests ----------

async function tlsCertificate({ base, cn }) {
  const c = await open(base, '/echo');
  if (cn) {
    const cert = c.ws._socket.getPeerCertificate();
    assert(cert.subject.CN === cn, `certificate CN ${cert.subject.CN}, wanted ${cn}`);
  }
  await c.close(1000, '');
}

async function echoTextAndBinary({ base }) {
  const c = await open(base, '/echo');
  for (const t of ['hello', 'héllo wörld ✓ 笑', '', 'y'.repeat(5000)]) {
    await c.send(t);
    assert((await c.text()) === t, `text echo of ${t.slice(0, 20)}`);
  }
  for (const b of [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), Buffer.alloc(3000, 0xab)]) {
    await c.send(b, { binary: true });
    assert((await c.binary()).equals(b), 'binary echo');
  }
  await c.close(1000, 'done');
}

async function echoFragmented({ base }) {
  const c = await open(base, '/echo');
  // A UTF-8 character split across frames, and a ping between the fragments (control frames
  // may be interleaved with a fragmented message).
  const bytes = Buffer.from('fragmented héllo ✓', 'utf8');
  const cut = bytes.indexOf(0xc3) + 1; // inside "é"
  await c.send(bytes.subarray(0, cut), { binary: false, fin: false });
  c.ws.ping(Buffer.from('between'));
  await c.send(bytes.subarray(cut, cut + 3), { binary: false, fin: false });
  await c.send(bytes.subarray(cut + 3), { binary: false, fin: true });
  assert((await c.text()) === 'fragmented héllo ✓', 'fragmented text');
  const parts = [Buffer.alloc(1000, 1), Buffer.alloc(0), Buffer.alloc(2000, 2), Buffer.alloc(1, 3)];
  for (let i = 0; i < parts.length; i++) {
    await c.send(parts[i], { binary: true, fin: i === parts.length - 1 });
  }
  assert((await c.binary()).equals(Buffer.concat(parts)), 'fragmented binary');
  await c.close(1000, '');
}

async function nearMaxMsgSize({ base }) {
  const c = await open(base, '/echo');
  const whole = Buffer.alloc(MAX);
  for (let i = 0; i < MAX; i++) whole[i] = (i * 7) & 0xff;
  await c.send(whole, { binary: true });
  assert((await c.binary()).equals(whole), 'binary of exactly max_ws_msg_size');
  const text = '✓'.repeat(Math.floor(MAX / 3)) + 'a'.repeat(MAX % 3); // exactly MAX bytes
  await c.send(text);
  assert((await c.text()) === text, 'text of exactly max_ws_msg_size');
  for (let off = 0; off < MAX; off += 8192) {
    await c.send(whole.subarray(off, off + 8192), { binary: true, fin: off + 8192 >= MAX });
  }
  assert((await c.binary()).equals(whole), 'fragmented, exactly max_ws_msg_size');
  await c.close(1000, '');
}

async function overMaxMsgSize1009({ base }) {
  // The daemon may close as soon as the frame header (or the fragments' running total)
  // exceeds the limit, while we are still sending: send errors after that are expected.
  let c = await open(base, '/echo');
  await c.send(Buffer.alloc(MAX + 1, 1), { binary: true }).catch(() => {});
  await c.closeFromServer(1009);
  c = await open(base, '/echo');
  for (let off = 0; off <= MAX && c.closed === null; off += 4096) {
    await c.send(Buffer.alloc(4096, 2), { binary: true, fin: off + 4096 > MAX }).catch(() => {});
  }
  await c.closeFromServer(1009);
}

async function invalidUtf8Closes1007({ base }) {
  const c = await open(base, '/echo');
  await c.send(Buffer.from([0x61, 0xff, 0x62]), { binary: false });
  await c.closeFromServer(1007);
}

async function pingPong({ base }) {
  const c = await open(base, '/echo');
  for (const payload of [Buffer.alloc(0), Buffer.from('node ping ✓'), Buffer.alloc(125, 9)]) {
    const pong = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no pong')), TIMEOUT);
      c.ws.once('pong', (data) => {
        clearTimeout(timer);
        resolve(data);
      });
    });
    c.ws.ping(payload);
    assert((await pong).equals(payload), 'pong carries the ping payload');
  }
  await c.close(1000, '');
}

async function serverPings({ base }) {
  // The generated config has ping_interval 2 s: a silent client is pinged (ws answers the
  // pong itself) and stays connected.
  const c = await open(base, '/echo');
  const deadline = Date.now() + 6000;
  while (!c.pings.length && Date.now() < deadline) await sleep(100);
  assert(c.pings.length > 0, 'no ping from the server within 6 s of silence');
  await c.send('alive');
  assert((await c.text()) === 'alive', 'still connected after the ping');
  await c.close(1000, '');
}

async function clientCloseCodesAndReasons({ base }) {
  for (const [code, reason] of [[1000, 'bye'], [4000, 'node says bye ✓'], [3999, '']]) {
    const c = await open(base, '/echo');
    await c.send('x');
    await c.text();
    const answer = await c.close(code, reason);
    assert(answer.code === code, `server answered ${answer.code}`);
  }
}

// The next chat message, skipping notices about other tests' clients.
async function chatText(c, ...nicks) {
  for (;;) {
    const t = await c.text();
    if (t.startsWith('* ') && !t.startsWith('* you are ')) {
      const words = t.slice(2).split(' ');
      if (!nicks.some((n) => words.includes(n))) continue;
    }
    return t;
  }
}

async function chat({ base, name }) {
  const nick = `node-${name}`.slice(0, 32);
  const a = await open(base, '/chat');
  const guestA = (await a.text()).split(' ').pop();
  const b = await open(base, '/chat');
  const guestB = (await b.text()).split(' ').pop();
  const ours = [guestA, guestB, nick];
  assert((await chatText(a, guestB)) === `* ${guestB} joined`, 'join notice');
  await a.send('n' + nick);
  assert((await chatText(a, ...ours)) === `* ${guestA} is now ${nick}`, 'rename notice (self)');
  assert((await chatText(b, ...ours)) === `* ${guestA} is now ${nick}`, 'rename notice (other)');
  await b.send('w');
  const here = (await chatText(b, ...ours)).split(' ');
  assert(here[0] === '!here' && here.includes(nick) && here.includes(guestB), `who: ${here}`);
  await b.send('n' + nick);
  assert((await chatText(b, ...ours)) === `!taken ${nick}`, 'taken');
  await b.send('mhello from node ✓');
  assert((await chatText(a, ...ours)) === `${guestB}: hello from node ✓`, 'message');
  await a.send(Buffer.from('mfrag'), { binary: false, fin: false });
  await a.send(Buffer.from('mented'), { binary: false, fin: true });
  assert((await chatText(b, ...ours)) === `${nick}: fragmented`, 'fragmented message');
  await b.close(4000, 'leaving');
  assert((await chatText(a, ...ours)) === `* ${guestB} left`, 'leave notice');
  await a.close(1000, '');
}

async function chatAppCloseCodes({ base }) {
  const cases = [
    ['nbad name', 4001, false], // the app's own code: a nickname with a space
    ['', 4900, false], // RingSocket's validation: empty (no command byte)
    ['m', 4900, false], // wrong size
    ['mbinary', 4901, true], // wrong data kind
    ['?', 4902, false], // unknown command
  ];
  for (const [msg, code, binary] of cases) {
    const c = await open(base, '/chat');
    await c.text();
    await c.send(Buffer.from(msg), { binary });
    await c.closeFromServer(code);
  }
}

async function sillyCalc({ base }) {
  const req = (i32, u16s) => {
    const b = Buffer.alloc(4 + 2 * u16s.length);
    b.writeInt32BE(i32, 0);
    u16s.forEach((x, i) => b.writeUInt16BE(x, 4 + 2 * i));
    return b;
  };
  const a = await open(base, '/calc');
  await a.send(req(0, [0]), { binary: true });
  assert((await a.text()) === '笑笑?', 'reply to the caller');
  const b = await open(base, '/calc');
  await b.send(req(0, [0]), { binary: true });
  assert((await b.text()) === '笑笑?', 'reply to the caller');
  assert((await a.binary()).readBigInt64BE(0) === 0n, 'a gets b\'s sum');
  await a.send(req(-100000, [1, 2, 65535, 10, 10, 10, 10, 10, 10, 10]), { binary: true });
  assert((await a.text()) === '笑笑?', 'reply');
  assert((await b.binary()).readBigInt64BE(0) === BigInt(-100000 + 1 + 2 + 65535 + 70), 'sum');
  await a.close(1000, '');
  await b.close(1000, '');
  for (const [msg, binary, code] of [[Buffer.from([0, 0, 0, 1]), true, 4900], [Buffer.from('1234ab'), false, 4901]]) {
    const c = await open(base, '/calc');
    await c.send(msg, { binary });
    await c.closeFromServer(code);
  }
}

async function originAndPath({ base }) {
  let status = null;
  await open(base, '/chat', { origin: 'http://not-allowed.example' }).catch((e) => (status = e.status));
  assert(status === 403, `disallowed origin: ${status}`);
  for (const origin of [ALLOWED_ORIGIN, 'null']) {
    const c = await open(base, '/chat', { origin });
    await c.text();
    await c.close(1000, '');
  }
  status = null;
  await open(base, '/nope').catch((e) => (status = e.status));
  assert(status === 404, `unknown path: ${status}`);
}

const statusOf = (base, path, options) =>
  open(base, path, options).then((c) => { c.ws.terminate(); return 101; }, (e) => e.status);

// The chat example's upgrade callback: /members needs a token (query or cookie); the token
// names the member. The C example's (examples/auth_c) also picks the subprotocol.
async function upgradeHooks({ base }) {
  assert((await statusOf(base, '/members')) === 401, 'no token');
  assert((await statusOf(base, '/members', { headers: { Cookie: 'token=forged' } })) === 403, 'forged');
  const m = await open(base, '/members', { headers: { Cookie: 'a=1; token=node-token' } });
  assert((await m.text()) === '* you are member2', 'the token names the member');
  await m.close(1000, '');
  const q = await open(base, '/members?token=node-token');
  assert((await q.text()) === '* you are member2', 'by query too');
  await q.close(1000, '');
  assert((await statusOf(base, '/auth?token=nope')) === 403, 'C app: unknown token');
  const c = await open(base, '/auth?token=c-token', { protocols: ['echo.v1'] });
  assert(c.ws.protocol === 'echo.v1', `subprotocol "${c.ws.protocol}"`);
  await c.send('hey');
  assert((await c.text()) === 'cuser: hey', 'the C app names its user');
  await c.close(1000, '');
}

// ws offers permessage-deflate by default: the daemon accepts it without context takeover
// either way, and compressed frames (RSV1) flow in both directions: ws inflates what arrives
// with RSV1 and compresses what it sends from 1 KiB on.
async function permessageDeflate({ base }) {
  const c = await open(base, '/echo');
  assert(c.ws.extensions === 'permessage-deflate', `negotiated "${c.ws.extensions}"`);
  const pmd = c.ws._extensions['permessage-deflate'];
  assert(
    pmd.params.server_no_context_takeover && pmd.params.client_no_context_takeover,
    `parameters ${JSON.stringify(pmd.params)}`,
  );
  const seen = { in: 0, out: 0 };
  const { compress, decompress } = pmd;
  pmd.decompress = (...args) => {
    seen.in++;
    return decompress.apply(pmd, args);
  };
  pmd.compress = (...args) => {
    seen.out++;
    return compress.apply(pmd, args);
  };
  const message = '{"user":"bob","room":"general","text":"hello everyone"},'.repeat(40);
  await c.send(message);
  assert((await c.text()) === message, 'compressed echo');
  // Below both sides' thresholds: plain.
  await c.send('short');
  assert((await c.text()) === 'short', 'short echo');
  assert(seen.out === 1 && seen.in === 1, `compressed frames out/in: ${seen.out}/${seen.in}`);
  await c.close(1000, '');

  // The chat app's broadcast arrives compressed too.
  const a = await open(base, '/chat');
  const guestA = (await a.text()).split(' ').pop();
  const b = await open(base, '/chat');
  const guestB = (await b.text()).split(' ').pop();
  assert((await chatText(a, guestB)) === `* ${guestB} joined`, 'join notice');
  const chatPmd = a.ws._extensions['permessage-deflate'];
  let inflated = 0;
  const chatDecompress = chatPmd.decompress;
  chatPmd.decompress = (...args) => {
    inflated++;
    return chatDecompress.apply(chatPmd, args);
  };
  const text = 'compressed hello from node, '.repeat(10);
  await b.send('m' + text);
  assert((await chatText(a, guestA, guestB)) === `${guestB}: ${text}`, 'chat line');
  assert(inflated === 1, `compressed chat lines: ${inflated}`);
  await b.close(1000, '');
  await a.close(1000, '');
}

const TESTS = [
  tlsCertificate, echoTextAndBinary, echoFragmented, nearMaxMsgSize, overMaxMsgSize1009,
  invalidUtf8Closes1007, pingPong, clientCloseCodesAndReasons, chat, chatAppCloseCodes,
  sillyCalc, originAndPath, permessageDeflate, upgradeHooks,
];

const wsVersion = require('ws/package.json').version;
console.log(`node ${process.version}, ws ${wsVersion}`);
let passed = 0;
let failed = 0;
const run = async (label, fn) => {
  const start = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${label} (${((Date.now() - start) / 1000).toFixed(2)}s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${label}\n${e.stack}`);
  }
};
for (const t of TRANSPORTS) {
  for (const test of TESTS) await run(`${t.name}: ${test.name}`, () => test(t));
}
await run('ws: serverPings', () => serverPings(TRANSPORTS[0]));
console.log(`node ws: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
