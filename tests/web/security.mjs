// Security in the browser: a script in a rating comment stays text, and a
// page of another origin cannot trade for the person signed in.
import http from 'node:http';
import {
  WAIT, assert, T, call, fill, goto, pageApi, request, seedTrades, session, sleep, waitText,
  wsUpgrade,
} from './lib.mjs';

const SERVICE = 'it.helpdesk.hour';
const XSS = '<img src=x onerror="window.imxXss=1"><script>window.imxXss=2</script>' +
  '<b id="imx-injected">bold</b> & "quotes" \'too\'';

// What a page must not have done with the comment.
async function noInjection(page) {
  const r = await page.evaluate(() => ({
    xss: typeof window.imxXss,
    injected: document.querySelectorAll('#imx-injected').length,
    img: document.querySelectorAll('img[src="x"]').length,
    scripts: [...document.scripts].filter((s) => s.textContent.includes('imxXss')).length,
  }));
  assert.deepEqual(r, { xss: 'undefined', injected: 0, img: 0, scripts: 0 });
}

// A server of another origin (another loopback port) with the forger's page.
async function forger(t, target) {
  const body = JSON.stringify({ service: SERVICE, side: 'bid', qty: 7, price: 9000, id: 'csrf' });
  // text/plain form encoding sends NAME=VALUE: the '=' lands inside the id.
  const name = body.slice(0, -2);
  const page = `<!doctype html><title>cheap hours</title>
<form method="POST" action="${target.url}/api/order.new" enctype="text/plain">
<input type="hidden" name='${name.replace(/'/g, '&#39;')}' value='1"}'>
<button id="go">win a prize</button></form>
<button id="fetch">fetch</button> <button id="ws">ws</button> <pre id="out"></pre>
<script>
document.getElementById('fetch').onclick = () => {
  fetch(${JSON.stringify(`${target.url}/api/order.new`)}, { method: 'POST', mode: 'no-cors',
    credentials: 'include', headers: { 'Content-Type': 'text/plain' },
    body: ${JSON.stringify(JSON.stringify({ service: SERVICE, side: 'bid', qty: 8, price: 9000, id: 'csrf2' }))} })
    .then(() => { document.getElementById('out').textContent = 'fetched'; },
          (e) => { document.getElementById('out').textContent = 'fetch failed ' + e; });
};
document.getElementById('ws').onclick = () => {
  const ws = new WebSocket(${JSON.stringify(`${target.url.replace(/^http/, 'ws')}/api/live`)});
  ws.onopen = () => { document.getElementById('out').textContent = 'ws open'; };
  ws.onerror = ws.onclose = () => {
    if (document.getElementById('out').textContent !== 'ws open')
      document.getElementById('out').textContent = 'ws refused';
  };
};
</script>`;
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise((resolve) => {
    srv.closeAllConnections?.();
    srv.close(() => resolve());
  });
  t.onClose(close);
  return { url: `http://127.0.0.1:${srv.address().port}`, close };
}

