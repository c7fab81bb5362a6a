// Trading in the browser: the marketplace, a service page's book, trades,
// chart and order form, live updates in two browser contexts, the engine's
// errors at the field, the keyboard, a phone.
import {
  WAIT, assert, T, call, goto, orderForm, pageApi, seedTrades, session, sleep, waitText, fill,
} from './lib.mjs';

const SERVICE = 'it.helpdesk.hour';
const SERVICE_PAGE = `#/service/${SERVICE}`;

// A history for the chart and the trades list: CC-4100 sold CC-1100 21
// hours for 1,787.00 (trades.list shows a cost centre its own trades only).
async function history(server) {
  const seller = await session(server, 'demo-CC-4100');
  const buyer = await session(server, 'demo-CC-1100');
  return seedTrades(server, seller, buyer, SERVICE,
    [[8200, 3], [8400, 5], [8300, 2], [8800, 4], [8600, 6], [8700, 1]]);
}

// Counts the requests a page makes to one API path.
function countCalls(page, type) {
  const n = { calls: 0 };
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === `/api/${type}`) n.calls++;
  });
  return n;
}

export const tests = [
  {
    name: 'marketplace: every service with its best offer and providers; search filters',
    async fn(t) {
      const server = await t.imxd();
      await history(server);
      const prov = await session(server, 'demo-CC-4100');
      await call(server, prov, 'order.new', { service: SERVICE, side: 'offer', qty: 10, price: 8900 });
      const page = await t.user(server, 'demo-CC-1300');
      await goto(page, server, '#/market');
      const names = ['IT helpdesk hour', 'Payroll run', 'Warehouse space', 'Truck with driver',
        'Translation page', 'Laboratory test'];
      for (const n of names) await waitText(page, T('services'), n);
      // The best offer and the last price of the helpdesk hour, its providers with site.
      await waitText(page, T('services'), '89.00');
      await waitText(page, T('services'), '87.00');
      await waitText(page, T('services'), 'IT Service Desk Hamburg');
      await waitText(page, T('services'), 'Leipzig');
      await t.shot(page, 'market.png');
      await fill(page, T('market-search'), 'payroll');
      await waitText(page, T('services'), (s) => s.includes('Payroll run') &&
        !s.includes('IT helpdesk hour') && !s.includes('Laboratory test'));
      // A service's page from the list.
      await fill(page, T('market-search'), 'helpdesk');
      await waitText(page, T('services'), (s) => !s.includes('Payroll run'));
      await page.click(`${T('service-card')}[data-service="${SERVICE}"] ${T('service-link')}`);
      await page.waitForSelector(T('order-form'), { visible: true });
      assert.match(page.url(), new RegExp(`#/service/${SERVICE.replace(/\./g, '\\.')}$`));
    },
  },
  {
    name: 'an offer and a bid in two browsers: the trade appears live in both without reloading',
    async fn(t) {
      const server = await t.imxd();
      await history(server);
      const provider = await t.user(server, 'demo-CC-4100');
      const receiver = await t.user(server, 'demo-CC-1100');
      for (const p of [provider, receiver]) {
        await goto(p, server, SERVICE_PAGE);
        await p.waitForSelector(T('order-form'), { visible: true });
        await waitText(p, T('trades'), '88.00'); // the history is shown
        // A mark that a reload would wipe out.
        await p.evaluate(() => { window.imxTestMark = 'not reloaded'; });
      }
      // What the form says is left: the receiver's budget, the provider's capacity.
      await waitText(receiver, T('budget-left'), '58,213.00');
      await waitText(provider, T('capacity-left'), /1,?179/);

      // The provider offers 40 hours at 85.00; the receiver sees it in the book.
      const offered = provider.waitForResponse((r) => r.url().endsWith('/api/order.new'));
      await orderForm(provider, { side: 'offer', qty: 40, price: '85.00' });
      const or = await offered;
      assert.equal(or.status(), 200, await or.text());
      const offer = JSON.parse(await or.text());
      assert.equal(offer.status, 'open');
      assert.deepEqual(JSON.parse(or.request().postData()).price, 8500);
      await waitText(receiver, T('book-offers'), (s) => s.includes('85.00') && s.includes('40'));
      await waitText(receiver, T('book-offers'), 'IT Service Desk Hamburg');

      // The receiver bids 25 at 90.00: a trade of 25 at the offer's 85.00.
      const bid = receiver.waitForResponse((r) => r.url().endsWith('/api/order.new'));
      await orderForm(receiver, { side: 'bid', qty: 25, price: '90.00' });
      const br = await bid;
      assert.equal(br.status(), 200, await br.text());
      const fill1 = JSON.parse(await br.text());
      assert.equal(fill1.status, 'filled');
      assert.equal(fill1.trades.length, 1);
      assert.equal(fill1.trades[0].price, 8500);
      assert.equal(fill1.trades[0].qty, 25);

      // Both pages show it without a reload: the trade's row (25 at 85.00),
      // and the book with 15 left.
      const row = `${T('trade-row')}[data-trade="${fill1.trades[0].trade}"]`;
      for (const p of [provider, receiver]) {
        await waitText(p, row, (s) => s.includes('85.00') && /\b25\b/.test(s));
        await waitText(p, T('book-offers'), (s) => s.includes('85.00') && /\b15\b/.test(s) &&
          !/\b40\b/.test(s));
        assert.equal(await p.evaluate(() => window.imxTestMark), 'not reloaded');
      }
      // What is left moved too: the buyer spent 25 x 85.00 = 2,125.00, the
      // seller has 1,179 - 40 hours left.
      await waitText(receiver, T('budget-left'), '56,088.00');
      await waitText(provider, T('capacity-left'), /1,?139/);
      // The chart draws the trades (SVG).
      const points = await receiver.$eval(T('price-chart'), (svg) => svg.querySelectorAll(
        'circle, polyline, path, line, rect').length);
      assert.ok(points > 0, 'the price chart is empty');
      // The provider's own orders: 15 open of 40.
      await goto(provider, server, '#/orders');
      await waitText(provider, T('orders-open'), (s) => s.includes('85.00') && s.includes('15'));
      // More of a book for the picture: Leipzig offers, Sales South bids.
      const c4200 = await session(server, 'demo-CC-4200');
      const c1200 = await session(server, 'demo-CC-1200');
      await call(server, c4200, 'order.new', { service: SERVICE, side: 'offer', qty: 30, price: 8900 });
      await call(server, c1200, 'order.new', { service: SERVICE, side: 'bid', qty: 12, price: 8000 });
      await call(server, c1200, 'order.new', { service: SERVICE, side: 'bid', qty: 8, price: 7800 });
      await goto(receiver, server, SERVICE_PAGE);
      await waitText(receiver, T('trades'), '85.00');
      await waitText(receiver, T('book-bids'), '78.00');
      await waitText(receiver, T('book-offers'), '89.00');
      await receiver.evaluate(() => document.activeElement && document.activeElement.blur());
      await t.shot(receiver, 'service.png', { fullPage: true });
    },
  },
  {
    name: 'a bad price shows the engine\'s error at the field: off the tick, over budget, too many decimals',
    async fn(t) {
      const server = await t.imxd();
      const page = await t.user(server, 'demo-CC-1500');
      await goto(page, server, SERVICE_PAGE);
      const calls = countCalls(page, 'order.new');

      // 85.50 is no multiple of the tick (1.00): the engine's bad_tick, at the price.
      const r1 = page.waitForResponse((r) => r.url().endsWith('/api/order.new'));
      await orderForm(page, { side: 'bid', qty: 1, price: '85.50' });
      const res1 = await r1;
      assert.equal(res1.status(), 400);
      const e1 = JSON.parse(await res1.text());
      assert.equal(e1.reason, 'bad_tick');
      assert.equal(e1.field, 'price');
      const shown = await waitText(page, T('field-error-price'), /tick/i);
      assert.ok(shown.includes(e1.message) || /tick/i.test(shown), shown);
      assert.equal(await page.$eval(T('order-price'), (e) => e.getAttribute('aria-invalid')), 'true');
      await t.shot(page, 'field-error-price.png');

      // 350 hours at 90.00 = 31,500.00 over Marketing's 30,000.00: insufficient_budget.
      const r2 = page.waitForResponse((r) => r.url().endsWith('/api/order.new'));
      await orderForm(page, { side: 'bid', qty: 350, price: '90.00' });
      const e2 = JSON.parse(await (await r2).text());
      assert.equal(e2.code, 'insufficient_budget');
      assert.equal(e2.field, 'price');
      const budgetText = await waitText(page, T('field-error-price'), (s) => s.includes('30,000.00') ||
        s.includes('30000.00'));
      // The page's sentence with the figure; the daemon's English message not beside it.
      assert.ok(!budgetText.includes(e2.message) && !budgetText.includes('('), budgetText);

      // Too many decimals never reaches the server: the page's money module says so.
      const before = calls.calls;
      await orderForm(page, { side: 'bid', qty: 1, price: '85.001' });
      await waitText(page, T('field-error-price'), (s) => s.trim() !== '' && !/budget/i.test(s));
      await sleep(300);
      assert.equal(calls.calls, before, 'a price with three decimals was sent');
      // Nothing was ordered by any of them.
      const open = await pageApi(page, 'order.list', {});
      assert.deepEqual(open.body.orders, []);
      // A good price clears the error.
      await orderForm(page, { side: 'bid', qty: 1, price: '85' });
      await page.waitForFunction((s) => {
        const e = document.querySelector(s);
        return !e || e.offsetParent === null || e.innerText.trim() === '';
      }, { timeout: WAIT }, T('field-error-price'));
      assert.equal((await pageApi(page, 'order.list', {})).body.orders.length, 1);
    },
  },
  {
    name: 'keyboard: tab to the order form, submit with Enter; the fields have labels',
    async fn(t) {
      const server = await t.imxd();
      const page = await t.user(server, 'demo-CC-1400');
      await goto(page, server, SERVICE_PAGE);
      await page.waitForSelector(T('order-form'), { visible: true });
      await page.evaluate(() => document.activeElement && document.activeElement.blur());
      const focusedIs = (name) => page.evaluate((n) =>
        document.activeElement?.getAttribute('data-test') === n, name);
      async function tabTo(name) {
        for (let i = 0; i < 80; i++) {
          if (await focusedIs(name)) return;
          await page.keyboard.press('Tab');
        }
        throw new Error(`80 presses of Tab never reached ${name}`);
      }
      await tabTo('order-qty');
      // The focus is visible where it is.
      const ring = await page.evaluate(() => {
        const s = getComputedStyle(document.activeElement);
        return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) ||
          s.boxShadow !== 'none';
      });
      assert.ok(ring, 'the focused quantity field shows no focus ring');
      await page.keyboard.type('3');
      await tabTo('order-price');
      await page.keyboard.type('84');
      const sent = page.waitForResponse((r) => r.url().endsWith('/api/order.new'));
      await page.keyboard.press('Enter');
      const res = await sent;
      assert.equal(res.status(), 200, await res.text());
      const body = JSON.parse(res.request().postData());
      assert.equal(body.qty, 3);
      assert.equal(body.price, 8400);
      assert.equal(body.side, 'bid'); // a receiver bids
      await waitText(page, T('book-bids'), '84.00');
      // Every field of the form has a label a screen reader reads.
      const unlabelled = await page.$$eval(`${T('order-form')} input, ${T('order-form')} select`,
        (els) => els.filter((e) => e.type !== 'hidden' && !(e.labels && e.labels.length) &&
          !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
          .map((e) => e.outerHTML));
      assert.deepEqual(unlabelled, []);
    },
  },
  {
    name: 'a phone: the marketplace and a service page fit 390 px without sideways scrolling',
    async fn(t) {
      const server = await t.imxd();
      await history(server);
      const page = await t.user(server, 'demo-CC-1100',
        { viewport: { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } });
      for (const [hash, file, sel] of [['#/market', 'phone-market.png', T('services')],
        [SERVICE_PAGE, 'phone-service.png', T('order-form')]]) {
        await goto(page, server, hash);
        await page.waitForSelector(sel, { visible: true });
        await sleep(300);
        const w = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth,
          win: window.innerWidth }));
        assert.ok(w.doc <= w.win + 1, `${hash} is ${w.doc} px wide in a ${w.win} px window`);
        await t.shot(page, file);
      }
      // The order form works there too (a tap, not a click).
      await page.tap(T('order-qty'));
      await orderForm(page, { side: 'bid', qty: 2, price: '80' });
      await waitText(page, T('book-bids'), '80.00');
    },
  },
];
