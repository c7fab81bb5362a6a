/*
** pages/tenders.js -- #/tenders and #/tenders/<id>.
** A receiver asks for quotes (tender.new: service, quantity, ceiling,
** deadline, decided by lowest price, its own choice or a score with
** weights), sees its open tenders and, on a tender's page, every quote with
** the provider's site, rating and (score tenders) score, awards one
** (choose) or cancels the tender. A provider sees the open tenders of its
** services, quotes on them and withdraws its quote; it sees its own quote
** only (sealed bids). tender.* events of the websocket re-read the lists.
*/
import * as api from '../api.js';
import { t, fmt, getLang, moneyContext } from '../i18n.js';
import { parseMoney, toWire } from '../money.js';
import {
  el, clear, field, select, table, section, stars, errorText, showApiError,
  showFieldError, clearErrors, formError, busy, parseQty,
} from '../ui.js';

const UNIT_MS = { minutes: 60000, hours: 3600000, days: 86400000 };

export async function render(root, ctx, params) {
  if (params.tender) return renderOne(root, ctx, Number(params.tender));
  root.appendChild(el('h1', { text: t('tenders.title') }));
  const mineBox = el('div');
  const provBox = el('div');
  if (ctx.can('receiver')) {
    root.appendChild(section(t('tenders.new'), 'tender-new', tenderForm(ctx, () => load())));
    root.appendChild(section(t('tenders.mine'), 'tenders-mine-section', mineBox));
  }
  const provides = ctx.can('provider');
  if (provides) root.appendChild(section(t('tenders.provider'), 'tenders-provider-section', provBox));

  /* keep (the live re-read's): when it says so once the reply is here, the
  ** lists stay as they are, and load says false. */
  async function load(keep) {
    const reply = await api.call('tender.list', { limit: 1000 });
    if (keep && keep()) return false;
    const rows = reply.tenders || [];
    if (ctx.can('receiver')) drawMine(rows.filter((r) => r.buyer === ctx.me));
    if (provides) drawProvider(rows.filter((r) => r.buyer !== ctx.me));
  }
  const svcName = (s) => (ctx.service(s) ? ctx.service(s).name : s);
  const link = (r) => el('a', { href: `#/tenders/${r.tender}`, test: 'tender-link', 'aria-label': t('tenders.show', { tender: r.tender }), text: String(r.tender) });
  function decideText(r) {
    return r.decide === 'score' ? `${t('decide.score')} (${r.price_weight}/${r.quality_weight})` : t(`decide.${r.decide}`);
  }
  function drawMine(rows) {
    clear(mineBox).appendChild(table([
      { label: t('col.tender'), cell: link, class: 'num' },
      { label: t('col.service'), cell: (r) => svcName(r.service) },
      { label: t('col.qty'), cell: (r) => fmt.qty(r.qty, ctx.service(r.service) ? ctx.service(r.service).unit : ''), class: 'num' },
      { label: t('col.ceiling'), cell: (r) => fmt.money(r.ceiling), class: 'num' },
      { label: t('col.decide'), cell: decideText },
      { label: t('col.quotes'), cell: (r) => fmt.int(r.quote_count), class: 'num' },
      { label: t('col.deadline'), cell: (r) => fmt.dateTime(r.deadline_time_ms) },
    ], rows, { test: 'tenders-mine', rowTest: 'tender-row', rowData: (r) => ({ tender: String(r.tender) }), caption: t('tenders.mine'), empty: t('tenders.mine.none') }));
  }
  function drawProvider(rows) {
    clear(provBox).appendChild(table([
      { label: t('col.tender'), cell: link, class: 'num' },
      { label: t('col.service'), cell: (r) => svcName(r.service) },
      { label: t('col.buyer'), cell: (r) => ctx.ccName(r.buyer) },
      { label: t('col.qty'), cell: (r) => fmt.qty(r.qty, ctx.service(r.service) ? ctx.service(r.service).unit : ''), class: 'num' },
      { label: t('col.ceiling'), cell: (r) => fmt.money(r.ceiling), class: 'num' },
      { label: t('col.decide'), cell: decideText },
      { label: t('col.deadline'), cell: (r) => fmt.dateTime(r.deadline_time_ms) },
      { label: t('col.quote'), cell: (r) => quoteCell(ctx, r, load) },
    ], rows, { test: 'tenders-provider', rowTest: 'provider-tender-row', rowData: (r) => ({ tender: String(r.tender) }), caption: t('tenders.provider'), empty: t('tenders.provider.none') }));
  }

  await load();
  return liveTenders(ctx, load, [mineBox, provBox]);
}

