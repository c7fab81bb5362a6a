// lib.mjs -- what the browser tests share: a test's context (its imxd
// daemons, browser contexts and screenshots), signing in through the page,
// calls to the API from node for setting up a market, and bounded waits.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

export { assert };

// The selector of an element the pages mark for the tests (the list is in
// the comment at the top of web/app.js).
export const T = (name) => `[data-test="${name}"]`;

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const WAIT = 15000; // every wait for the page, in ms (a loaded CI machine, ASan)

// ------------------------------------------------------------ the context
export function makeContext({ browser, startImxd, shots, tmp, src, closers, name }) {
  const contexts = [];
  const pages = [];
  const ctx = {
    name, tmp, src, shots,
    daemons: [],
    consoleErrors: [],
    async imxd(opts) {
      const d = await startImxd(opts);
      ctx.daemons.push(d);
      return d;
    },
    // A fresh browser context (its own cookies and storage: another person)
    // with one page; lang sets navigator.language, viewport the window.
    // downloads: a folder the context's downloads go to.
    async page({ lang = 'en-US', viewport = { width: 1280, height: 900 }, downloads } = {}) {
      const bc = await browser.createBrowserContext(downloads
        ? { downloadBehavior: { policy: 'allow', downloadPath: downloads } } : {});
      contexts.push(bc);
      const page = await bc.newPage();
      pages.push(page);
      page.setDefaultTimeout(WAIT);
      page.setDefaultNavigationTimeout(WAIT);
      await page.setViewport(viewport);
      await page.evaluateOnNewDocument((l) => {
        Object.defineProperty(navigator, 'language', { get: () => l });
        Object.defineProperty(navigator, 'languages', { get: () => [l] });
      }, lang);
      await page.setExtraHTTPHeaders({ 'Accept-Language': lang });
      page.on('console', (m) => {
        if (m.type() === 'error') ctx.consoleErrors.push(`${m.text()}`);
      });
      page.on('pageerror', (e) => ctx.consoleErrors.push(`page error: ${e.message}`));
      page.on('dialog', (d) => {
        ctx.consoleErrors.push(`dialog: ${d.message()}`);
        d.dismiss().catch(() => {});
      });
      page.browserContext_ = bc;
      return page;
    },
    // A person signed in through the sign-in page: resolves to the page
    // showing the marketplace.
    async user(server, token, opts = {}) {
      const page = await ctx.page(opts);
      await signIn(page, server, token);
      return page;
    },
    // fullPage: the whole page, without the status line (a fixed toast
    // would float over the middle of a picture taller than the window).
    async shot(page, file, { fullPage = false } = {}) {
      const p = path.join(shots, file);
      const toast = (v) => page.evaluate((sel, v) => {
        const e = document.querySelector(sel);
        if (e) e.style.visibility = v;
      }, T('toast'), v);
      if (fullPage) await toast('hidden');
      await page.screenshot({ path: p, fullPage });
      if (fullPage) await toast('');
      return p;
    },
    async failureShots() {
      let i = 0;
      for (const p of pages) {
        if (p.isClosed()) continue;
        const f = `FAILED-${name.replace(/[^A-Za-z0-9]+/g, '-')}-${++i}.png`;
        await Promise.race([p.screenshot({ path: path.join(shots, f) }), sleep(5000)])
          .catch(() => {});
      }
    },
    async close() {
      for (const bc of contexts) await Promise.race([bc.close().catch(() => {}), sleep(5000)]);
      for (const d of ctx.daemons) await d.stop();
    },
    // Something to close when the test ends (a server of its own).
    onClose(fn) {
      closers.add(fn);
    },
  };
  return ctx;
}

// ---------------------------------------------------------------- pages
export async function goto(page, server, hash = '') {
  await page.goto(`${server.url}/${hash}`, { waitUntil: 'load' });
}

export async function signIn(page, server, token) {
  await goto(page, server, '#/signin');
  await page.waitForSelector(T('signin-token'), { visible: true });
  await page.type(T('signin-token'), token);
  await page.click(T('signin-submit'));
  await page.waitForSelector(T('signout'), { visible: true });
}

// Waits until the element's text passes test (a string it contains, a
// RegExp, or a function of the text); returns the text.
export async function waitText(page, selector, want, ms = WAIT) {
  const deadline = Date.now() + ms;
  let last = '(no element)';
  while (Date.now() < deadline) {
    last = await page.$eval(selector, (e) => e.innerText).catch(() => '(no element)');
    if (typeof want === 'string' ? last.includes(want)
      : want instanceof RegExp ? want.test(last) : want(last)) return last;
    await sleep(100);
  }
  throw new Error(`${selector} never showed ${want} within ${ms} ms; it shows:\n${last}`);
}

export async function text(page, selector) {
  return page.$eval(selector, (e) => e.innerText);
}

// Clicks what selector names, as page.click does; but a live update may
// redraw it between the finding and the click (it is then detached, or for
// a moment not there at all: "No element found for selector"): the click
// is tried again on the new one, a few times.
export async function click(page, selector, options = {}) {
  for (let attempt = 1; ; attempt++) {
    await page.waitForSelector(selector, { visible: true });
    try {
      await page.click(selector, options);
      return;
    } catch (e) {
      if (attempt >= 5 || !/detached|not clickable|no node|no element found/i.test(String(e && e.message))) throw e;
      await sleep(100);
    }
  }
}

