// A tender in three browsers: the receiver posts the job, two providers
// quote, the receiver awards the one it chooses (not the cheapest), rates
// the trade, and the provider sees the rating.
import { assert, T, call, choose, click, fill, goto, seedTrades, session, waitText } from './lib.mjs';

const SERVICE = 'it.helpdesk.hour';

// Sets the tender form's deadline a day ahead, whatever input it is.
async function deadline(page) {
  const type = await page.$eval(T('tender-deadline'), (e) => e.tagName === 'SELECT' ? 'select'
    : e.type);
  if (type === 'select') {
    const values = await page.$$eval(`${T('tender-deadline')} option`, (o) => o.map((x) => x.value));
    await page.select(T('tender-deadline'), values.find((v) => /24|1d|86400/.test(v)) || values.at(-1));
  } else if (type === 'datetime-local' || type === 'date') {
    const d = new Date(Date.now() + 86400000);
    const v = await page.evaluate((ms, type) => {
      const x = new Date(ms);
      const p = (n) => String(n).padStart(2, '0');
      const day = `${x.getFullYear()}-${p(x.getMonth() + 1)}-${p(x.getDate())}`;
      return type === 'date' ? day : `${day}T${p(x.getHours())}:${p(x.getMinutes())}`;
    }, d.getTime(), type);
    await page.$eval(T('tender-deadline'), (e, v) => {
      e.value = v;
      e.dispatchEvent(new Event('input', { bubbles: true }));
      e.dispatchEvent(new Event('change', { bubbles: true }));
    }, v);
  } else {
    // A number and a unit beside it: one day, or 24 hours.
    const unit = await page.$(T('tender-deadline-unit'));
    const units = unit ? await page.$$eval(`${T('tender-deadline-unit')} option`,
      (o) => o.map((x) => x.value)) : [];
    const day = units.find((v) => /^(d|day|days)$/i.test(v));
    const hour = units.find((v) => /^(h|hour|hours)$/i.test(v));
    if (day) await page.select(T('tender-deadline-unit'), day);
    else if (hour) await page.select(T('tender-deadline-unit'), hour);
    await fill(page, T('tender-deadline'), day ? '1' : '24');
  }
}

