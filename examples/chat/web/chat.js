// A browser client for the RingSocket chat example (examples/chat; protocol in its README.md).
// No build step, no framework: open index.html from disk or from any static server.
// The server defaults to ws://localhost:8081/chat (examples/chat/ringsocket.json); override it
// with ?server=ws://host:port/path. ?token=… logs in as a member: the page keeps it as a
// cookie, which the browser sends with the upgrade request to the same host (the app's upgrade
// callback checks it and names the member; members-only endpoints refuse clients without one).
'use strict';

(function () {
  const DEFAULT_SERVER = 'ws://localhost:8081/chat';
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  // A connection that stayed open this long resets the backoff (one that the server closes
  // right after opening keeps backing off).
  const STABLE_MS = 5000;
  const MAX_LOG = 500;
  const NICK_MAX = 32;
  const MSG_MAX = 4096;

  const CLOSE_REASONS = {
    1000: 'closed normally',
    1001: 'the server is going away',
    1002: 'protocol error',
    1006: 'connection lost',
    1007: 'invalid UTF-8',
    1008: 'policy violation (too slow?)',
    1009: 'message too big',
    1011: 'server error (the app may have stopped)',
    4001: 'nickname rejected',
    4002: 'room name rejected',
    4900: 'a command had the wrong size',
    4901: 'a command had the wrong data kind',
    4902: 'unknown command',
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    status: $('status'), statusText: $('status-text'),
    problem: $('problem'), problemText: $('problem-text'), problemHint: $('problem-hint'),
    retry: $('retry'),
    log: $('log'), sendForm: $('send-form'), msg: $('msg'), send: $('send'),
    nickForm: $('nick-form'), nick: $('nick'), nickError: $('nick-error'), me: $('me'),
    roster: $('roster'), count: $('count'), server: $('server'),
  };

  const server = serverUrl();
  el.server.textContent = server;
  rememberToken();

  let ws = null;
  let attempt = 0;          // failed attempts since the last stable connection
  let retryTimer = null;
  let countdownTimer = null;
  let openedAt = 0;
  let me = null;            // our nickname as the server knows it
  let roster = new Set();
  let wantedNick = storedNick();

  // A ?token= in the page's URL becomes the `token` cookie (the page's host: a server on the
  // same host gets it with every upgrade; a page opened from disk has no host to keep it for).
  function rememberToken() {
    const token = new URLSearchParams(location.search).get('token');
    if (token) document.cookie = `token=${encodeURIComponent(token)}; path=/; SameSite=Lax`;
  }

  function serverUrl() {
    const param = new URLSearchParams(location.search).get('server');
    return param && /^wss?:\/\//i.test(param) ? param : DEFAULT_SERVER;
  }

  // ---------- protocol (see README.md) ----------

  // Parses one text message from the server.
  function parse(text) {
    if (text.startsWith('* ')) {
      const t = text.slice(2).split(' ');
      if (t.length === 3 && t[0] === 'you' && t[1] === 'are') return { type: 'welcome', nick: t[2] };
      if (t.length === 2 && t[1] === 'joined') return { type: 'join', nick: t[0] };
      if (t.length === 2 && t[1] === 'left') return { type: 'leave', nick: t[0] };
      if (t.length === 4 && t[1] === 'is' && t[2] === 'now') {
        return { type: 'rename', old: t[0], nick: t[3] };
      }
    }
    if (text.startsWith('!taken ')) return { type: 'taken', nick: text.slice(7) };
    if (text === '!here' || text.startsWith('!here ')) {
      return { type: 'here', nicks: text.slice(6).split(' ').filter(Boolean) };
    }
    // "<nick>: <text>"; nicknames hold no spaces, so the first ": " ends the nickname.
    const i = text.indexOf(': ');
    if (i > 0) return { type: 'message', from: text.slice(0, i), text: text.slice(i + 2) };
    return { type: 'unknown', text };
  }

  const utf8Length = (s) => new TextEncoder().encode(s).length;

  // The server's rule: 1 to 32 bytes of UTF-8, no whitespace or control characters.
  function nickProblem(name) {
    if (!name) return 'Enter a nickname.';
    if (/[\s\p{Cc}]/u.test(name)) return 'No spaces or control characters, please.';
    if (utf8Length(name) > NICK_MAX) return `At most ${NICK_MAX} bytes (UTF-8).`;
    return null;
  }

  // ---------- connection ----------

  function connect() {
    clearTimers();
    setState('connecting', `Connecting to ${server}…`);
    let socket;
    try {
      socket = new WebSocket(server);
    } catch (e) {
      // A malformed URL (or one the page may not open) throws synchronously.
      showProblem(`Cannot connect to ${server}: ${e.message}`, '');
      setState('refused', 'Cannot connect (bad server URL)');
      return;
    }
    ws = socket;
    let opened = false;

    socket.onopen = () => {
      opened = true;
      openedAt = Date.now();
      hideProblem();
      setState('open', 'Connected');
      setSendEnabled(true);
      note(`Connected to ${server}.`, 'conn');
    };

    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return; // the chat app sends text only
      handle(parse(event.data));
    };

    socket.onclose = (event) => {
      if (ws !== socket) return;
      ws = null;
      setSendEnabled(false);
      setMe(null);
      roster = new Set();
      renderRoster();
      if (opened && Date.now() - openedAt >= STABLE_MS) attempt = 0;
      const delay = backoff();
      if (!opened) {
        // Browsers do not tell a page why an upgrade failed: a refused origin (HTTP 403), a
        // wrong path (404) and a server that is not running all look the same.
        showProblem(
          `Cannot connect to ${server}: the server refused the connection or is not reachable.`,
          `If the server is running, check that this page's origin (${originLabel()}) is ` +
            'listed in the endpoint\'s "allowed_origins" in ringsocket.json, and that the ' +
            'URL (host, port and path) matches an endpoint. A members-only endpoint also ' +
            'refuses a page without a valid ?token=.');
        scheduleRetry(delay, 'refused', 'Cannot connect (refused or unreachable)');
      } else {
        const why = CLOSE_REASONS[event.code] || 'closed';
        const reason = event.reason ? `: ${event.reason}` : '';
        note(`Disconnected (${event.code} ${why}${reason}).`, 'conn');
        if (event.code === 4001) wantedNick = null; // do not send the rejected name again
        scheduleRetry(delay, 'retrying', `Disconnected (${event.code} ${why})`);
      }
    };
  }

  // Exponential backoff with jitter: 0.5 s, 1 s, 2 s, … up to 30 s, each 50–100 %.
  function backoff() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 16));
    attempt += 1;
    return Math.round(ceiling * (0.5 + Math.random() * 0.5));
  }

  function scheduleRetry(delay, state, text) {
    clearTimers();
    const due = Date.now() + delay;
    const tick = () => {
      const secs = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      setState(state, `${text} — retrying in ${secs} s`);
    };
    tick();
    countdownTimer = setInterval(tick, 250);
    retryTimer = setTimeout(connect, delay);
  }

  function clearTimers() {
    clearTimeout(retryTimer);
    clearInterval(countdownTimer);
    retryTimer = countdownTimer = null;
  }

  function send(text) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(text);
    return true;
  }

  // ---------- server messages ----------

  function handle(m) {
    switch (m.type) {
      case 'welcome':
        setMe(m.nick);
        roster.add(m.nick);
        renderRoster();
        note(`You are ${m.nick}.`);
        send('w');
        if (wantedNick && wantedNick !== m.nick) send('n' + wantedNick);
        break;
      case 'here':
        roster = new Set(m.nicks);
        renderRoster();
        break;
      case 'join':
        roster.add(m.nick);
        renderRoster();
        note(`${m.nick} joined`, 'join');
        break;
      case 'leave':
        roster.delete(m.nick);
        renderRoster();
        note(`${m.nick} left`, 'leave');
        break;
      case 'rename':
        roster.delete(m.old);
        roster.add(m.nick);
        if (m.old === me) {
          setMe(m.nick);
          wantedNick = m.nick;
          storeNick(m.nick);
          showNickError(null);
        }
        renderRoster();
        note(`${m.old} is now ${m.nick}`, 'rename');
        break;
      case 'taken':
        if (wantedNick === m.nick) wantedNick = null;
        showNickError(`"${m.nick}" is taken; pick another.`);
        el.nick.value = me || '';
        break;
      case 'message':
        line(m.from, m.text, m.from === me ? 'mine' : 'msg');
        break;
      default:
        note(m.text, 'other');
    }
  }

  // ---------- UI ----------

  function setState(state, text) {
    el.status.dataset.state = state;
    el.statusText.textContent = text;
  }

  function setSendEnabled(on) {
    el.msg.disabled = !on;
    el.send.disabled = !on;
  }

  function setMe(nick) {
    me = nick;
    el.me.textContent = nick || '—';
    if (nick && document.activeElement !== el.nick) el.nick.value = nick;
  }

  function showProblem(text, hint) {
    el.problemText.textContent = text;
    el.problemHint.textContent = hint;
    el.problem.hidden = false;
  }

  function hideProblem() {
    el.problem.hidden = true;
  }

  function showNickError(text) {
    el.nickError.textContent = text || '';
    el.nickError.hidden = !text;
  }

  function originLabel() {
    return location.origin === 'null' || location.protocol === 'file:'
      ? 'null, as for every page opened from disk'
      : location.origin;
  }

  function renderRoster() {
    const names = [...roster].sort();
    el.roster.replaceChildren(...names.map((name) => {
      const li = document.createElement('li');
      li.textContent = name;
      if (name === me) li.classList.add('me');
      return li;
    }));
    el.count.textContent = String(names.length);
  }

  function append(li) {
    const atBottom = el.log.scrollTop + el.log.clientHeight >= el.log.scrollHeight - 8;
    el.log.append(li);
    while (el.log.childElementCount > MAX_LOG) el.log.firstElementChild.remove();
    if (atBottom) el.log.scrollTop = el.log.scrollHeight;
  }

  function stamp() {
    const t = document.createElement('time');
    const now = new Date();
    t.dateTime = now.toISOString();
    t.textContent = now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return t;
  }

  // A chat line: "<from>: <text>".
  function line(from, text, kind) {
    const li = document.createElement('li');
    li.className = kind;
    const who = document.createElement('span');
    who.className = 'from';
    who.textContent = from;
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    li.append(stamp(), who, body);
    append(li);
  }

  // A notice: joins, leaves, renames, connection changes.
  function note(text, kind) {
    const li = document.createElement('li');
    li.className = 'notice ' + (kind || '');
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    li.append(stamp(), body);
    append(li);
  }

  function storedNick() {
    try { return sessionStorage.getItem('ringsocket-chat-nick'); } catch (e) { return null; }
  }

  function storeNick(nick) {
    try { sessionStorage.setItem('ringsocket-chat-nick', nick); } catch (e) { /* file:// may refuse */ }
  }

  el.nickForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = el.nick.value.trim();
    const problem = nickProblem(name);
    showNickError(problem);
    if (problem) return;
    wantedNick = name;
    if (name !== me) send('n' + name); // if offline, sent after the next connect
  });

  el.sendForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = el.msg.value.replace(/\0/g, '');
    if (!text.trim()) return;
    if (utf8Length(text) > MSG_MAX) {
      note(`Not sent: at most ${MSG_MAX} bytes per message.`, 'error');
      return;
    }
    if (send('m' + text)) {
      line(me || 'me', text, 'mine'); // the server does not echo our own messages
      el.msg.value = '';
    }
    el.msg.focus();
  });

  el.retry.addEventListener('click', () => {
    if (!ws) connect();
  });
  window.addEventListener('online', () => {
    if (!ws) connect();
  });

  if (wantedNick) el.nick.value = wantedNick;
  connect();
})();
