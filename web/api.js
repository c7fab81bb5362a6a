/*
** api.js -- the pages' only way to imxd: one POST /api/<type> per protocol
** request (docs/protocol.md; the web contract in the README's "The web
** front"), the session calls, and the one websocket (/api/live) with its
** reconnect.
**
** A request that changes the market carries an `id` made here, once per
** form submission (the caller keeps it for a retry, so a retry is
** idempotent). A reply is returned as it came; an error reply is thrown as
** an ApiError carrying the protocol's code, field, reason and message, and
** the HTTP status. A 401 on any call means the session ended: the
** listeners registered with onSignedOut hear of it once per call.
*/

/* Requests that change the market and so need an id of their own. */
const CHANGES = new Set([
  'order.new', 'order.cancel', 'order.modify', 'tender.new', 'tender.quote',
  'tender.award', 'tender.cancel', 'quote.withdraw', 'auction.run',
  'period.close', 'rating.new', 'rating.reply',
]);

export class ApiError extends Error {
  constructor(status, reply) {
    super(reply && reply.message ? reply.message : `HTTP ${status}`);
    this.status = status;
    this.code = (reply && reply.code) || (status === 0 ? 'network' : 'internal');
    this.field = (reply && reply.field) || '';
    this.reason = (reply && reply.reason) || '';
    this.reply = reply || null;
  }
}

/* 32 hex digits from the browser's random source (crypto.randomUUID needs a
** secure context; getRandomValues does not). */
export function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const signedOutListeners = new Set();
export function onSignedOut(fn) {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}

/* One request to imxd: the reply, null for a 401 when allowUnauthorized,
** or throws ApiError (status 0: no answer at all). The body is read in
** every case: an unread one keeps the request open. */
async function request(path, init, allowUnauthorized = false) {
  let res;
  try {
    res = await fetch(path, { credentials: 'same-origin', ...init });
  } catch (e) {
    throw new ApiError(0, null);
  }
  let reply = null;
  try {
    reply = await res.json();
  } catch (e) {
    reply = null;
  }
  if (allowUnauthorized && res.status === 401) return null;
  if (!res.ok || !reply || reply.type === 'error') throw new ApiError(res.status, reply);
  return reply;
}

function post(path, body) {
  return request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/* call('order.new', {...}) -> the `.ok` reply, or throws ApiError. */
export async function call(type, fields = {}) {
  const body = { ...fields };
  if (CHANGES.has(type) && !body.id) body.id = newId();
  try {
    return await post(`/api/${type}`, body);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signedOutListeners.forEach((fn) => fn());
    throw e;
  }
}

/* Every reply of a request that pages with `start`/`next`, pages of
** 1,000, at most pagesMax of them. */
export async function callPages(type, fields = {}, pagesMax = 20) {
  const replies = [];
  let start;
  for (let i = 0; i < pagesMax; i++) {
    const reply = await call(type, start ? { ...fields, start, limit: 1000 } : { ...fields, limit: 1000 });
    replies.push(reply);
    if (!reply.next) break;
    start = reply.next;
  }
  return replies;
}

/* All rows (the list `key`) of a listing request that pages. */
export async function callAll(type, key, fields = {}, pagesMax = 20) {
  const replies = await callPages(type, fields, pagesMax);
  return replies.flatMap((reply) => reply[key] || []);
}

/*
** A download (GET /api/export, /api/statement.csv) fetched first, so that a
** refusal (an export of an open period, a role) is shown on the page as an
** ApiError instead of saved as a file; then saved under the server's
** filename (Content-Disposition).
*/
export async function download(href) {
  let res;
  try {
    res = await fetch(href, { credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, null);
  }
  if (!res.ok) {
    let reply = null;
    try {
      reply = await res.json();
    } catch (e) {
      reply = null;
    }
    if (res.status === 401) signedOutListeners.forEach((fn) => fn());
    throw new ApiError(res.status, reply);
  }
  const blob = await res.blob();
  const m = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = m ? m[1] : 'imx-download';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return a.download;
}

export async function signIn(cc, token) {
  const body = { token };
  if (cc) body.cc = cc;
  return post('/api/signin', body);
}

export async function signOut() {
  return post('/api/signout', {});
}

/* The session, or null when there is none (401). */
export function session() {
  return request('/api/session', {}, true);
}

/*
** Live: one websocket for the page. Listeners subscribe by event type ('*'
** for all); 'live.state' tells 'open' / 'closed' and, after a reconnect,
** 'reopened' (a page re-reads then: events may have been missed). The
** reconnect waits 1, 2, 4, ... up to 30 s, and starts again from 1 s once
** a connection stayed up.
*/
const RECONNECT_MS_MIN = 1000;
const RECONNECT_MS_MAX = 30000;

class Live {
  constructor() {
    this.listeners = new Map();
    this.ws = null;
    this.wanted = false;
    this.delay = RECONNECT_MS_MIN;
    this.timer = null;
    this.everOpened = false;
    this.state = 'closed';
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, event) {
    for (const key of [type, '*']) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const fn of Array.from(set)) {
        try {
          fn(event);
        } catch (e) {
          console.error('live listener', e);
        }
      }
    }
  }

  setState(state) {
    this.state = state;
    this.emit('live.state', { type: 'live.state', state });
  }

  start() {
    this.wanted = true;
    if (!this.ws && !this.timer) this.connect();
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.everOpened = false;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
    this.setState('closed');
  }

  connect() {
    this.timer = null;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/api/live`);
    } catch (e) {
      this.retry();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      opened = true;
      this.delay = RECONNECT_MS_MIN;
      this.setState(this.everOpened ? 'reopened' : 'open');
      this.everOpened = true;
    });
    ws.addEventListener('message', (m) => {
      let event;
      try {
        event = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      if (event && typeof event.type === 'string') this.emit(event.type, event);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setState('closed');
      if (!opened) {
        /* Refused at the upgrade: maybe the session is gone. */
        session().then((s) => {
          if (!s) signedOutListeners.forEach((fn) => fn());
        }).catch(() => {});
      }
      this.retry();
    });
  }

  retry() {
    if (!this.wanted) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, RECONNECT_MS_MAX);
    this.timer = setTimeout(() => this.connect(), wait);
  }
}

export const live = new Live();