/* The websocket's tender events: a toast for the ones about me, a re-read.
** reload(keep) re-reads, and draws unless keep() says no once the reply is
** there (then it answers false); it redraws what is in boxes. */
function liveTenders(ctx, reload, boxes) {
  let timer = null;
  // A re-read replaces the lists and their forms: not while a person is in
  // one of them, nor once they typed into one and went on (what they typed
  // would go): it comes when they leave the field, and after a form they
  // typed into was sent (its own redraw makes a new, untouched form). Only
  // the forms it replaces count: the new-tender form stays as it is, and a
  // draft there must not stop the lists below it for good.
  const ours = (x) => boxes.some((b) => b.contains(x));
  // typed is what differs from the form as drawn: a field emptied again
  // lets the re-reads come
  const typed = (b) => Array.from(b.querySelectorAll('form input, form textarea'))
    .some((x) => x.value !== x.defaultValue);
  const editing = () => {
    const a = document.activeElement;
    if (a != null && a.matches('input, textarea, select') && a.closest('form') != null && ours(a)) return true;
    return boxes.some(typed);
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (editing()) return soon();
      reload(editing).then((drawn) => { if (drawn === false) soon(); }, () => {});
    }, 150);
  };
  const offs = [
    api.live.on('tender.opened', (e) => {
      if (ctx.provides(e.service) && e.buyer !== ctx.me) {
        ctx.toast(t('tenders.live.opened', { tender: e.tender, service: ctx.service(e.service) ? ctx.service(e.service).name : e.service }));
        soon();
      }
    }),
    api.live.on('tender.quoted', (e) => {
      ctx.toast(t('tenders.live.quoted', { tender: e.tender, n: fmt.int(e.quote_count) }));
      soon();
    }),
    api.live.on('tender.awarded', (e) => {
      ctx.toast(t('tenders.live.awarded', { tender: e.tender, qty: fmt.int(e.qty), price: fmt.money(e.price) }));
      soon();
    }),
    api.live.on('tender.lapsed', (e) => {
      ctx.toast(t('tenders.live.lapsed', { tender: e.tender }), 'warn');
      soon();
    }),
    api.live.on('live.state', (e) => { if (e.state === 'reopened') soon(); }),
  ];
  return () => {
    clearTimeout(timer);
    offs.forEach((off) => off());
  };
}

function tenderForm(ctx, done) {
  const { currency, decimals } = moneyContext();
  const service = select(Array.from(ctx.services.values()).map((s) => ({ value: s.service, label: `${s.name} (${s.unit})` })), { test: 'tender-service' });
  const qty = el('input', { type: 'text', inputmode: 'numeric', test: 'tender-qty' });
  const ceiling = el('input', { type: 'text', inputmode: 'decimal', test: 'tender-ceiling' });
  const deadline = el('input', { type: 'text', inputmode: 'numeric', test: 'tender-deadline', value: '24' });
  const unit = select(['minutes', 'hours', 'days'].map((u) => ({ value: u, label: t(`tenders.${u}`), selected: u === 'hours' })), { test: 'tender-deadline-unit', 'aria-label': t('tenders.deadline.unit') });
  const decide = select(['lowest', 'choose', 'score'].map((d) => ({ value: d, label: t(`decide.${d}`) })), { test: 'tender-decide' });
  const pw = el('input', { type: 'text', inputmode: 'numeric', test: 'tender-price-weight', value: '60' });
  const qw = el('input', { type: 'text', inputmode: 'numeric', test: 'tender-quality-weight', value: '40' });
  const weights = el('div', { class: 'weights' },
    field('price_weight', t('tenders.price_weight'), pw, { hint: t('tenders.weights.hint') }),
    field('quality_weight', t('tenders.quality_weight'), qw));
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', test: 'tender-submit', text: t('tenders.submit') });
  const deadlineField = field('deadline_ms', t('tenders.deadline'), deadline);
  /* the number and its unit side by side, the unit labelled by aria-label */
  const row = el('div', { class: 'deadline-row' });
  deadlineField.insertBefore(row, deadline);
  row.append(deadline, unit);
  const form = el('form', { class: 'form tender-form', test: 'tender-form', novalidate: true },
    field('service', t('tenders.service'), service),
    field('qty', t('tenders.qty'), qty),
    field('ceiling', t('tenders.ceiling', { currency }), ceiling, { hint: t('order.price.hint', { currency, example: fmt.example(), tick: fmt.amount(1) }) }),
    deadlineField,
    field('decide', t('tenders.decide'), decide),
    weights,
    formError('tender-error'),
    el('div', { class: 'actions' }, submit));
  /* The ceiling's hint names the service's tick. */
  const hint = form.querySelector('.field-ceiling .hint');
  const syncService = () => {
    const s = ctx.service(service.value);
    if (s && hint) hint.textContent = t('order.price.hint', { currency, example: fmt.example(), tick: fmt.amount(s.tick) });
  };
  const syncDecide = () => { weights.hidden = decide.value !== 'score'; };
  service.addEventListener('change', syncService);
  decide.addEventListener('change', syncDecide);
  syncService();
  syncDecide();

  let pendingId = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const q = parseQty(qty.value);
    const c = parseMoney(ceiling.value, { decimals, locale: getLang() });
    const d = parseQty(deadline.value, 1000000);
    let bad = false;
    const flag = (name, text) => {
      showFieldError(form, name, text);
      bad = true;
    };
    if (!q.ok) flag('qty', t(q.error));
    if (!c.ok) flag('ceiling', t(`money.${c.error}`, { example: fmt.example(), currency, decimals }));
    if (!d.ok) flag('deadline_ms', t(d.error));
    const body = { service: service.value, decide: decide.value };
    if (decide.value === 'score') {
      /* Whole percent 0..100 each; the engine checks that they sum to 100. */
      const percent = (x) => (/^\s*\d{1,3}\s*$/.test(x) && Number(x.trim()) <= 100 ? Number(x.trim()) : null);
      body.price_weight = percent(pw.value);
      body.quality_weight = percent(qw.value);
      if (body.price_weight === null) flag('price_weight', t('reason.bad_weights'));
      if (body.quality_weight === null) flag('quality_weight', t('reason.bad_weights'));
    }
    if (bad) return;
    body.qty = q.value;
    body.ceiling = toWire(c.minor);
    body.deadline_ms = d.value * UNIT_MS[unit.value];
    if (!pendingId) pendingId = api.newId();
    body.id = pendingId;
    await busy(submit, async () => {
      try {
        const r = await api.call('tender.new', body);
        pendingId = null;
        /* No toast: one's own new tender shows in the list of one's tenders. */
        qty.value = '';
        ceiling.value = '';
        await done(r);
      } catch (e) {
        if (e.code !== 'network') pendingId = null;
        ctx.toast(showApiError(form, e, { price: 'ceiling' }), 'error');
      }
    });
  });
  return form;
}

