// Market operations: running the call of an auction service from the admin
// page and from the service page's admin section (one form, auctionRunForm),
// a bad reference price at its field, the result in euros in English and
// German; and what the call leaves on a receiver's orders page.
import { assert, T, call, choose, fill, goto, session, waitText } from './lib.mjs';

const TRUCK = 'truck.day'; // auction, tick 5.00, cap 2,000.00
const nb = (s) => s.replace(/[\u00a0\u202f]/g, ' ');

// A crossing book: Logistics Leipzig offers 3 truck-days at 400.00, Sales
// North bids 2 at 450.00 and 1 at 380.00 (below the offer: stays open).
async function truckBook(server) {
  const prov = await session(server, 'demo-CC-6100');
  const buyer = await session(server, 'demo-CC-1100');
  await call(server, prov, 'order.new', { service: TRUCK, side: 'offer', qty: 3, price: 40000 });
  await call(server, buyer, 'order.new', { service: TRUCK, side: 'bid', qty: 2, price: 45000 });
  await call(server, buyer, 'order.new', { service: TRUCK, side: 'bid', qty: 1, price: 38000 });
}

const row = (service) => `${T('auction-row')}[data-service="${service}"]`;

export const tests = [
  {
    name: 'admin page: a call run with a reference, a bad reference shown at its field, the result in euros',
    async fn(t) {
      const server = await t.imxd();
      await truckBook(server);
      const page = await t.user(server, 'demo-CC-9900');
      await goto(page, server, '#/admin');
      await waitText(page, T('auctions'), (s) => s.includes('Truck with driver') && s.includes('450.00'));

      // Three decimals: refused in the page, at the reference field, nothing sent.
      let sent = 0;
      page.on('request', (r) => { if (r.url().endsWith('/api/auction.run')) sent++; });
      await fill(page, `${row(TRUCK)} ${T('auction-reference')}`, '420.005');
      await page.click(`${row(TRUCK)} ${T('auction-run')}`);
      const err = await waitText(page, `${row(TRUCK)} ${T('field-error-reference')}`, (s) => s.trim() !== '');
      assert.match(err, /decimal/i);
      assert.equal(sent, 0, 'a reference with three decimals was sent');
      assert.equal(await page.$eval(`${row(TRUCK)} ${T('auction-reference')}`,
        (e) => e.getAttribute('aria-invalid')), 'true');
      // Off the tick (5.00): the engine's bad_tick, also at the field.
      await fill(page, `${row(TRUCK)} ${T('auction-reference')}`, '421.00');
      const r1 = page.waitForResponse((r) => r.url().endsWith('/api/auction.run'));
      await page.click(`${row(TRUCK)} ${T('auction-run')}`);
      const res1 = await r1;
      assert.equal(res1.status(), 400);
      assert.equal(JSON.parse(await res1.text()).reason, 'bad_tick');
      await waitText(page, `${row(TRUCK)} ${T('field-error-reference')}`, /tick/i);
      // The field's hint says which prices are on the tick.
      const hint = await page.$eval(`${row(TRUCK)} ${T('auction-reference')}`,
        (e) => document.getElementById(e.getAttribute('aria-describedby').split(' ')[0]).innerText);
      assert.ok(hint.includes('A multiple of 5.00'), hint);
      await t.shot(page, 'admin-error.png');
      // Above the cap (2,000.00): the engine's bad_price, the page's sentence naming the cap.
      await fill(page, `${row(TRUCK)} ${T('auction-reference')}`, '2500.00');
      const r0 = page.waitForResponse((r) => r.url().endsWith('/api/auction.run'));
      await page.click(`${row(TRUCK)} ${T('auction-run')}`);
      assert.equal(JSON.parse(await (await r0).text()).reason, 'bad_price');
      await waitText(page, `${row(TRUCK)} ${T('field-error-reference')}`, '€2,000.00');

      // A reference on the tick: 2 truck-days trade at one price between
      // 400.00 and 450.00, and the page says so in euros.
      await fill(page, `${row(TRUCK)} ${T('auction-reference')}`, '420.00');
      const r2 = page.waitForResponse((r) => r.url().endsWith('/api/auction.run'));
      await page.click(`${row(TRUCK)} ${T('auction-run')}`);
      const res2 = await r2;
      assert.equal(res2.status(), 200, await res2.text());
      const body = JSON.parse(res2.request().postData());
      assert.equal(body.reference, 42000);
      const reply = JSON.parse(await res2.text());
      assert.equal(reply.volume, 2);
      assert.ok(reply.price >= 40000 && reply.price <= 45000, `price ${reply.price}`);
      const shown = nb(await waitText(page, `${row(TRUCK)} ${T('auction-result')}`, 'Truck with driver'));
      const euros = (reply.price / 100).toFixed(2);
      assert.ok(shown.includes(`€${euros}`), shown);
      assert.match(shown, /2 truck-days?/);
      assert.equal((await page.$$(`${row(TRUCK)} ${T('field-error-reference')}:not(:empty)`)).length, 0,
        'the old error stayed next to the field');
      // The row shows the book the call left: the bid at 380.00 and the offer's last truck-day.
      await waitText(page, row(TRUCK), (s) => nb(s).includes('€380.00 × 1') && nb(s).includes('€400.00 × 1'));
      await t.shot(page, 'admin.png');
    },
  },
  {
    name: 'German: the call from the service page\'s admin section, the result as 2 zu 420,00 €; the receiver\'s orders after it',
    async fn(t) {
      const server = await t.imxd();
      await truckBook(server);
      const page = await t.user(server, 'demo-CC-9900');
      await goto(page, server, `#/service/${TRUCK}`);
      await choose(page, 'lang-switch', 'de');
      await page.waitForSelector(`${T('auction')} ${T('auction-run')}`, { visible: true });
      // German decimals: 420,00 is 42000; an English 420.00 is refused at the field.
      await fill(page, `${T('auction')} ${T('auction-reference')}`, '1,234');
      await page.click(`${T('auction')} ${T('auction-run')}`);
      await waitText(page, `${T('auction')} ${T('field-error-reference')}`, (s) => s.trim() !== '');
      await fill(page, `${T('auction')} ${T('auction-reference')}`, '420,00');
      const r = page.waitForResponse((x) => x.url().endsWith('/api/auction.run'));
      await page.click(`${T('auction')} ${T('auction-run')}`);
      const res = await r;
      assert.equal(res.status(), 200, await res.text());
      assert.equal(JSON.parse(res.request().postData()).reference, 42000);
      const price = JSON.parse(await res.text()).price;
      // Below 1.000 €, so no thousands separator: 420,00 €.
      const want = `${Math.trunc(price / 100)},${String(price % 100).padStart(2, '0')} €`;
      const shown = nb(await waitText(page, `${T('auction')} ${T('auction-result')}`, 'LKW mit Fahrer'));
      assert.ok(shown.startsWith('Auktion'), shown);
      assert.ok(shown.includes('× LKW-Tag'), shown); /* the market file's German unit */
      assert.ok(shown.includes(want), `${shown} has no ${want}`);
      assert.ok(!/€\d|\d\.\d\d\b/.test(shown), `English money left: ${shown}`);
      // The book follows the call (live): the bid at 450,00 gone, one truck-day offered.
      await waitText(page, T('book-bids'), (s) => !nb(s).includes('450,00 €') && nb(s).includes('380,00 €'));
      await waitText(page, T('book-offers'), (s) => /400,00 €\s+1\b/.test(nb(s)));
      await t.shot(page, 'service-admin-de.png', { fullPage: true });

      // Sales North's orders: the bid at 450,00 filled and closed, the one
      // at 380,00 open, in German.
      const buyer = await t.user(server, 'demo-CC-1100');
      await goto(buyer, server, '#/orders');
      await choose(buyer, 'lang-switch', 'de');
      await waitText(buyer, T('orders-open'), (s) => nb(s).includes('380,00 €'));
      await waitText(buyer, T('orders-closed'), (s) => nb(s).includes('450,00 €'));
      await t.shot(buyer, 'orders-de.png', { fullPage: true });
    },
  },
];
