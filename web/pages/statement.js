/*
** pages/statement.js -- a cost centre's statement of one period, shared by
** "My orders" (one's own) and "Finance" (any cost centre's): per service
** what it bought and spent, sold and earned (statement.get), for the open
** period the budget and reservations (balance.get: the ledger keeps no
** budgets, docs/protocol.md "Where the figures come from"), its trades, and
** the CSV download (/api/statement.csv). Average prices are the exact ratio
** rounded half up to the currency's minor unit, as `imx statement` does.
*/
import * as api from '../api.js';
import { t, fmt } from '../i18n.js';
import { toBigInt } from '../money.js';
import { el, clear, field, select, table, uid, downloadLink } from '../ui.js';

const PERIODS_SHOWN = 24;

/* The labels of the open period and the ones before it, newest first:
** "2027-01", "2026-12", ... for a calendar market, "3", "2", "1" else. */
export function periodLabels(open, n = PERIODS_SHOWN) {
  const out = [open];
  const m = /^(\d{4})-(\d{2})$/.exec(open);
  if (m) {
    let y = Number(m[1]);
    let mo = Number(m[2]);
    for (let i = 1; i < n; i++) {
      mo -= 1;
      if (mo === 0) {
        mo = 12;
        y -= 1;
      }
      out.push(`${y}-${String(mo).padStart(2, '0')}`);
    }
  } else if (/^\d+$/.test(open)) {
    for (let p = Number(open) - 1; p >= 1 && out.length < n; p--) out.push(String(p));
  }
  return out;
}

/* A labelled <select> of periods, the open one chosen; onChange(label). */
export function periodPicker(openLabel, onChange, test = 'statement-period') {
  const options = periodLabels(openLabel).map((p, i) => ({
    value: p, label: i === 0 ? `${p} (${t('statement.open')})` : p,
  }));
  const sel = select(options, { test });
  sel.addEventListener('change', () => onChange(sel.value));
  return el('div', { class: 'inline-form' }, field('period', t('statement.period'), sel));
}

/* Average price per unit: amount / units rounded half up, in minor units. */
function average(amount, units) {
  const a = toBigInt(amount);
  const u = toBigInt(units);
  if (u === 0n) return null;
  return (2n * a + u) / (2n * u);
}

export async function statementView(box, ctx, cc, period) {
  const body = { cc };
  if (period) body.period = period;
  const st = await api.call('statement.get', body);
  const balance = !st.closed ? await api.call('balance.get', { cc }).catch(() => null) : null;
  const headId = uid('st');
  const view = el('div', { class: 'statement', test: 'statement', dataset: { cc: st.cc, period: st.period }, 'aria-labelledby': headId });
  view.appendChild(el('h3', { id: headId },
    `${ctx.ccName(st.cc)} (${st.cc}), ${st.period}: `,
    st.closed ? t('statement.closed', { date: st.closed_ms ? fmt.dateTime(st.closed_ms) : '' }) : t('statement.open')));
  view.appendChild(el('p', { class: 'muted', text: t('statement.budget', { amount: fmt.money(st.budget) }) }));
  if (balance) {
    /* A provider (no budget): what it earned, not an available budget of 0. */
    const provider = toBigInt(balance.budget) === 0n;
    view.appendChild(el('p', { class: 'notice', test: 'statement-balance', text: t(provider ? 'statement.balance.provider' : 'statement.balance', {
      budget: fmt.money(balance.budget), reserved: fmt.money(balance.reserved), spent: fmt.money(balance.spent),
      earned: fmt.money(balance.earned), available: fmt.money(balance.available),
    }) }));
  }
  const href = `/api/statement.csv?cc=${encodeURIComponent(st.cc)}&period=${encodeURIComponent(st.period)}`;
  view.appendChild(el('p', {}, downloadLink(href, t('statement.csv'), 'statement-csv', ctx.toast)));
  const svcName = (s) => (ctx.service(s) ? ctx.service(s).name : s);
  view.appendChild(table([
    { label: t('col.service'), cell: (r) => svcName(r.service) },
    { label: t('col.trades'), cell: (r) => fmt.int(r.trades), class: 'num' },
    { label: t('col.bought'), cell: (r) => fmt.int(r.bought), class: 'num' },
    { label: t('col.spent'), cell: (r) => fmt.money(r.spent), class: 'num' },
    { label: t('col.avg'), cell: (r) => { const a = average(r.spent, r.bought); return a === null ? '–' : fmt.money(a); }, class: 'num' },
    { label: t('col.sold'), cell: (r) => fmt.int(r.sold), class: 'num' },
    { label: t('col.earned'), cell: (r) => fmt.money(r.earned), class: 'num' },
    { label: t('col.avg'), cell: (r) => { const a = average(r.earned, r.sold); return a === null ? '–' : fmt.money(a); }, class: 'num' },
  ], st.services || [], { test: 'statement-services', rowTest: 'statement-service-row', caption: t('statement.title'), empty: t('statement.none') }));
  if ((st.trades || []).length) {
    view.appendChild(table([
      { label: t('col.trade'), cell: (r) => String(r.trade), class: 'num' },
      { label: t('col.time'), cell: (r) => fmt.dateTime(r.time_ms) },
      { label: t('col.service'), cell: (r) => svcName(r.service) },
      { label: t('col.side'), cell: (r) => (r.buyer === st.cc ? t('trades.bought') : t('trades.sold')) },
      { label: t('col.qty'), cell: (r) => fmt.int(r.qty), class: 'num' },
      { label: t('col.price'), cell: (r) => fmt.money(r.price), class: 'num' },
      { label: t('col.amount'), cell: (r) => fmt.money(toBigInt(r.qty) * toBigInt(r.price)), class: 'num' },
      { label: t('col.counterparty'), cell: (r) => ctx.ccName(r.buyer === st.cc ? r.seller : r.buyer) },
    ], st.trades, { test: 'statement-trades', rowTest: 'statement-trade-row', caption: t('trades.title') }));
  }
  if (st.trades_omitted) view.appendChild(el('p', { class: 'muted', text: t('statement.omitted', { n: fmt.int(st.trades_omitted) }) }));
  clear(box).appendChild(view);
  return st;
}
