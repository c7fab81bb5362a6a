/*
** pages/finance.js -- #/finance, for the finance role: a period's overview
** (per service: trades, units, amount; per cost centre: budget, spent,
** earned and, for the open period, what is available), closing the open
** period after a confirmation (period.close, with its summary and the cost
** centres over budget), verifying the ledger (POST /api/ledger.verify), the
** exports of a period (/api/export) and any cost centre's statement.
** The overview's figures are period.summary's (the ledger's per service
** and cost centre, and the engine's reserved and available), one request
** per 1,000 cost centres; the total is added up here exactly (BigInt).
*/
import * as api from '../api.js';
import { t, fmt } from '../i18n.js';
import { toBigInt } from '../money.js';
import { el, clear, append, field, select, table, section, errorText, busy, downloadLink } from '../ui.js';
import { statementView, periodPicker } from './statement.js';

const EXPORTS = ['csv', 'sap', 'hledger', 'beancount'];

export async function render(root, ctx) {
  root.appendChild(el('h1', { text: t('finance.title') }));
  const own = await api.call('statement.get', { cc: ctx.me });
  let openLabel = own.period;
  let period = openLabel;

  const overviewBox = el('div', { test: 'finance-overview' });
  const exportsBox = el('div');
  const pickerBox = el('div');
  root.appendChild(section(t('finance.overview'), 'finance-overview-section', pickerBox, overviewBox));
  root.appendChild(section(t('finance.exports'), 'finance-exports-section', exportsBox));
  const closeBox = el('div');
  root.appendChild(section(t('finance.close'), 'finance-close-section', closeBox));
  root.appendChild(section(t('finance.verify'), 'finance-verify-section', verifyPanel(ctx)));
  const stmtBox = el('div');
  root.appendChild(section(t('finance.statement'), 'finance-statement-section', statementPicker(ctx, () => period, stmtBox), stmtBox));

  function drawPicker() {
    clear(pickerBox).appendChild(periodPicker(openLabel, (p) => {
      period = p;
      drawExports();
      loadOverview().catch((e) => ctx.toast(errorText(e), 'error'));
    }, 'finance-period'));
  }
  function drawExports() {
    const list = el('ul', { class: 'plain exports' });
    for (const f of EXPORTS) {
      list.appendChild(el('li', {}, downloadLink(`/api/export?format=${f}&period=${encodeURIComponent(period)}`,
        `${t(`finance.export.${f}`)}, ${period}`, `export-${f}`, ctx.toast)));
    }
    list.appendChild(el('li', {}, downloadLink('/api/export?format=ratings', t('finance.export.ratings'), 'export-ratings', ctx.toast)));
    if (period === openLabel) list.appendChild(el('li', { class: 'hint', text: t('finance.export.open') }));
    clear(exportsBox).appendChild(list);
  }
  function drawClose() {
    clear(closeBox).appendChild(closePeriodPanel(ctx, openLabel, (reply) => {
      /* the panel shows the summary and offers to close the new period */
      openLabel = reply.opened;
      period = reply.period;
      drawPicker();
      pickerBox.querySelector('select').value = period;
      drawExports();
      loadOverview().catch(() => {});
    }));
  }

  /* Every page of period p's summary, all of one moment: the period may
  ** close while the pages are read (more than 1,000 cost centres), which
  ** shows as a page no longer open or as period_moved; then it is read
  ** again, a few times at most. */
  async function readSummary(p) {
    const pagesMax = Math.ceil(ctx.ccs.size / 1000) + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const pages = await api.callPages('period.summary', { period: p }, pagesMax);
        if (pages.every((pg) => pg.open === pages[0].open) || attempt >= 3) return pages;
      } catch (e) {
        if (e.reason !== 'period_moved' || attempt >= 3) throw e;
      }
    }
  }

  async function loadOverview() {
    const p = period;
    /* One period.summary per 1,000 cost centres (a page covers that many
    ** of the market file, listing those with a budget or trades). */
    const pages = await readSummary(p);
    if (p !== period) return;
    const isOpen = pages[0].open;
    /* Per service, in the market file's order (the reply's is by id). */
    const bySvc = new Map((pages[0].services || []).map((s) => [s.service, s]));
    const svcRows = [...Array.from(ctx.services.keys()).filter((s) => bySvc.has(s)),
      ...Array.from(bySvc.keys()).filter((s) => !ctx.services.has(s))].map((s) => bySvc.get(s));
    const total = svcRows.reduce((a, r) => a + toBigInt(r.amount), 0n);
    const omitted = pages[0].services_omitted || 0;
    const svcName = (s) => (ctx.service(s) ? ctx.service(s).name : s);
    /* Only the cost centres with a budget or trades: the reply lists no
    ** others (a finance or admin centre that neither buys nor provides). */
    const ccRows = pages.flatMap((r) => r.ccs || [])
      .map((row) => ({ cc: ctx.ccs.get(row.cc) || { cc: row.cc, name: row.cc, site: '' }, row }));
    /* A row read after a close has no reserved or available: '–' too. */
    const hasBudget = (r) => toBigInt(r.row.budget) > 0n && r.row.reserved !== undefined;
    append(clear(overviewBox), [
      el('h3', { text: t('finance.by_service') }),
      table([
        { label: t('col.service'), cell: (r) => svcName(r.service) },
        { label: t('col.trades'), cell: (r) => fmt.int(r.trades), class: 'num' },
        { label: t('col.units'), cell: (r) => fmt.qty(r.units, ctx.service(r.service) ? ctx.service(r.service).unit : ''), class: 'num' },
        { label: t('col.amount'), cell: (r) => fmt.money(r.amount), class: 'num' },
      ], svcRows, { test: 'finance-services', rowTest: 'finance-service-row', rowData: (r) => ({ service: r.service }), caption: t('finance.by_service'), empty: t('finance.no_trades') }),
      svcRows.length ? el('p', { class: 'total', test: 'finance-total', text: `${t('finance.total')}: ${fmt.money(total)}` }) : null,
      omitted ? el('p', { class: 'muted', text: t('finance.services_omitted', { n: fmt.int(omitted) }) }) : null,
      el('h3', { text: t('finance.by_cc') }),
      table([
        { label: t('col.cc'), cell: (r) => `${r.cc.name} (${r.cc.cc})` },
        { label: t('col.site'), cell: (r) => r.cc.site || '' },
        { label: t('col.budget'), cell: (r) => fmt.money(r.row.budget), class: 'num' },
        { label: t('col.spent'), cell: (r) => fmt.money(r.row.spent), class: 'num' },
        { label: t('col.earned'), cell: (r) => fmt.money(r.row.earned), class: 'num' },
        ...(isOpen ? [
          /* A provider without a budget has nothing reserved or available. */
          { label: t('col.reserved'), cell: (r) => (hasBudget(r) ? fmt.money(r.row.reserved) : '–'), class: 'num' },
          { label: t('col.available'), cell: (r) => (hasBudget(r) ? fmt.money(r.row.available) : '–'), class: 'num' },
        ] : []),
      ], ccRows, { test: 'finance-ccs', rowTest: 'finance-cc-row', rowData: (r) => ({ cc: r.cc.cc }), caption: t('finance.by_cc') })]);
  }

  drawPicker();
  drawExports();
  drawClose();
  await loadOverview();
  const off = api.live.on('period.closed', (e) => {
    if (e.period !== openLabel) return;
    api.call('statement.get', { cc: ctx.me }).then((st) => {
      openLabel = st.period;
      drawPicker();
      drawClose();
    }).catch(() => {});
  });
  return off;
}

