/*
** pages/orders.js -- #/orders: my open orders (order.list) with modify
** (total quantity and price) and cancel, my closed orders (order.history,
** paged with "older"), my trades (trades.list) and my statement by period
** (statement.get, and for the open period balance.get) with its CSV
** download (/api/statement.csv). Fills and closes from the websocket
** re-read the lists.
*/
import * as api from '../api.js';
import { t, fmt, getLang, moneyContext } from '../i18n.js';
import { parseMoney, minorToInput, toWire } from '../money.js';
import {
  el, clear, field, table, section, errorText, showApiError, showFieldError,
  clearErrors, formError, busy, parseQty,
} from '../ui.js';
import { statementView, periodPicker } from './statement.js';

const HISTORY_PAGE = 20;
const TRADES_SHOWN = 100;

export async function render(root, ctx) {
  root.appendChild(el('h1', { text: t('orders.title') }));
  const openBox = el('div');
  const closedBox = el('div');
  const tradesBox = el('div');
  const statementBox = el('div');
  root.appendChild(section(t('orders.open'), 'orders-open-section', openBox));
  root.appendChild(section(t('orders.closed'), 'orders-closed-section', closedBox));
  root.appendChild(section(t('trades.title'), 'my-trades-section', tradesBox));
  root.appendChild(section(t('statement.title'), 'statement-section', statementBox));

  const unitOf = (sid) => (ctx.service(sid) ? ctx.service(sid).unit : '');
  const nameOf = (sid) => (ctx.service(sid) ? ctx.service(sid).name : sid);
  const serviceLink = (sid) => el('a', { href: `#/service/${encodeURIComponent(sid)}`, text: nameOf(sid) });

  /* What the open and the closed orders' tables both show first. */
  function orderColumns() {
    return [
      { label: t('col.order'), cell: (r) => String(r.order), class: 'num' },
      { label: t('col.service'), cell: (r) => serviceLink(r.service) },
      { label: t('col.side'), cell: (r) => t(`side.${r.side}.short`) },
      { label: t('col.price'), cell: (r) => fmt.money(r.price), class: 'num' },
      { label: t('col.qty'), cell: (r) => fmt.int(r.qty), class: 'num' },
      { label: t('col.filled'), cell: (r) => fmt.int(r.qty_filled), class: 'num' },
    ];
  }

  async function loadOpen() {
    const reply = await api.call('order.list', {});
    const rows = reply.orders || [];
    clear(openBox).appendChild(table([
      ...orderColumns(),
      { label: t('col.open'), cell: (r) => fmt.int(r.qty_open), class: 'num' },
      { label: t('col.tif'), cell: (r) => conditions(r) },
      { label: t('col.actions'), cell: (r) => actions(r), class: 'col-actions' },
    ], rows, {
      test: 'orders-open', rowTest: 'order-row', rowData: (r) => ({ order: String(r.order), service: r.service }),
      caption: t('orders.open'), empty: t('orders.none'),
    }));
  }

  /* Validity, all-or-none and a bid's minimum rating, as one text. */
  function conditions(r) {
    const parts = [t(`tif.${r.tif}`)];
    if (r.aon) parts.push(t('market.indivisible'));
    if (r.min_stars) parts.push(t(r.allow_unrated ? 'orders.min_stars.unrated' : 'orders.min_stars', { stars: fmt.tenths(r.min_stars) }));
    return parts.join(', ');
  }

  function actions(order) {
    const modify = el('button', { type: 'button', class: 'btn btn-small', test: 'order-modify', text: t('orders.modify'),
      'aria-label': `${t('orders.modify')} ${order.order}`, 'aria-expanded': 'false' });
    const cancel = el('button', { type: 'button', class: 'btn btn-small btn-danger', test: 'order-cancel', text: t('orders.cancel'),
      'aria-label': `${t('orders.cancel')} ${order.order}` });
    const box = el('div', { class: 'row-actions' }, modify, ' ', cancel);
    cancel.addEventListener('click', () => busy(cancel, async () => {
      try {
        const r = await api.call('order.cancel', { order: order.order });
        ctx.toast(t('orders.cancelled', { order: r.order, qty: fmt.int(r.qty) }));
      } catch (e) {
        ctx.toast(errorText(e), 'error');
      }
      await refresh();
    }));
    modify.addEventListener('click', () => {
      const existing = box.querySelector('form');
      if (existing) {
        existing.remove();
        modify.setAttribute('aria-expanded', 'false');
        return;
      }
      modify.setAttribute('aria-expanded', 'true');
      box.appendChild(modifyForm(order, () => {
        modify.setAttribute('aria-expanded', 'false');
        modify.focus();
      }));
    });
    return box;
  }

  function modifyForm(order, closed) {
    const { currency, decimals } = moneyContext();
    const qty = el('input', { type: 'text', inputmode: 'numeric', test: 'modify-qty', value: String(order.qty) });
    const price = el('input', { type: 'text', inputmode: 'decimal', test: 'modify-price', value: minorToInput(order.price, decimals, getLang()) });
    const save = el('button', { type: 'submit', class: 'btn btn-primary btn-small', test: 'modify-submit', text: t('orders.modify.save') });
    const close = el('button', { type: 'button', class: 'btn btn-small', text: t('orders.modify.close') });
    const form = el('form', { class: 'form modify-form', test: 'modify-form', novalidate: true, 'aria-label': t('orders.modify.title', { order: order.order }) },
      field('qty', t('orders.modify.qty'), qty),
      field('price', t('orders.modify.price', { currency }), price),
      formError('modify-error'),
      el('div', { class: 'actions' }, save, close));
    close.addEventListener('click', () => {
      form.remove();
      closed();
    });
    let pendingId = null;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const q = parseQty(qty.value);
      const p = parseMoney(price.value, { decimals, locale: getLang() });
      if (!q.ok) return void showFieldError(form, 'qty', t(q.error));
      if (!p.ok) return void showFieldError(form, 'price', t(`money.${p.error}`, { example: fmt.example(), currency, decimals }));
      const body = { order: order.order };
      if (q.value !== order.qty) body.qty = q.value;
      if (p.minor !== BigInt(order.price)) body.price = toWire(p.minor);
      if (body.qty === undefined && body.price === undefined) {
        form.querySelector('.form-error').textContent = t('orders.modify.nothing');
        return;
      }
      if (!pendingId) pendingId = api.newId();
      body.id = pendingId;
      await busy(save, async () => {
        try {
          const r = await api.call('order.modify', body);
          pendingId = null;
          ctx.toast(t('orders.modified', { order: r.order, open: fmt.int(r.qty_open), filled: fmt.int(r.qty_filled) }));
          await refresh();
        } catch (e) {
          if (e.code !== 'network') pendingId = null;
          ctx.toast(showApiError(form, e), 'error');
        }
      });
    });
    setTimeout(() => qty.focus(), 0);
    return form;
  }

  /* Closed orders, a page at a time (before = the last order id shown). */
  const closedRows = [];
  let closedDone = false;
  async function loadClosed(more) {
    if (!more) {
      closedRows.length = 0;
      closedDone = false;
    }
    const body = { limit: HISTORY_PAGE };
    if (more && closedRows.length) body.before = closedRows[closedRows.length - 1].order;
    const reply = await api.call('order.history', body);
    closedRows.push(...(reply.orders || []));
    closedDone = (reply.orders || []).length < HISTORY_PAGE;
    drawClosed();
  }
  function drawClosed() {
    clear(closedBox).appendChild(table([
      ...orderColumns(),
      { label: t('col.status'), cell: (r) => t(`status.${r.status}`) + (r.reason ? ` (${t(`reason.${r.reason}`)})` : '') },
      { label: t('col.closed'), cell: (r) => (r.closed_ms ? fmt.dateTime(r.closed_ms) : '') },
    ], closedRows, {
      test: 'orders-closed', rowTest: 'closed-row', rowData: (r) => ({ order: String(r.order) }),
      caption: t('orders.closed'), empty: t('orders.closed.none'),
    }));
    if (!closedDone) {
      const older = el('button', { type: 'button', class: 'btn', test: 'orders-older', text: t('orders.older') });
      older.addEventListener('click', () => busy(older, () => loadClosed(true).catch((e) => ctx.toast(errorText(e), 'error'))));
      closedBox.appendChild(el('div', { class: 'actions' }, older));
    }
  }

  async function loadTrades() {
    const reply = await api.call('trades.list', { cc: ctx.me, limit: TRADES_SHOWN });
    clear(tradesBox).appendChild(table([
      { label: t('col.trade'), cell: (r) => String(r.trade), class: 'num' },
      { label: t('col.time'), cell: (r) => fmt.dateTime(r.time_ms) },
      { label: t('col.service'), cell: (r) => serviceLink(r.service) },
      { label: t('col.side'), cell: (r) => (r.buyer === ctx.me ? t('trades.bought') : t('trades.sold')) },
      { label: t('col.qty'), cell: (r) => fmt.qty(r.qty, unitOf(r.service)), class: 'num' },
      { label: t('col.price'), cell: (r) => fmt.money(r.price), class: 'num' },
      { label: t('col.counterparty'), cell: (r) => ctx.ccName(r.buyer === ctx.me ? r.seller : r.buyer) },
    ], reply.trades || [], {
      test: 'my-trades', rowTest: 'my-trade-row', rowData: (r) => ({ trade: String(r.trade) }),
      caption: t('trades.title'), empty: t('trades.none'),
    }));
  }

  /* The statement: a period picker, then the statement of that period. */
  const stmtView = el('div');
  let period = null;
  async function loadStatement() {
    await statementView(stmtView, ctx, ctx.me, period);
  }
  const first = await api.call('statement.get', {}).catch(() => null);
  if (first) {
    clear(statementBox).append(
      periodPicker(first.period, (p) => {
        period = p;
        loadStatement().catch((e) => ctx.toast(errorText(e), 'error'));
      }),
      stmtView);
  }

  async function refresh() {
    await Promise.all([loadOpen(), loadClosed(false), loadTrades(), loadStatement()]);
  }
  await refresh();

  let timer = null;
  /* A re-read redraws the open orders: not while a modify form is open
  ** (saving it re-reads); the other lists are re-read meanwhile. */
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const editing = root.querySelector('[data-test="modify-form"]');
      (editing ? Promise.all([loadClosed(false), loadTrades(), loadStatement()]) : refresh()).catch(() => {});
    }, 200);
  };
  const offs = [
    api.live.on('fill', soon),
    api.live.on('order.closed', soon),
    api.live.on('period.closed', soon),
    api.live.on('live.state', (e) => { if (e.state === 'reopened') soon(); }),
  ];
  return () => {
    clearTimeout(timer);
    offs.forEach((off) => off());
  };
}
