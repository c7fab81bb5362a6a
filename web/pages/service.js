/*
** pages/service.js -- #/service/<id>: one service's book (offers with their
** providers and ratings; bids anonymous, by price level), its recent trades
** and their price chart, and the order form (bid or offer, as the cost
** centre's role allows) with the budget or capacity left. An engine error
** is shown at the field it names. The book and the trades follow the
** websocket (`top`, `trade`, and the party-only `fill`) without a reload.
*/
import * as api from '../api.js';
import { t, fmt, unitFor, getLang, moneyContext } from '../i18n.js';
import { parseMoney, toWire } from '../money.js';
import {
  el, clear, field, select, stars, table, section, errorText, showApiError,
  showFieldError, clearErrors, formError, busy, parseQty,
} from '../ui.js';
import { priceChart } from '../chart.js';
import { auctionRunForm } from './admin.js';

const BOOK_DEPTH = 10;
const TRADES_SHOWN_MAX = 50;

export async function render(root, ctx, params) {
  const id = params.id;
  if (!ctx.service(id)) await ctx.refreshServices();
  const svc = ctx.service(id);
  if (!svc) {
    root.appendChild(el('h1', { text: id }));
    root.appendChild(el('p', { class: 'form-error', role: 'alert', text: t('service.unknown', { id }) }));
    return null;
  }

  const bookBox = el('div', { class: 'book' });
  const tradesBox = el('div');
  const chartBox = el('div', { class: 'chart-box' });
  const balanceLine = el('p', { class: 'balance', 'aria-live': 'polite' });
  const trades = new Map(); /* trade id -> row (own rows have buyer/seller) */

  root.appendChild(el('h1', { test: 'service-title', text: svc.name || svc.service }));
  root.appendChild(el('p', { class: 'tags' },
    el('span', { class: 'tag', text: t('market.unit', { unit: svc.unit }) }),
    el('span', { class: 'tag', text: t(svc.mode === 'auction' ? 'market.mode.auction' : 'market.mode.continuous') }),
    svc.divisible === false ? el('span', { class: 'tag', text: t('market.indivisible') }) : null,
    el('span', { class: 'tag mono', text: svc.service })));
  if (svc.description) root.appendChild(el('p', { class: 'desc', text: svc.description }));
  root.appendChild(el('p', { class: 'muted small' },
    t('service.tick', { tick: fmt.money(svc.tick), lot: fmt.int(svc.lot), unit: unitFor(svc.lot, svc.unit) }),
    svc.price_cap ? `, ${t('service.price_cap', { cap: fmt.money(svc.price_cap) })}` : ''));

  const grid = el('div', { class: 'grid-2' });
  grid.appendChild(section(t('service.book'), 'book', bookBox));
  grid.appendChild(orderSection(ctx, svc, balanceLine, afterOrder));
  root.appendChild(grid);
  if (ctx.can('admin') && svc.mode === 'auction') root.appendChild(auctionSection(ctx, svc));
  root.appendChild(section(t('service.chart'), 'chart', chartBox));
  root.appendChild(section(t('service.trades'), 'trades-section',
    el('p', { class: 'muted small', text: t('service.trades.note') }), tradesBox));

  async function loadBook() {
    const book = await api.call('book.get', { service: id, depth: BOOK_DEPTH });
    clear(bookBox).append(offersTable(book), bidsTable(book));
  }
  async function loadTrades() {
    const reply = await api.call('trades.list', { service: id, limit: TRADES_SHOWN_MAX });
    for (const tr of reply.trades) trades.set(tr.trade, tr);
    drawTrades();
  }
  async function loadBalance() {
    if (!ctx.can('receiver') && !ctx.provides(id)) return;
    const b = await api.call('balance.get', {});
    clear(balanceLine);
    if (ctx.can('receiver')) {
      balanceLine.appendChild(el('span', { test: 'budget-left', text: t('order.budget_left', { amount: fmt.money(b.available) }) }));
    }
    const cap = (b.capacities || []).find((c) => c.service === id);
    if (cap) {
      if (balanceLine.firstChild) balanceLine.appendChild(document.createTextNode(' · '));
      balanceLine.appendChild(el('span', { test: 'capacity-left', text: t('order.capacity_left', { qty: fmt.int(cap.available), unit: unitFor(cap.available, svc.unit) }) }));
    }
  }
  function drawTrades() {
    const rows = Array.from(trades.values()).sort((a, b) => b.trade - a.trade).slice(0, TRADES_SHOWN_MAX);
    clear(tradesBox).appendChild(table([
      { label: t('col.trade'), cell: (r) => String(r.trade), class: 'num' },
      { label: t('col.time'), cell: (r) => fmt.dateTime(r.time_ms) },
      { label: t('col.qty'), cell: (r) => fmt.int(r.qty), class: 'num' },
      { label: t('col.price'), cell: (r) => fmt.money(r.price), class: 'num' },
      { label: t('col.side'), cell: (r) => (r.buyer === ctx.me ? t('trades.bought') : r.seller === ctx.me ? t('trades.sold') : '') },
    ], rows, { test: 'trades', rowTest: 'trade-row', rowData: (r) => ({ trade: String(r.trade) }), caption: t('service.trades'), empty: t('service.no_trades') }));
    const oldestFirst = rows.slice().reverse();
    clear(chartBox).appendChild(priceChart(oldestFirst));
  }
  function offersTable(book) {
    return el('div', {},
      el('h3', { text: t('service.offers') }),
      table([
        { label: t('col.price'), cell: (r) => fmt.money(r.price), class: 'num' },
        { label: t('col.qty'), cell: (r) => `${fmt.int(r.qty)}${r.aon ? ` (${t('market.indivisible')})` : ''}`, class: 'num' },
        { label: t('col.provider'), cell: (r) => r.name || r.cc },
        { label: t('col.site'), cell: (r) => r.site || '' },
        { label: t('col.rating'), cell: (r) => stars(r.stars_sum, r.ratings) },
      ], book.offer_orders || [], {
        test: 'book-offers', rowTest: 'offer-row', caption: t('service.offers'),
        rowData: (r) => ({ cc: r.cc, order: String(r.order) }), empty: t('service.no_offers'),
      }));
  }
  function bidsTable(book) {
    return el('div', {},
      el('h3', { text: t('service.bids') }),
      el('p', { class: 'muted small', text: t('service.bids.note') }),
      table([
        { label: t('col.price'), cell: (r) => fmt.money(r.price), class: 'num' },
        { label: t('col.qty'), cell: (r) => fmt.int(r.qty), class: 'num' },
        { label: t('col.orders'), cell: (r) => fmt.int(r.orders), class: 'num' },
      ], book.bids || [], { test: 'book-bids', rowTest: 'bid-row', caption: t('service.bids'), empty: t('service.no_bids') }));
  }
  async function afterOrder(reply) {
    for (const tr of reply.trades || []) trades.set(tr.trade, tr);
    drawTrades();
    await Promise.all([loadBook(), loadBalance()]).catch((e) => ctx.toast(errorText(e), 'error'));
  }

  await Promise.all([loadBook(), loadTrades(), loadBalance()]);

  /* Live: one book re-read per burst of events. */
  let bookTimer = null;
  function bookSoon() {
    clearTimeout(bookTimer);
    bookTimer = setTimeout(() => loadBook().catch(() => {}), 120);
  }
  const offs = [
    api.live.on('top', (e) => { if (e.service === id) bookSoon(); }),
    api.live.on('trade', (e) => {
      if (e.service !== id) return;
      if (!trades.has(e.trade)) trades.set(e.trade, { trade: e.trade, qty: e.qty, price: e.price, time_ms: e.time_ms });
      drawTrades();
      bookSoon();
    }),
    api.live.on('fill', (e) => {
      const known = trades.get(e.trade) || { trade: e.trade, qty: e.qty, price: e.price, time_ms: e.time_ms };
      if (e.service === id) {
        trades.set(e.trade, { ...known, buyer: e.side === 'bid' ? ctx.me : e.counterparty, seller: e.side === 'offer' ? ctx.me : e.counterparty });
        drawTrades();
        loadBalance().catch(() => {});
      }
    }),
    api.live.on('order.closed', (e) => { if (e.service === id) loadBalance().catch(() => {}); }),
    api.live.on('live.state', (e) => {
      if (e.state === 'reopened') Promise.all([loadBook(), loadTrades(), loadBalance()]).catch(() => {});
    }),
  ];
  return () => {
    clearTimeout(bookTimer);
    offs.forEach((off) => off());
  };
}