/* "Close period X…", then a confirmation, then period.close and its
** summary. Shared with the admin page (admin may close periods too). */
export function closePeriodPanel(ctx, openLabel, closed) {
  let label = openLabel;
  const box = el('div', { class: 'close-panel' });
  const result = el('div', { test: 'period-close-result', 'aria-live': 'polite' });
  const ask = el('button', { type: 'button', class: 'btn btn-danger', test: 'period-close', 'aria-expanded': 'false' });
  const confirmBox = el('div', { class: 'confirm', hidden: true, role: 'group', 'aria-label': t('finance.close') });
  const explain = el('p');
  const yes = el('button', { type: 'button', class: 'btn btn-danger', test: 'period-close-confirm' });
  const no = el('button', { type: 'button', class: 'btn', test: 'period-close-cancel', text: t('finance.close.keep') });
  confirmBox.append(explain, el('div', { class: 'actions' }, yes, no));
  /* label null: the open period's label is not known (admin). */
  const labels = () => {
    const k = label === null ? '.open' : '';
    ask.textContent = t(`finance.close.ask${k}`, { period: label });
    yes.textContent = t(`finance.close.confirm${k}`, { period: label });
    explain.textContent = t(`finance.close.text${k}`, { period: label });
  };
  labels();
  ask.addEventListener('click', () => {
    confirmBox.hidden = false;
    ask.setAttribute('aria-expanded', 'true');
    no.focus();
  });
  no.addEventListener('click', () => {
    confirmBox.hidden = true;
    ask.setAttribute('aria-expanded', 'false');
    ask.focus();
  });
  let pendingId = null;
  yes.addEventListener('click', () => busy(yes, async () => {
    if (!pendingId) pendingId = api.newId();
    try {
      const r = await api.call('period.close', { id: pendingId });
      pendingId = null;
      confirmBox.hidden = true;
      ask.setAttribute('aria-expanded', 'false');
      label = r.opened;
      labels();
      const text = t('finance.closed', { period: r.period, opened: r.opened, expired: fmt.int(r.expired) });
      ctx.toast(text);
      const svcName = (s) => (ctx.service(s) ? ctx.service(s).name : s);
      clear(result).append(
        el('p', { class: 'notice ok', text }),
        table([
          { label: t('col.service'), cell: (s) => svcName(s.service) },
          { label: t('col.trades'), cell: (s) => fmt.int(s.trades), class: 'num' },
          { label: t('col.units'), cell: (s) => fmt.int(s.units), class: 'num' },
          { label: t('col.amount'), cell: (s) => fmt.money(s.amount), class: 'num' },
        ], r.services || [], { test: 'period-close-services', caption: t('finance.by_service'), empty: t('finance.no_trades') }),
        el('h3', { text: t('finance.over_budget') }),
        (r.over_budget || []).length
          ? el('ul', { test: 'over-budget' }, r.over_budget.map((cc) => el('li', { text: `${ctx.ccName(cc)} (${cc})` })))
          : el('p', { test: 'over-budget', class: 'muted', text: t('finance.over_budget.none') }));
      if (closed) closed(r);
    } catch (e) {
      if (e.code !== 'network') pendingId = null;
      ctx.toast(errorText(e), 'error');
      clear(result).appendChild(el('p', { class: 'form-error', role: 'alert', text: errorText(e) }));
    }
  }));
  box.append(ask, confirmBox, result);
  return box;
}

