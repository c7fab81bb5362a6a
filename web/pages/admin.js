/*
** pages/admin.js -- #/admin, for the admin role: run the call of each
** call-auction service (auction.run, with an optional reference price) and
** close the open period (period.close, as finance may; the same panel).
*/
import * as api from '../api.js';
import { t, fmt, getLang, moneyContext } from '../i18n.js';
import { parseMoney, toWire } from '../money.js';
import { el, clear, field, table, section, showApiError, showFieldError, clearErrors, formError, busy } from '../ui.js';
import { closePeriodPanel } from './finance.js';

export async function render(root, ctx) {
  root.appendChild(el('h1', { text: t('admin.title') }));
  /* After a call the table is drawn again from the services' new best
  ** prices; each row keeps its last call's result. */
  const results = new Map();
  const box = el('div');
  async function draw() {
    await ctx.refreshServices();
    const auctions = Array.from(ctx.services.values()).filter((s) => s.mode === 'auction');
    clear(box).appendChild(table([
      { label: t('col.service'), cell: (s) => el('a', { href: `#/service/${encodeURIComponent(s.service)}`, text: s.name }) },
      { label: t('market.best_bid'), cell: (s) => best(s.bid, s.bid_qty), class: 'num nowrap' },
      { label: t('market.best_offer'), cell: (s) => best(s.offer, s.offer_qty), class: 'num nowrap' },
      { label: t('col.actions'), cell: (s) => auctionRunForm(ctx, s, {
        small: true,
        result: results.get(s.service),
        onRun: (text) => { results.set(s.service, text); return draw(); },
      }) },
    ], auctions, { test: 'auctions', rowTest: 'auction-row', rowData: (s) => ({ service: s.service }), caption: t('admin.auctions'), empty: t('admin.auctions.none') }));
  }
  await draw();
  root.appendChild(section(t('admin.auctions'), 'auctions-section', box));
  /* No request tells admin the open period's label (statement.get is
  ** finance's and the cost centre's): the panel says "the open period"
  ** until its close names it. */
  root.appendChild(section(t('finance.close'), 'admin-close-section', closePeriodPanel(ctx, null, null)));
  return null;
}

function best(price, qty) {
  return price === null || price === undefined ? '–' : `${fmt.money(price)} × ${fmt.int(qty)}`;
}

/* The form that runs the call of one auction service, with an optional
** reference price: a row of this page's table (small) and the service
** page's admin section. `result`: the text of a call already run;
** `onRun(text)` is called after a call (the admin table redraws). */
export function auctionRunForm(ctx, svc, { small = false, label = t('admin.run'), result: shown = '', onRun = null } = {}) {
  const { currency, decimals } = moneyContext();
  const ref = el('input', { type: 'text', inputmode: 'decimal', test: 'auction-reference' });
  const run = el('button', { type: 'submit', class: small ? 'btn btn-small' : 'btn', test: 'auction-run', text: label });
  const result = el('p', { class: 'result', test: 'auction-result', 'aria-live': 'polite', text: shown });
  const hint = t('order.price.hint', { currency, example: fmt.example(), tick: fmt.amount(svc.tick) });
  const form = el('form', { class: 'form inline-form', novalidate: true, dataset: { service: svc.service } },
    field('reference', t('admin.reference', { currency }), ref, { hint }), formError('auction-error'),
    el('div', { class: 'actions' }, run), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = { service: svc.service };
    if (ref.value.trim() !== '') {
      const p = parseMoney(ref.value, { decimals, locale: getLang() });
      if (!p.ok) return void showFieldError(form, 'reference', t(`money.${p.error}`, { example: fmt.example(), currency, decimals }));
      body.reference = toWire(p.minor);
    }
    await busy(run, async () => {
      try {
        const r = await api.call('auction.run', body);
        result.textContent = r.price === null || r.price === undefined
          ? t('admin.result.none', { service: svc.name })
          : t('admin.result', { service: svc.name, volume: fmt.qty(r.volume, svc.unit), price: fmt.money(r.price), surplus: fmt.qty(r.surplus, svc.unit) });
        ctx.toast(result.textContent);
        if (onRun) await onRun(result.textContent);
      } catch (e) {
        ctx.toast(showApiError(form, e, { price: 'reference' },
          { priceCap: svc.price_cap, price: body.reference }), 'error');
      }
    });
  });
  return form;
}