/* A provider's cell: its standing quote with withdraw, or a quote form. */
function quoteCell(ctx, r, reload) {
  if (r.my_quote) {
    const withdraw = el('button', { type: 'button', class: 'btn btn-small btn-danger', test: 'quote-withdraw', text: t('tenders.withdraw') });
    withdraw.addEventListener('click', () => busy(withdraw, async () => {
      try {
        const w = await api.call('quote.withdraw', { tender: r.tender });
        ctx.toast(t('tenders.withdrawn', { quote: w.quote }));
      } catch (e) {
        ctx.toast(errorText(e), 'error');
      }
      await reload();
    }));
    return el('div', { class: 'my-quote' },
      el('span', { test: 'my-quote', dataset: { quote: String(r.my_quote) }, text: t('tenders.my_quote', { price: fmt.money(r.my_price) }) }), ' ', withdraw);
  }
  if (!ctx.provides(r.service)) return '';
  return quoteForm(ctx, r, reload);
}

function quoteForm(ctx, r, reload) {
  const { currency, decimals } = moneyContext();
  const price = el('input', { type: 'text', inputmode: 'decimal', test: 'quote-price' });
  const submit = el('button', { type: 'submit', class: 'btn btn-primary btn-small', test: 'quote-submit', text: t('tenders.quote.submit') });
  const form = el('form', { class: 'form inline-form quote-form', test: 'quote-form', novalidate: true, dataset: { tender: String(r.tender) } },
    field('price', t('tenders.quote.price', { currency }), price), formError('quote-error'), el('div', { class: 'actions' }, submit));
  let pendingId = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const p = parseMoney(price.value, { decimals, locale: getLang() });
    if (!p.ok) return void showFieldError(form, 'price', t(`money.${p.error}`, { example: fmt.example(), currency, decimals }));
    if (!pendingId) pendingId = api.newId();
    await busy(submit, async () => {
      try {
        const q = await api.call('tender.quote', { id: pendingId, tender: r.tender, price: toWire(p.minor) });
        pendingId = null;
        ctx.toast(t('tenders.quoted', { quote: q.quote, tender: q.tender }));
        await reload();
      } catch (e) {
        if (e.code !== 'network') pendingId = null;
        ctx.toast(showApiError(form, e), 'error');
        /* The tender ended (or has our quote from elsewhere): the price
        ** typed can never go, and the form that holds it would keep the
        ** live re-reads away for good. The toast says why; redraw. */
        if (e.reason === 'unknown_tender' || e.reason === 'already_quoted') await reload().catch(() => {});
      }
    });
  });
  return form;
}