export const tests = [
  {
    name: 'a tender: two quotes with ratings, the chosen award, a rating the provider sees',
    timeout: 120,
    async fn(t) {
      const server = await t.imxd();
      // CC-4200 has a 5-star rating for the service from an earlier trade.
      const c4200 = await session(server, 'demo-CC-4200');
      const c1200 = await session(server, 'demo-CC-1200');
      const [old] = await seedTrades(server, c4200, c1200, SERVICE, [[8000, 1]]);
      await call(server, c1200, 'rating.new', { trade: old.trade, stars: 5, comment: 'fast' });

      const receiver = await t.user(server, 'demo-CC-1300');
      const p1 = await t.user(server, 'demo-CC-4100');
      const p2 = await t.user(server, 'demo-CC-4200');
      for (const p of [p1, p2]) await goto(p, server, '#/tenders');

      // The job: 10 hours, ceiling 95.00, a day, decided by the receiver.
      await goto(receiver, server, '#/tenders');
      await receiver.waitForSelector(T('tender-form'), { visible: true });
      await choose(receiver, 'tender-service', SERVICE);
      await fill(receiver, T('tender-qty'), '10');
      await fill(receiver, T('tender-ceiling'), '95.00');
      await deadline(receiver);
      await choose(receiver, 'tender-decide', 'choose');
      const posted = receiver.waitForResponse((r) => r.url().endsWith('/api/tender.new'));
      await receiver.click(T('tender-submit'));
      const pr = await posted;
      assert.equal(pr.status(), 200, await pr.text());
      const tender = JSON.parse(await pr.text()).tender;
      const sent = JSON.parse(pr.request().postData());
      assert.equal(sent.ceiling, 9500);
      assert.equal(sent.qty, 10);
      assert.equal(sent.decide, 'choose');
      assert.ok(sent.deadline_ms > 3600000 && sent.deadline_ms <= 30 * 86400000, sent.deadline_ms);
      // The receiver sees its tender in its list, and no toast of its opening.
      await waitText(receiver, T('tenders-mine'), '95.00');
      await new Promise((r) => setTimeout(r, 300));
      const toasted = await receiver.$eval(T('toast'), (e) => e.innerText);
      assert.ok(!/opened|new tender|eröffnet|neue ausschreibung/i.test(toasted), toasted);

      // The providers see the new tender without reloading, and quote.
      const prices = { 'demo-CC-4100': '88.00', 'demo-CC-4200': '91.00' };
      for (const [p, tok] of [[p1, 'demo-CC-4100'], [p2, 'demo-CC-4200']]) {
        await waitText(p, T('tenders-provider'), '95.00');
        await click(p, `${T('tenders-provider')} a[href="#/tenders/${tender}"]`);
        await p.waitForSelector(T('quote-form'), { visible: true });
        await fill(p, T('quote-price'), prices[tok]);
        const q = p.waitForResponse((r) => r.url().endsWith('/api/tender.quote'));
        await p.click(T('quote-submit'));
        const qr = await q;
        assert.equal(qr.status(), 200, await qr.text());
        // A provider sees its own quote, never the other's.
        await waitText(p, T('my-quote'), prices[tok]);
      }
      assert.ok(!(await p2.$eval('body', (b) => b.innerText)).includes('88.00'),
        'a provider sees another provider\'s quote');

      // The receiver's page of the tender lists both, with names and ratings.
      await goto(receiver, server, `#/tenders/${tender}`);
      const quotes = await waitText(receiver, T('quotes'), (s) => s.includes('88.00') &&
        s.includes('91.00'));
      assert.ok(quotes.includes('IT Service Desk Hamburg') && quotes.includes('IT Service Desk Leipzig'),
        quotes);
      assert.match(quotes, /5[.,]0/); // CC-4200's rating
      await t.shot(receiver, 'tender.png');

      // The receiver chooses Leipzig's dearer quote.
      const leipzig = `${T('quotes')} ${T('quote-row')}[data-cc="CC-4200"]`;
      await waitText(receiver, leipzig, '91.00');
      const aw = receiver.waitForResponse((r) => r.url().endsWith('/api/tender.award'));
      await click(receiver, `${leipzig} ${T('quote-award')}`);
      const ar = await aw;
      assert.equal(ar.status(), 200, await ar.text());
      const award = JSON.parse(await ar.text());
      assert.equal(award.trades[0].seller, 'CC-4200');
      assert.equal(award.trades[0].price, 9100);
      assert.equal(award.trades[0].qty, 10);
      const trade = award.trades[0].trade;
      // The winner hears it live.
      await waitText(p2, T('toast'), /91[.,]00|awarded|zugeschlagen/i);

      // The receiver rates the trade; the provider sees the rating live.
      await goto(p2, server, '#/ratings');
      await goto(receiver, server, '#/ratings');
      const item = `${T('to-rate-item')}[data-trade="${trade}"]`;
      await receiver.waitForSelector(item, { visible: true });
      await receiver.click(`${item} ${T('rating-stars-4')}`);
      await fill(receiver, `${item} ${T('rating-comment')}`, 'good work, two days late');
      const rn = receiver.waitForResponse((r) => r.url().endsWith('/api/rating.new'));
      await receiver.click(`${item} ${T('rating-submit')}`);
      const rr = await rn;
      assert.equal(rr.status(), 200, await rr.text());
      assert.deepEqual(JSON.parse(rr.request().postData()).stars, 4);
      await waitText(p2, T('ratings-received'), 'good work, two days late');
      await waitText(p2, T('ratings-received'), 'Production Leipzig');
      await t.shot(p2, 'ratings.png');
      // Rated once: no second form for that trade.
      await goto(receiver, server, '#/ratings');
      await waitText(receiver, T('ratings-given'), 'good work, two days late');
      assert.equal(await receiver.$(item), null);
    },
  },
  {
    name: 'a live update keeps what a person typed: a quote price typed and left stays while a new tender comes in',
    async fn(t) {
      const server = await t.imxd();
      const receiver = await session(server, 'demo-CC-1300');
      const first = await call(server, receiver, 'tender.new', { service: SERVICE, qty: 5, ceiling: 9500, deadline_ms: 86400000, decide: 'choose' });
      const page = await t.user(server, 'demo-CC-4100');
      await goto(page, server, `#/tenders/${first.tender}`);
      await page.waitForSelector(T('quote-form'), { visible: true });
      // Typed, then the person looks elsewhere (the field is left).
      await fill(page, T('quote-price'), '88.00');
      await page.click('h1');
      // A second tender: the page hears of it (a toast) and re-reads ...
      const second = await call(server, receiver, 'tender.new', { service: SERVICE, qty: 3, ceiling: 9000, deadline_ms: 86400000, decide: 'choose' });
      await waitText(page, T('toast'), `${second.tender}`);
      await new Promise((r) => setTimeout(r, 600));
      // ... but keeps the price typed, which is then sent.
      assert.equal(await page.$eval(T('quote-price'), (e) => e.value), '88.00');
      const q = page.waitForResponse((r) => r.url().endsWith('/api/tender.quote'));
      await page.click(T('quote-submit'));
      const qr = await q;
      assert.equal(qr.status(), 200, await qr.text());
      assert.equal(JSON.parse(qr.request().postData()).price, 8800);
      await waitText(page, T('my-quote'), '88.00');
      // Sent: the next live update redraws again (a third tender shows in the list).
      await goto(page, server, '#/tenders');
      await waitText(page, T('tenders-provider'), '90.00');
      const third = await call(server, receiver, 'tender.new', { service: SERVICE, qty: 1, ceiling: 8000, deadline_ms: 86400000, decide: 'choose' });
      await waitText(page, T('tenders-provider'), (s) => s.includes('80.00') && s.includes(String(third.tender)));
    },
  },
  {
    name: 'a draft in the new-tender form does not stop the live update of the tenders below it',
    async fn(t) {
      const server = await t.imxd();
      const provider = await session(server, 'demo-CC-4100');
      const mine = await call(server, await session(server, 'demo-CC-1300'), 'tender.new',
        { service: SERVICE, qty: 5, ceiling: 9500, deadline_ms: 86400000, decide: 'choose' });
      const page = await t.user(server, 'demo-CC-1300');
      await goto(page, server, '#/tenders');
      await page.waitForSelector(T('tender-form'), { visible: true });
      await waitText(page, T('tenders-mine'), String(mine.tender));
      // A tender begun in the form (not sent), then the person looks elsewhere.
      await fill(page, T('tender-qty'), '7');
      await page.click('h1');
      // A quote comes: the list of one's tenders shows it (the form is not
      // redrawn by it, so it does not have to wait) ...
      await call(server, provider, 'tender.quote', { tender: mine.tender, price: 9000 });
      await waitText(page, T('toast'), `${mine.tender}`);
      await page.waitForFunction((sel, id) => {
        const row = document.querySelector(`${sel} [data-tender="${id}"]`);
        return row != null && row.cells[5].textContent.trim() === '1'; /* the quotes column */
      }, { timeout: 5000 }, T('tenders-mine'), String(mine.tender));
      // ... and the draft is still there.
      assert.equal(await page.$eval(T('tender-qty'), (e) => e.value), '7');
    },
  },
  {
    name: 'a quote typed for a tender that ended does not stop the live updates once it is refused',
    async fn(t) {
      const server = await t.imxd();
      const receiver = await session(server, 'demo-CC-1300');
      const gone = await call(server, receiver, 'tender.new', { service: SERVICE, qty: 5, ceiling: 9500, deadline_ms: 86400000, decide: 'choose' });
      const page = await t.user(server, 'demo-CC-4100');
      await goto(page, server, '#/tenders');
      const form = `${T('tenders-provider')} form[data-tender="${gone.tender}"]`;
      await page.waitForSelector(form, { visible: true });
      // A price typed and left; the receiver takes the tender back meanwhile.
      await fill(page, `${form} ${T('quote-price')}`, '88.00');
      await page.click('h1');
      await call(server, receiver, 'tender.cancel', { tender: gone.tender });
      const q = page.waitForResponse((r) => r.url().endsWith('/api/tender.quote'));
      await page.click(`${form} ${T('quote-submit')}`);
      const qr = await q;
      assert.equal(JSON.parse(await qr.text()).reason, 'unknown_tender');
      // Refused: the form goes, and the next tender shows as it comes.
      await page.waitForFunction((sel) => document.querySelector(sel) == null, { timeout: 5000 }, form);
      const next = await call(server, receiver, 'tender.new', { service: SERVICE, qty: 2, ceiling: 8000, deadline_ms: 86400000, decide: 'choose' });
      await waitText(page, T('tenders-provider'), (s) => s.includes(String(next.tender)) && s.includes('80.00'));
    },
  },
  {
    name: 'a quote price typed and emptied again lets the live updates come',
    async fn(t) {
      const server = await t.imxd();
      const receiver = await session(server, 'demo-CC-1300');
      const first = await call(server, receiver, 'tender.new', { service: SERVICE, qty: 5, ceiling: 9500, deadline_ms: 86400000, decide: 'choose' });
      const page = await t.user(server, 'demo-CC-4100');
      await goto(page, server, '#/tenders');
      const price = `${T('tenders-provider')} form[data-tender="${first.tender}"] ${T('quote-price')}`;
      await page.waitForSelector(price, { visible: true });
      await fill(page, price, '88.00');
      for (let i = 0; i < 5; i++) await page.keyboard.press('Backspace');
      assert.equal(await page.$eval(price, (e) => e.value), '');
      await page.click('h1');
      const next = await call(server, receiver, 'tender.new', { service: SERVICE, qty: 2, ceiling: 8000, deadline_ms: 86400000, decide: 'choose' });
      await waitText(page, T('tenders-provider'), (s) => s.includes(String(next.tender)) && s.includes('80.00'));
    },
  },
];