// Sets a form field's value as a person would: focus, select all, type.
// Once the field has the focus, the pages redraw no form being typed in.
export async function fill(page, selector, value) {
  await click(page, selector, { clickCount: 3 });
  await page.$eval(selector, (e) => {
    if ('value' in e) e.value = '';
  });
  await page.type(selector, String(value));
}

// Chooses an option of a <select>, or clicks the button named NAME-VALUE
// (a side or a language may be either).
export async function choose(page, name, value) {
  const sel = await page.$(T(name));
  if (sel && (await sel.evaluate((e) => e.tagName)) === 'SELECT') {
    const got = await page.select(T(name), value);
    assert.deepEqual(got, [value], `${name} has no option ${value}`);
    return;
  }
  await page.click(T(`${name}-${value}`));
}

// The order form of a service page: side, quantity, price in major units as
// a person types it; submits and returns nothing (the caller waits for
// what should follow).
export async function orderForm(page, { side, qty, price, submit = true }) {
  await page.waitForSelector(T('order-form'), { visible: true });
  if (side && (await page.$(T('order-side')) || await page.$(T(`order-side-${side}`))))
    await choose(page, 'order-side', side);
  await fill(page, T('order-qty'), qty);
  if (price !== undefined) await fill(page, T('order-price'), price);
  if (submit) await page.click(T('order-submit'));
}

// The API from inside the page: the page's own origin and cookie, as the
// pages call it. Resolves to { status, body, headers }.
export async function pageApi(page, type, body = {}, method = 'POST') {
  return page.evaluate(async (type, body, method) => {
    const r = await fetch(`/api/${type}`, method === 'POST'
      ? { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }
      : { method });
    const t = await r.text();
    let j = null;
    try { j = JSON.parse(t); } catch { j = t; }
    return { status: r.status, body: j, headers: Object.fromEntries(r.headers.entries()) };
  }, type, body, method);
}

// ------------------------------------------------- the API from node
// One HTTP request to imxd; resolves to { status, headers, text, json }.
export function request(server, method, pathname, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null
      : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request({
      host: '127.0.0.1', port: server.port, path: pathname, method,
      headers: { ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
        ...headers },
      timeout: WAIT,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: no answer in ${WAIT} ms`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// Signs in from node: resolves to the cookie header value "imx_session=...".
export async function session(server, token) {
  const r = await request(server, 'POST', '/api/signin', { body: { token } });
  assert.equal(r.status, 200, `sign-in with ${token}: ${r.text}`);
  const c = [].concat(r.headers['set-cookie'] || []).find((s) => s.startsWith('imx_session='));
  assert.ok(c, `no imx_session cookie: ${JSON.stringify(r.headers)}`);
  return c.split(';')[0];
}

let ids = 0;
// A protocol call through the API with a node session; asserts 200 unless
// { expect } says otherwise; resolves to the reply.
export async function call(server, cookie, type, body = {}, { expect = 200 } = {}) {
  const b = { id: `t${process.pid}-${++ids}`, ...body };
  const r = await request(server, 'POST', `/api/${type}`, { body: b, headers: { Cookie: cookie } });
  assert.equal(r.status, expect, `${type} ${JSON.stringify(b)} -> ${r.status} ${r.text}`);
  return r.json;
}

// Trades on a continuous service from node: each [price, qty] an offer by
// the seller and a bid by the buyer at that price (prices in minor units);
// extra goes into both orders ({ aon: true } for an indivisible service).
export async function seedTrades(server, sellerCookie, buyerCookie, service, rows, extra = {}) {
  const trades = [];
  for (const [price, qty] of rows) {
    await call(server, sellerCookie, 'order.new', { service, side: 'offer', qty, price, ...extra });
    const r = await call(server, buyerCookie, 'order.new',
      { service, side: 'bid', qty, price, ...extra });
    assert.equal(r.status, 'filled', JSON.stringify(r));
    trades.push(...r.trades);
  }
  return trades;
}

// A websocket upgrade of /api/live from node with these headers; resolves
// to the HTTP status imxd answered (101: upgraded).
export function wsUpgrade(server, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: server.port, path: '/api/live', method: 'GET', timeout: WAIT,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('timeout', () => req.destroy(new Error(`no answer to the upgrade in ${WAIT} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export function readFileOrNull(p) {
  try { return fs.readFileSync(p, 'utf8'); } catch { return null; }
}

// Waits (bounded) for a file to appear in dir whose name passes test and
// whose size stops growing (Chromium writes downloads as .crdownload first).
export async function waitDownload(dir, test, ms = WAIT) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const f = (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
      .find((n) => !n.endsWith('.crdownload') && test(n));
    if (f) return path.join(dir, f);
    await sleep(100);
  }
  const have = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  throw new Error(`no download in ${ms} ms (the folder has: ${have.join(', ') || 'nothing'})`);
}

// Minor units from a major-unit text as the exports write it ("1234.50").
export function cents(s, decimals = 2) {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  assert.ok(m, `not an amount: ${s}`);
  const frac = (m[3] || '').padEnd(decimals, '0');
  assert.equal(frac.length, decimals, `too many decimals: ${s}`);
  const v = BigInt(m[2]) * 10n ** BigInt(decimals) + BigInt(frac || '0');
  return m[1] ? -v : v;
}