function verifyPanel(ctx) {
  const run = el('button', { type: 'button', class: 'btn', test: 'ledger-verify', text: t('finance.verify.run') });
  const result = el('p', { class: 'result', test: 'ledger-verify-result', 'aria-live': 'polite' });
  run.addEventListener('click', () => busy(run, async () => {
    result.className = 'result';
    try {
      const r = await api.call('ledger.verify', {});
      result.textContent = t('finance.verified', { trades: fmt.int(r.trades), ms: fmt.int(r.checked_ms) });
      result.classList.add('notice', 'ok');
    } catch (e) {
      result.textContent = errorText(e);
      result.classList.add('form-error');
    }
  }));
  return el('div', {}, el('div', { class: 'actions' }, run), result);
}

function statementPicker(ctx, period, box) {
  const sel = select(Array.from(ctx.ccs.values()).map((c) => ({ value: c.cc, label: `${c.name} (${c.cc})` })), { test: 'finance-cc' });
  const show = el('button', { type: 'submit', class: 'btn', test: 'finance-statement-show', text: t('finance.show') });
  const form = el('form', { class: 'form inline-form', novalidate: true }, field('cc', t('statement.cc'), sel), el('div', { class: 'actions' }, show));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(show, () => statementView(box, ctx, sel.value, period()).catch((e) => {
      clear(box).appendChild(el('p', { class: 'form-error', role: 'alert', text: errorText(e) }));
    }));
  });
  return form;
}
