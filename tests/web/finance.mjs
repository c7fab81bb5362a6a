// Finance in the browser: the period's overview, the ledger's verify, and
// the exports downloaded and checked against the trades made.
import fs from 'node:fs';
import path from 'node:path';
import { assert, T, call, cents, goto, seedTrades, session, waitDownload, waitText } from './lib.mjs';

export const tests = [
  {
    name: 'finance: overview, verify, csv and hledger exports downloaded and checked',
    timeout: 120,
    async fn(t) {
      const server = await t.imxd();
      const s = {};
      for (const cc of ['4100', '4200', '5100', '7100', '1100', '1200', '1400'])
        s[cc] = await session(server, `demo-CC-${cc}`);
      const trades = [
        ...await seedTrades(server, s['4100'], s['1100'], 'it.helpdesk.hour',
          [[8500, 25], [8700, 3]]),
        ...await seedTrades(server, s['4200'], s['1200'], 'it.helpdesk.hour', [[8600, 12]]),
        ...await seedTrades(server, s['5100'], s['1200'], 'payroll.run', [[150000, 1]],
          { aon: true }),
        ...await seedTrades(server, s['7100'], s['1400'], 'translation.page', [[1230, 7]]),
      ];
      assert.equal(trades.length, 5);

      const dl = path.join(t.tmp, `downloads-${Date.now()}`);
      fs.mkdirSync(dl);
      const page = await t.user(server, 'demo-CC-9000', { downloads: dl });
      // The overview is one period.summary (one page: 33 cost centres), not
      // a statement.get and a balance.get per cost centre.
      const asked = new Map();
      page.on('request', (r) => {
        const m = new URL(r.url()).pathname.match(/^\/api\/(.+)$/);
        if (m) asked.set(m[1], (asked.get(m[1]) || 0) + 1);
      });
      await goto(page, server, '#/finance');
      // The overview of the open period: per service the trades, units and
      // amount (25 x 85.00 + 3 x 87.00 + 12 x 86.00 = 3,418.00), and the total.
      await waitText(page, T('finance-period'), '2026-12');
      const row = (svc) => `${T('finance-service-row')}[data-service="${svc}"]`;
      const help = await waitText(page, row('it.helpdesk.hour'), '3,418.00');
      assert.match(help, /IT helpdesk hour/);
      assert.match(help, /\b3\b/);
      assert.match(help, /\b40\b/);
      await waitText(page, row('payroll.run'), '1,500.00');
      await waitText(page, row('translation.page'), (x) => x.includes('86.10') && /\b7\b/.test(x));
      await waitText(page, T('finance-total'), '5,004.10');
      // Per cost centre: the file's budget, what the period's trades spent
      // and earned, and the engine's reserved and available (Sales North:
      // 25 x 85.00 + 3 x 87.00 = 2,386.00 of 60,000.00); a provider without
      // a budget has '–' for both.
      const ccRow = (cc) => `${T('finance-cc-row')}[data-cc="${cc}"]`;
      const north = await waitText(page, ccRow('CC-1100'), '2,386.00');
      assert.match(north, /Sales North \(CC-1100\)/);
      assert.match(north, /60,000\.00/);
      assert.match(north, /57,614\.00/);
      const hamburg = await waitText(page, ccRow('CC-4100'), '2,386.00');
      assert.equal((hamburg.match(/–/g) || []).length, 2, hamburg);
      assert.equal(await page.$(ccRow('CC-9000')), null, 'finance itself is no row');
      assert.equal(asked.get('period.summary'), 1, JSON.stringify([...asked]));
      assert.equal(asked.get('balance.get') || 0, 0, JSON.stringify([...asked]));
      assert.ok((asked.get('statement.get') || 0) <= 1, JSON.stringify([...asked]));

      // The ledger's verify, from the page.
      const v = page.waitForResponse((r) => r.url().endsWith('/api/ledger.verify'));
      await page.click(T('ledger-verify'));
      const vr = await v;
      assert.equal(vr.status(), 200, await vr.text());
      assert.equal(JSON.parse(await vr.text()).trades, 5);
      await waitText(page, T('ledger-verify-result'), '5');
      await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
      await t.shot(page, 'finance.png', { fullPage: true });

      // The csv export: one row per trade, as made; amount = qty x price exactly;
      // what the buyers spent is what the sellers earned.
      await page.click(T('export-csv'));
      const csvFile = await waitDownload(dl, (n) => n === 'imx-2026-12.csv');
      const lines = fs.readFileSync(csvFile, 'utf8').trimEnd().split('\n');
      assert.equal(lines[0], 'trade,period,date,service,buyer,seller,qty,unit,price,amount,currency');
      const rows = lines.slice(1).map((l) => {
        const f = l.split(',');
        assert.equal(f.length, 11, `not 11 fields: ${l}`);
        return { trade: Number(f[0]), period: f[1], date: f[2], service: f[3], buyer: f[4],
          seller: f[5], qty: BigInt(f[6]), price: cents(f[8]), amount: cents(f[9]), cur: f[10] };
      });
      assert.equal(rows.length, trades.length);
      const net = new Map(); // cc -> spent - earned
      for (const tr of trades) {
        const r = rows.find((x) => x.trade === tr.trade);
        assert.ok(r, `trade ${tr.trade} is not in the export`);
        assert.deepEqual([r.service, r.buyer, r.seller, r.qty, r.price, r.period, r.cur],
          [tr.service, tr.buyer, tr.seller, BigInt(tr.qty), BigInt(tr.price), '2026-12', 'EUR']);
        assert.equal(r.amount, r.qty * r.price);
        assert.match(r.date, /^\d{4}-\d{2}-\d{2}$/);
        net.set(r.buyer, (net.get(r.buyer) || 0n) + r.amount);
        net.set(r.seller, (net.get(r.seller) || 0n) - r.amount);
      }
      assert.equal([...net.values()].reduce((a, b) => a + b, 0n), 0n);
      // And each cost centre's net is what its balance says it spent or earned.
      const fin = await session(server, 'demo-CC-9000');
      for (const [cc, n] of net) {
        const b = await call(server, fin, 'balance.get', { cc });
        assert.equal(BigInt(b.spent) - BigInt(b.earned), n, `${cc}: ${JSON.stringify(b)}`);
      }

      // The hledger export: every transaction's postings sum to zero, and
      // the expenses add up to the csv's amounts.
      await page.click(T('export-hledger'));
      const hlFile = await waitDownload(dl, (n) => n === 'imx-2026-12.journal' ||
        n === 'imx-2026-12.hledger');
      const txns = fs.readFileSync(hlFile, 'utf8').split(/\n(?=\d{4}-\d{2}-\d{2})/)
        .filter((x) => /^\d{4}-/.test(x));
      assert.equal(txns.length, trades.length);
      let expenses = 0n;
      for (const tx of txns) {
        const amounts = [...tx.matchAll(/^\s+(\S+)\s+(-?\d+(?:\.\d+)?) EUR\s*$/gm)];
        assert.equal(amounts.length, 2, `not two postings: ${tx}`);
        assert.equal(cents(amounts[0][2]) + cents(amounts[1][2]), 0n, tx);
        for (const a of amounts) if (a[1].startsWith('expenses:')) expenses += cents(a[2]);
      }
      assert.equal(expenses, rows.reduce((a, r) => a + r.amount, 0n));

      // A cost centre's statement as CSV, from the finance page.
      await page.select(T('finance-cc'), 'CC-1200');
      await page.click(T('finance-statement-show'));
      await waitText(page, T('statement'), 'CC-1200');
      await page.click(T('statement-csv'));
      const stFile = await waitDownload(dl, (n) => /CC-1200/.test(n) && n.endsWith('.csv'));
      const st = fs.readFileSync(stFile, 'utf8');
      const stTrades = trades.filter((x) => x.buyer === 'CC-1200' || x.seller === 'CC-1200');
      for (const x of stTrades) assert.match(st, new RegExp(`^${x.trade},`, 'm'), st);
      assert.equal(st.trimEnd().split('\n').length, stTrades.length + 1, st);
    },
  },
  {
    // A statement lists 1,000 trades at most; the overview's count is the
    // period's, every trade once (period.summary), however many there are.
    name: 'finance: a period of 1,050 trades shows 1,050 trades',
    timeout: 180,
    async fn(t) {
      const server = await t.imxd();
      const seller = await session(server, 'demo-CC-7100');
      const buyer = await session(server, 'demo-CC-1400');
      const n = 1050;
      await call(server, seller, 'order.new',
        { service: 'translation.page', side: 'offer', qty: n, price: 1230 });
      for (let i = 0; i < n; i += 25) {
        const bids = [];
        for (let k = i; k < Math.min(n, i + 25); k++)
          bids.push(call(server, buyer, 'order.new',
            { service: 'translation.page', side: 'bid', qty: 1, price: 1230 }));
        for (const r of await Promise.all(bids)) assert.equal(r.status, 'filled', JSON.stringify(r));
      }
      const page = await t.user(server, 'demo-CC-9000');
      await goto(page, server, '#/finance');
      const row = `${T('finance-service-row')}[data-service="translation.page"]`;
      // 1,050 x 12.30 = 12,915.00
      const got = await waitText(page, row, '12,915.00');
      assert.match(got, /\b1,050\b/);
      await waitText(page, `${T('finance-cc-row')}[data-cc="CC-1400"]`, '12,915.00');
      const overview = await page.$eval(T('finance-overview'), (e) => e.innerText);
      assert.doesNotMatch(overview, /not listed/, overview);
      await t.shot(page, 'finance-1050-trades.png', { fullPage: true });
    },
  },
  {
    // A period.close between the ledger's read and the engine's figures is
    // refused with period_moved ("ask again"): the page asks again instead
    // of showing an error. The refusal is staged (request interception):
    // the real race is nanoseconds wide.
    name: 'finance: the overview asks again when the period moved while it was read',
    timeout: 120,
    async fn(t) {
      const server = await t.imxd();
      const seller = await session(server, 'demo-CC-7100');
      const buyer = await session(server, 'demo-CC-1400');
      await seedTrades(server, seller, buyer, 'translation.page', [[1230, 7]]);
      const page = await t.user(server, 'demo-CC-9000');
      let asked = 0;
      await page.setRequestInterception(true);
      page.on('request', (r) => {
        if (!r.url().endsWith('/api/period.summary')) return r.continue();
        if (++asked > 1) return r.continue();
        return r.respond({
          status: 503,
          contentType: 'application/json',
          body: JSON.stringify({ v: 1, type: 'error', id: '', code: 'unavailable', field: 'period',
            reason: 'period_moved', message: 'the period was closed while its summary was read; ask again' }),
        });
      });
      await goto(page, server, '#/finance');
      await waitText(page, `${T('finance-service-row')}[data-service="translation.page"]`, '86.10');
      await waitText(page, `${T('finance-cc-row')}[data-cc="CC-1400"]`, '86.10');
      assert.equal(asked, 2);
      const toasted = await page.$eval(T('toast'), (e) => e.innerText).catch(() => '');
      assert.doesNotMatch(toasted, /closed while|ask again/i, toasted);
    },
  },
];