/* The order form. `done(reply)` runs after an accepted order. */
function orderSection(ctx, svc, balanceLine, done) {
  const sides = [];
  if (ctx.can('receiver')) sides.push('bid');
  if (ctx.provides(svc.service)) sides.push('offer');
  if (sides.length === 0) {
    return section(t('order.title'), 'order', el('p', { class: 'muted', text: t('order.cannot') }));
  }
  const { currency, decimals } = moneyContext();
  /* The side: radios where both are possible, else a line of text (keeping
  ** the order-side-<side> name). */
  const sideInputs = {};
  let sideSet;
  if (sides.length === 1) {
    sideSet = el('div', { class: 'field field-side' },
      el('p', { class: 'side-fixed', test: `order-side-${sides[0]}` },
        el('span', { class: 'label-text', text: `${t('order.side')}: ` }), el('strong', { text: t(`side.${sides[0]}`) })));
  } else {
    sideSet = el('fieldset', { class: 'field field-side' }, el('legend', { text: t('order.side') }));
    for (const s of sides) {
      const input = el('input', { type: 'radio', name: 'side', value: s, test: `order-side-${s}`, id: `order-side-${s}`, checked: s === sides[0] });
      sideInputs[s] = input;
      sideSet.appendChild(el('div', { class: 'radio' }, input, el('label', { for: input.id, text: t(`side.${s}`) })));
    }
  }
  sideSet.appendChild(el('p', { class: 'field-error', test: 'field-error-side', dataset: { field: 'side' }, 'aria-live': 'polite' }));
  const qty = el('input', { type: 'text', inputmode: 'numeric', test: 'order-qty', autocomplete: 'off' });
  const price = el('input', { type: 'text', inputmode: 'decimal', test: 'order-price', autocomplete: 'off' });
  const tif = select(['gtc', 'period', 'ioc', 'fok'].map((v) => ({ value: v, label: t(`tif.${v}`) })), { test: 'order-tif' });
  const aon = el('input', { type: 'checkbox', test: 'order-aon' });
  if (svc.divisible === false) {
    aon.checked = true;
    aon.disabled = true;
  }
  const minStars = select([{ value: '', label: t('order.min_stars.none') },
    ...[10, 20, 30, 35, 40, 45, 50].map((v) => ({ value: String(v), label: t('order.min_stars.value', { stars: fmt.tenths(v) }) }))],
  { test: 'order-min-stars' });
  const allowUnrated = el('input', { type: 'checkbox', test: 'order-allow-unrated' });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', test: 'order-submit' });
  const error = formError('order-error');
  const bidOnly = el('div', { class: 'bid-only' },
    field('min_stars', t('order.min_stars'), minStars),
    field('allow_unrated', t('order.allow_unrated'), allowUnrated, { inline: true }));
  const form = el('form', { class: 'form order-form', test: 'order-form', novalidate: true },
    sideSet,
    field('qty', t('order.qty', { unit: svc.unit }), qty),
    field('price', t('order.price', { unit: svc.unit, currency }), price,
      { hint: t('order.price.hint', { currency, example: fmt.example(), tick: fmt.amount(svc.tick) }) }),
    field('tif', t('order.tif'), tif),
    field('aon', t('order.aon'), aon, { inline: true, hint: svc.divisible === false ? t('order.aon.required') : null }),
    bidOnly,
    error,
    el('div', { class: 'actions' }, submit),
    balanceLine);

  function side() {
    return sides.find((s) => sideInputs[s] && sideInputs[s].checked) || sides[0];
  }
  function sync() {
    const s = side();
    submit.textContent = t(s === 'bid' ? 'order.submit.bid' : 'order.submit.offer');
    bidOnly.hidden = s !== 'bid';
    allowUnrated.disabled = minStars.value === '';
    if (minStars.value === '') allowUnrated.checked = false;
  }
  Object.values(sideInputs).forEach((i) => i.addEventListener('change', sync));
  minStars.addEventListener('change', sync);
  sync();

  /* One id per submission; a retry after a network failure reuses it, so
  ** the daemon answers a repeat instead of placing a second order. */
  let pendingId = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const q = parseQty(qty.value);
    const p = parseMoney(price.value, { decimals, locale: getLang() });
    let bad = false;
    if (!q.ok) {
      showFieldError(form, 'qty', t(q.error));
      bad = true;
    }
    if (!p.ok) {
      showFieldError(form, 'price', t(`money.${p.error}`, { example: fmt.example(), currency, decimals }));
      bad = true;
    } else if (p.minor === 0n) {
      showFieldError(form, 'price', t('reason.bad_price'));
      bad = true;
    }
    if (bad) return;
    const s = side();
    const body = { service: svc.service, side: s, qty: q.value, price: toWire(p.minor), tif: tif.value };
    if (aon.checked) body.aon = true;
    if (s === 'bid' && minStars.value) {
      body.min_stars = Number(minStars.value);
      if (allowUnrated.checked) body.allow_unrated = true;
    }
    if (!pendingId) pendingId = api.newId();
    body.id = pendingId;
    await busy(submit, async () => {
      try {
        const reply = await api.call('order.new', body);
        pendingId = null;
        const vals = { order: reply.order, filled: fmt.int(reply.qty_filled), open: fmt.int(reply.qty_open), unit: unitFor(reply.qty_filled, svc.unit),
          reason: reply.reason ? t(`reason.${reply.reason}`) : '' };
        ctx.toast(t(reply.status === 'filled' ? 'order.placed.filled' : reply.status === 'cancelled' ? 'order.placed.cancelled' : 'order.placed.open', vals),
          reply.status === 'cancelled' ? 'warn' : 'ok');
        qty.value = '';
        await done(reply);
      } catch (e) {
        if (e.code !== 'network') pendingId = null;
        /* Shown at the field or in the form's line: no toast besides. */
        showApiError(form, e, {}, { priceCap: svc.price_cap, price: body.price });
      }
    });
  });
  const sec = section(t('order.title'), 'order', form);
  sec.classList.add('order-first');
  return sec;
}

/* Admin: run the call of an auction service, with an optional reference. */
function auctionSection(ctx, svc) {
  return section(t('admin.auctions'), 'auction', auctionRunForm(ctx, svc, { label: t('service.run_call') }));
}