/* #/tenders/<id>: one tender, as its receiver or as a provider sees it. */
async function renderOne(root, ctx, id) {
  root.appendChild(el('p', {}, el('a', { href: '#/tenders', text: `← ${t('tenders.back')}` })));
  root.appendChild(el('h1', { text: t('tenders.detail', { tender: id }) }));
  const box = el('div', { test: 'tender-detail', dataset: { tender: String(id) } });
  root.appendChild(box);

  async function load(keep) {
    let tg;
    try {
      tg = await api.call('tender.get', { tender: id });
    } catch (e) {
      if (keep && keep()) return false;
      if (e.code === 'not_found') {
        clear(box).appendChild(el('p', { class: 'notice warn', test: 'tender-gone', text: t('tenders.gone', { tender: id }) }));
        return;
      }
      throw e;
    }
    if (keep && keep()) return false;
    clear(box);
    const svc = ctx.service(tg.service);
    box.appendChild(el('p', { class: 'lead', text: t('tenders.summary', {
      qty: fmt.int(tg.qty), service: svc ? svc.name : tg.service, buyer: tg.buyer_name || ctx.ccName(tg.buyer),
      site: tg.buyer_site || '', ceiling: fmt.money(tg.ceiling), decide: t(`decide.${tg.decide}`),
      deadline: fmt.dateTime(tg.deadline_time_ms),
    }) }));
    if (tg.decide === 'score') box.appendChild(el('p', { text: t('tenders.weights', { price: tg.price_weight, quality: tg.quality_weight }) }));
    const mine = tg.buyer === ctx.me;
    if (!mine) box.appendChild(el('p', { class: 'muted', text: t('tenders.sealed', { n: fmt.int(tg.quote_count) }) }));
    const cols = [
      { label: t('col.quote'), cell: (q) => String(q.quote), class: 'num' },
      { label: t('col.provider'), cell: (q) => q.name || ctx.ccName(q.provider) },
      { label: t('col.site'), cell: (q) => q.site || '' },
      { label: t('col.rating'), cell: (q) => stars(q.stars_sum, q.ratings) },
      { label: t('col.price'), cell: (q) => fmt.money(q.price), class: 'num' },
    ];
    if (tg.decide === 'score') cols.push({ label: t('col.score'), cell: (q) => (q.score === undefined ? '' : fmt.score(q.score)), class: 'num' });
    if (mine && tg.decide === 'choose') cols.push({ label: t('col.actions'), cell: (q) => awardButton(q), class: 'col-actions' });
    const quotesSection = section(t('tenders.quotes'), 'quotes-section', table(cols, tg.quotes || [], {
      test: 'quotes', rowTest: 'quote-row', rowData: (q) => ({ quote: String(q.quote), cc: q.provider }),
      caption: t('tenders.quotes'), empty: t('tenders.quotes.none'),
    }));
    box.appendChild(quotesSection);
    if (mine) {
      const cancel = el('button', { type: 'button', class: 'btn btn-danger', test: 'tender-cancel', text: t('tenders.cancel') });
      cancel.addEventListener('click', () => busy(cancel, async () => {
        try {
          await api.call('tender.cancel', { tender: id });
          ctx.toast(t('tenders.cancelled', { tender: id }));
        } catch (e) {
          ctx.toast(errorText(e), 'error');
        }
        await load();
      }));
      box.appendChild(el('div', { class: 'actions' }, cancel));
    } else if (ctx.provides(tg.service)) {
      const row = { ...tg, my_quote: tg.my_quote, my_price: tg.my_price };
      box.appendChild(section(t('col.quote'), 'my-quote-section', quoteCell(ctx, row, load)));
    }
  }
  function awardButton(q) {
    const b = el('button', { type: 'button', class: 'btn btn-small btn-primary', test: 'quote-award', text: t('tenders.award'),
      'aria-label': t('tenders.award.label', { quote: q.quote, provider: q.name || q.provider }) });
    let pendingId = null;
    b.addEventListener('click', () => busy(b, async () => {
      if (!pendingId) pendingId = api.newId();
      try {
        const r = await api.call('tender.award', { id: pendingId, tender: id, quote: q.quote });
        pendingId = null;
        const trade = r.trades && r.trades[0] ? r.trades[0].trade : '';
        ctx.toast(t('tenders.awarded', { tender: r.tender, quote: r.quote, trade }));
      } catch (e) {
        if (e.code !== 'network') pendingId = null;
        ctx.toast(errorText(e), 'error');
      }
      await load();
    }));
    return b;
  }

  await load();
  return liveTenders(ctx, load, [box]);
}