export const tests = [
  {
    name: 'XSS: a script in a rating comment is shown as text, nothing runs or is injected',
    async fn(t) {
      const server = await t.imxd();
      const seller = await session(server, 'demo-CC-4100');
      const buyer = await session(server, 'demo-CC-1100');
      const [trade] = await seedTrades(server, seller, buyer, SERVICE, [[8500, 2]]);

      // The headers that make injected markup inert even if it got in.
      const index = await request(server, 'GET', '/');
      assert.equal(index.status, 200);
      assert.equal(index.headers['content-security-policy'],
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
      assert.equal(index.headers['x-content-type-options'], 'nosniff');
      assert.equal(index.headers['referrer-policy'], 'no-referrer');

      const rater = await t.user(server, 'demo-CC-1100');
      const provider = await t.user(server, 'demo-CC-4100');
      await goto(provider, server, '#/ratings');
      await goto(rater, server, '#/ratings');
      const item = `${T('to-rate-item')}[data-trade="${trade.trade}"]`;
      await rater.waitForSelector(item, { visible: true });
      await rater.click(`${item} ${T('rating-stars-2')}`);
      await fill(rater, `${item} ${T('rating-comment')}`, XSS);
      const sent = rater.waitForResponse((r) => r.url().endsWith('/api/rating.new'));
      await rater.click(`${item} ${T('rating-submit')}`);
      const res = await sent;
      assert.equal(res.status(), 200, await res.text());
      assert.equal(JSON.parse(res.request().postData()).comment, XSS);

      // Shown as the text typed, live at the provider's and after a reload at the rater's.
      await waitText(provider, T('ratings-received'), XSS);
      await rater.reload({ waitUntil: 'load' });
      await waitText(rater, T('ratings-given'), XSS);
      await sleep(300);
      for (const p of [provider, rater]) await noInjection(p);
      // The marketplace and the book show the provider's rating, not the comment's markup.
      await goto(rater, server, `#/service/${SERVICE}`);
      await rater.waitForSelector(T('order-form'), { visible: true });
      await noInjection(rater);
      assert.ok(!t.consoleErrors.some((e) => e.startsWith('dialog')), t.consoleErrors.join('\n'));
      await t.shot(provider, 'ratings-xss.png');
    },
  },
  {
    name: 'CSRF: a page of another origin cannot order for the person signed in (403, nothing changed)',
    async fn(t) {
      const server = await t.imxd();
      const victim = await t.user(server, 'demo-CC-1100');
      const evil = await forger(t, server);

      // The forger's page opens in the victim's browser (same cookies). A
      // port is no part of a site: the SameSite=Strict cookie goes with it,
      // so only imxd's Origin check stands between.
      const tab = await victim.browserContext_.newPage();
      tab.setDefaultTimeout(WAIT);
      await tab.goto(`${evil.url}/`, { waitUntil: 'load' });

      // 1. A form posted across origins (the classic forgery).
      const posted = tab.waitForResponse((r) => r.url() === `${server.url}/api/order.new`);
      await tab.click('#go');
      const r1 = await posted;
      assert.equal(r1.status(), 403);
      assert.equal(r1.request().headers().origin || r1.request().headers().Origin, evil.url);
      const e1 = JSON.parse(await r1.text());
      assert.equal(e1.code, 'forbidden');
      assert.equal(e1.reason, 'cross_origin');

      // 2. fetch() across origins with the cookie.
      await tab.goto(`${evil.url}/`, { waitUntil: 'load' });
      const fetched = tab.waitForResponse((r) => r.url() === `${server.url}/api/order.new`);
      await tab.click('#fetch');
      assert.equal((await fetched).status(), 403);

      // 3. The live websocket across origins is refused at the upgrade.
      await tab.click('#ws');
      await tab.waitForFunction(() => document.getElementById('out').textContent.startsWith('ws '),
        { timeout: WAIT });
      assert.equal(await tab.$eval('#out', (e) => e.textContent), 'ws refused');
      await tab.close();
      // While from imxd's own page it opens: the refusal was the origin's.
      const ownWs = await victim.evaluate((wait) => new Promise((resolve) => {
        const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/api/live`);
        ws.onopen = () => { ws.close(); resolve('open'); };
        ws.onerror = () => resolve('refused');
        setTimeout(() => resolve('no answer'), wait);
      }), WAIT);
      assert.equal(ownWs, 'open');
      // The upgrade as imxd answers it: 403 for another origin (cookie or
      // not), 401 without a session, 101 for its own origin with one.
      const cookie = await session(server, 'demo-CC-1100');
      assert.equal(await wsUpgrade(server, { Cookie: cookie, Origin: evil.url }), 403);
      assert.equal(await wsUpgrade(server, { Cookie: cookie, Origin: 'null' }), 403);
      assert.equal(await wsUpgrade(server, { Origin: server.origin }), 401);
      assert.equal(await wsUpgrade(server, { Cookie: cookie, Origin: server.origin }), 101);

      // Nothing changed: no order, no bid in the book, the budget whole.
      const orders = await pageApi(victim, 'order.list', {});
      assert.equal(orders.status, 200);
      assert.deepEqual(orders.body.orders, []);
      const fin = await session(server, 'demo-CC-9000');
      const bal = await call(server, fin, 'balance.get', { cc: 'CC-1100' });
      assert.equal(bal.reserved, 0);
      assert.equal(bal.available, 6000000);
      // A forged Sec-Fetch-Site alone is refused too, and the same order from
      // imxd's own origin is taken: the refusals were the origin's.
      const sfs = await request(server, 'POST', '/api/order.new', {
        body: { service: SERVICE, side: 'bid', qty: 7, price: 9000, id: 'csrf3' },
        headers: { Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' },
      });
      assert.equal(sfs.status, 403, sfs.text);
      for (const origin of [evil.url, 'null', server.origin.replace('127.0.0.1', 'localhost')]) {
        const r = await request(server, 'POST', '/api/order.new', {
          body: { service: SERVICE, side: 'bid', qty: 7, price: 9000, id: 'csrf4' },
          headers: { Cookie: cookie, Origin: origin },
        });
        assert.equal(r.status, 403, `Origin ${origin}: ${r.text}`);
        assert.equal(r.json.reason, 'cross_origin');
      }
      const own = await pageApi(victim, 'order.new',
        { service: SERVICE, side: 'bid', qty: 7, price: 9000, id: 'own-1' });
      assert.equal(own.status, 200, JSON.stringify(own.body));
      assert.equal((await pageApi(victim, 'order.list', {})).body.orders.length, 1);
      await goto(victim, server, `#/service/${SERVICE}`);
      await waitText(victim, T('book-bids'), '90.00');
    },
  },
];
