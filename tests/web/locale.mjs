// German and English: money and dates as the locale writes them, the
// language switch (kept across a reload), a browser that speaks German,
// and a price typed the German way.
import { assert, T, choose, fill, goto, orderForm, seedTrades, session, waitText } from './lib.mjs';

const SERVICE = 'it.helpdesk.hour';
const nb = (s) => s.replace(/[\u00a0\u202f]/g, ' ');

// Today as the page's clock writes it in each language, e.g. 5.12.2026 or 05.12.2026.
async function today(page) {
  return page.evaluate(() => {
    const d = new Date();
    return { d: d.getDate(), m: d.getMonth() + 1, y: d.getFullYear() };
  });
}

export const tests = [
  {
    name: 'German: money as 59.826,00 €, dates as 5.12.2026, prices typed 1.230,00; the switch kept across a reload',
    async fn(t) {
      const server = await t.imxd();
      // Sales North bought 2 hours at 87.00: 60,000.00 - 174.00 = 59,826.00 left.
      const seller = await session(server, 'demo-CC-4100');
      const buyer = await session(server, 'demo-CC-1100');
      await seedTrades(server, seller, buyer, SERVICE, [[8700, 2]]);
      const page = await t.user(server, 'demo-CC-1100'); // en-US browser
      await goto(page, server, `#/service/${SERVICE}`);
      // English first: €59,826.00 and a date as en-US writes it.
      let left = nb(await waitText(page, T('budget-left'), '59,826.00'));
      assert.match(left, /€\s?59,826\.00/);
      const { d, m, y } = await today(page);
      await waitText(page, T('trades'), (s) => s.includes('87.00') &&
        (s.includes(`${m}/${d}/${y}`) || s.includes(`${y}`)));

      // Switch to German: the service's name and unit as the market file
      // translates them.
      await choose(page, 'lang-switch', 'de');
      await waitText(page, T('service-title'), 'IT-Helpdesk-Stunde');
      left = nb(await waitText(page, T('budget-left'), '59.826,00'));
      assert.match(left, /59\.826,00 €/);
      await waitText(page, T('trades'), (s) => nb(s).includes('87,00 €'));
      const dates = await waitText(page, T('trades'), (s) =>
        new RegExp(`\\b0?${d}\\.0?${m}\\.${y}\\b`).test(s));
      assert.ok(!/\d+\/\d+\/\d{4}/.test(dates), `an English date is left: ${dates}`);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');

      // Prices typed the German way: 85,00 is 8500 ...
      const sent = page.waitForResponse((r) => r.url().endsWith('/api/order.new'));
      await orderForm(page, { side: 'bid', qty: 2, price: '85,00' });
      const res = await sent;
      assert.equal(res.status(), 200, await res.text());
      assert.equal(JSON.parse(res.request().postData()).price, 8500);
      await waitText(page, T('book-bids'), (s) => nb(s).includes('85,00 €'));
      // 59.826,00 - 2 x 85,00 reserved = 59.656,00 €.
      await waitText(page, T('budget-left'), (s) => nb(s).includes('59.656,00 €'));
      // ... 1.234,56 is 123456 (refused by the engine: above the cap of 500,00 €) ...
      const off = page.waitForResponse((r) => r.url().endsWith('/api/order.new'));
      await orderForm(page, { side: 'bid', qty: 1, price: '1.234,56' });
      const offRes = await off;
      assert.equal(JSON.parse(offRes.request().postData()).price, 123456);
      assert.equal(offRes.status(), 400);
      assert.equal(JSON.parse(await offRes.text()).reason, 'bad_price');
      // The page's German sentence naming the cap, not the daemon's English in brackets.
      const capText = nb(await waitText(page, T('field-error-price'), (s) => s.trim() !== ''));
      assert.ok(capText.includes('höchstens 500,00 €'), capText);
      assert.ok(!/[()]|range/.test(capText), capText);
      // ... and 1.230,00 a payroll run's 123000, shown back as 1.230,00 €.
      await goto(page, server, '#/service/payroll.run');
      const pay = page.waitForResponse((r) => r.url().endsWith('/api/order.new'));
      await orderForm(page, { side: 'bid', qty: 1, price: '1.230,00' });
      const payRes = await pay;
      assert.equal(payRes.status(), 200, await payRes.text());
      assert.equal(JSON.parse(payRes.request().postData()).price, 123000);
      await waitText(page, T('book-bids'), (s) => nb(s).includes('1.230,00 €'));
      await waitText(page, T('budget-left'), (s) => nb(s).includes('58.426,00 €'));
      await t.shot(page, 'service-de.png');

      // Kept across a reload (localStorage), and in English again on the way back.
      await page.reload({ waitUntil: 'load' });
      await waitText(page, T('budget-left'), (s) => nb(s).includes('58.426,00 €'));
      await waitText(page, T('service-title'), 'Lohnabrechnung');
      await choose(page, 'lang-switch', 'en');
      await waitText(page, T('budget-left'), (s) => nb(s).includes('58,426.00'));
      await waitText(page, T('service-title'), 'Payroll run');
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    },
  },
  {
    name: 'German: a browser whose language is German starts in German',
    async fn(t) {
      const server = await t.imxd();
      const page = await t.user(server, 'demo-CC-1100', { lang: 'de-DE' });
      await goto(page, server, `#/service/${SERVICE}`);
      await waitText(page, T('budget-left'), (s) => nb(s).includes('60.000,00 €'));
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
      // The sign-out reads German.
      assert.match(await page.$eval(T('signout'), (e) => e.innerText), /Abmelden/);
      // The marketplace in the market file's German, and the search finds a
      // service by its German name or its own (English) one.
      await goto(page, server, '#/market');
      await waitText(page, T('services'), (s) => s.includes('LKW mit Fahrer') && s.includes('Lohnabrechnung') &&
        s.includes('Laborprüfung') && !s.includes('Truck with driver'));
      await t.shot(page, 'market-de.png');
      await fill(page, T('market-search'), 'truck');
      await waitText(page, T('services'), (s) => s.includes('LKW mit Fahrer') && !s.includes('Lohnabrechnung'));
      await fill(page, T('market-search'), 'lohn');
      await waitText(page, T('services'), (s) => s.includes('Lohnabrechnung') && !s.includes('LKW mit Fahrer'));
    },
  },
];
