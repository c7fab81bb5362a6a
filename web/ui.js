/*
** ui.js -- the small DOM helpers every page builds with. Every string goes
** into the page as text (textContent, createTextNode, setAttribute), never
** as HTML: names, descriptions and comments come from other people.
*/
import { t, fmt, moneyContext } from './i18n.js';
import { parseMoney } from './money.js';
import * as api from './api.js';

/*
** el('button', {class: 'x', test: 'order-submit', type: 'submit'}, 'Send')
** attrs: `class`, `test` (data-test), `text`, `on` ({click: fn}), `dataset`,
** `hidden`, `disabled`, `checked`, `value`, `selected`; the rest are set as
** attributes (null/false leaves one out). Children: nodes or strings (text).
*/
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'test') node.setAttribute('data-test', v);
    else if (k === 'text') node.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'value') node.value = v;
    else if (k === 'hidden' || k === 'disabled' || k === 'checked' || k === 'selected'
      || k === 'required' || k === 'multiple') node[k] = Boolean(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

let uniq = 0;
export function uid(prefix) {
  uniq += 1;
  return `${prefix}-${uniq}`;
}

/*
** A labelled form field: the label bound to the input, a hint and an
** error element (data-test "field-error-<name>", aria-live) that
** showFieldError fills. `name` is the protocol's field name.
*/
export function field(name, label, input, opts = {}) {
  const id = input.id || uid(`f-${name}`);
  input.id = id;
  input.name = input.name || name;
  const errId = `${id}-err`;
  const hintId = opts.hint ? `${id}-hint` : null;
  input.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  const err = el('p', { class: 'field-error', id: errId, test: `field-error-${name}`, 'aria-live': 'polite' });
  err.dataset.field = name;
  const wrap = el('div', { class: `field field-${name}${opts.inline ? ' field-inline' : ''}` });
  if (opts.inline) append(wrap, [input, el('label', { for: id, text: label })]);
  else append(wrap, [el('label', { for: id, text: label }), input]);
  if (hintId) wrap.appendChild(el('p', { class: 'hint', id: hintId, text: opts.hint }));
  wrap.appendChild(err);
  return wrap;
}

/* Shows `message` at the field `name` of `form`; false when the form has no
** such field (the caller shows it at the form instead). */
export function showFieldError(form, name, message) {
  const err = form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`);
  if (!err) return false;
  err.textContent = message;
  const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (input) {
    /* The first field in error gets the focus, not the last. */
    const first = !form.querySelector('[aria-invalid="true"]');
    input.setAttribute('aria-invalid', 'true');
    if (first) input.focus();
  }
  return true;
}

export function clearErrors(form) {
  form.querySelectorAll('.field-error, .form-error').forEach((e) => { e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

/* A form-level error line (for errors that name no field of the form). */
export function formError(test) {
  return el('p', { class: 'form-error', role: 'alert', test });
}

/*
** Shows an ApiError of a form's submission: at the field it names when the
** form has one, else in the form's error line. `fieldMap` maps protocol
** field names to the form's (e.g. the engine's `price` to `ceiling`).
*/
export function showApiError(form, e, fieldMap = {}, hints = {}) {
  const message = errorText(e, hints);
  const name = fieldMap[e.field] || e.field;
  if (name && showFieldError(form, name, message)) return message;
  const line = form.querySelector('.form-error');
  if (line) line.textContent = message;
  return message;
}

/* The sentence for an ApiError, in the page's language: the page's own
** sentence for its reason (else its code); the daemon's (English) message
** only where the page has none. The figures the daemon's message carries
** ("budget left: 578.75 EUR", "capacity left: 400") are put into the
** page's sentence. hints: {priceCap, price} (minor units) let a price above
** the service's cap say the cap. */
export function errorText(e, hints = {}) {
  if (!e || !e.code) return t('error.unknown');
  if (e.code === 'network') return t('error.network');
  const server = e.reply && e.reply.message ? e.reply.message : '';
  if (e.reason === 'bad_price' && hints.priceCap && hints.price !== undefined
      && BigInt(hints.price) > BigInt(hints.priceCap)) {
    return t('reason.bad_price.cap', { cap: fmt.money(hints.priceCap) });
  }
  const budget = e.code === 'insufficient_budget' && /budget left: (-?[0-9.]+)/.exec(server);
  if (budget) {
    const m = parseMoney(budget[1].replace(/^-/, ''), { decimals: moneyContext().decimals, locale: 'en', max: 10n ** 18n });
    if (m.ok) return t('code.insufficient_budget.left', { left: fmt.money(budget[1].startsWith('-') ? -m.minor : m.minor) });
  }
  const capacity = e.code === 'over_capacity' && /capacity left: ([0-9]+)/.exec(server);
  if (capacity) return t('code.over_capacity.left', { qty: fmt.int(Number(capacity[1])) });
  if (e.reason && t.has(`reason.${e.reason}`)) return t(`reason.${e.reason}`);
  /* A reason the page has no sentence for: the daemon's message names it
  ** better than the vague sentence of its code. */
  if (e.reason && server && VAGUE.has(e.code)) return server;
  if (t.has(`code.${e.code}`)) return t(`code.${e.code}`);
  return server || e.code;
}
const VAGUE = new Set(['bad_field', 'bad_request', 'forbidden']);

/*
** A table that becomes stacked rows on a phone: every cell carries its
** column's heading in data-label (style.css shows it before the value).
** columns: [{label, cell: (row) => node|string, class}].
*/
export function table(columns, rows, opts = {}) {
  const thead = el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.class, text: c.label }))));
  const tbody = el('tbody');
  for (const row of rows) {
    const tr = el('tr', { test: opts.rowTest });
    if (opts.rowData) Object.assign(tr.dataset, opts.rowData(row));
    for (const c of columns) {
      const v = c.cell(row);
      tr.appendChild(el('td', { class: c.class, 'data-label': c.label }, v));
    }
    tbody.appendChild(tr);
  }
  const tableEl = el('table', { class: `data${opts.compact ? ' compact' : ''}`, test: opts.test },
    opts.caption ? el('caption', { class: opts.captionVisible ? '' : 'sr-only', text: opts.caption }) : null,
    thead, tbody);
  if (rows.length === 0 && opts.empty) {
    return el('div', { class: 'table-wrap' }, tableEl, el('p', { class: 'empty', text: opts.empty }));
  }
  return el('div', { class: 'table-wrap' }, tableEl);
}

/* One rating given (1..5): that many of five glyphs, and "4 of 5 stars"
** as the text a screen reader reads (and the tooltip). The same glyphs as
** stars() below, so a rating looks alike on every page. */
export function givenStars(n) {
  const text = t('ratings.stars_n', { n: fmt.int(n) });
  const glyphs = el('span', { class: 'stars-glyphs', 'aria-hidden': 'true' });
  for (let i = 1; i <= 5; i++) glyphs.appendChild(el('span', { class: i <= n ? 'on' : 'off', text: '★' }));
  return el('span', { class: 'stars', title: text }, glyphs, el('span', { class: 'sr-only', text }));
}

/* Stars as a person reads them: five glyphs for the eye (hidden from a
** screen reader) and the mean with one decimal and the count as text. */
export function stars(sum, count) {
  const tenths = fmt.starsTenths(sum, count);
  if (tenths === null) return el('span', { class: 'stars unrated', text: t('rating.unrated') });
  const full = Number(tenths) / 10;
  const glyphs = el('span', { class: 'stars-glyphs', 'aria-hidden': 'true' });
  for (let i = 1; i <= 5; i++) {
    glyphs.appendChild(el('span', { class: i <= Math.round(full) ? 'on' : 'off', text: '★' }));
  }
  const text = t('rating.stars', { stars: fmt.tenths(tenths), count: fmt.int(count) });
  return el('span', { class: 'stars', title: text }, glyphs, el('span', { class: 'stars-text', text }));
}

/*
** A download link: a plain link (open in a new tab works), whose click
** fetches the file first and shows a refusal beside the link (data-test
** "<test>-error") and in the status line instead of saving it as a file.
*/
export function downloadLink(href, label, test, toast) {
  const a = el('a', { href, download: '', test, class: 'download', text: label });
  const err = el('span', { class: 'field-error', test: `${test}-error`, 'aria-live': 'polite' });
  a.addEventListener('click', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    a.setAttribute('aria-busy', 'true');
    try {
      await api.download(href);
    } catch (e) {
      err.textContent = errorText(e);
      if (toast) toast(err.textContent, 'error');
    } finally {
      a.removeAttribute('aria-busy');
    }
  });
  return el('span', { class: 'download-wrap' }, a, ' ', err);
}

export function button(label, attrs = {}) {
  return el('button', { type: 'button', class: 'btn', ...attrs }, label);
}

export function section(title, test, ...children) {
  const id = uid('h');
  return el('section', { class: 'card', 'aria-labelledby': id, test },
    el('h2', { id, text: title }), ...children);
}

export function loading() {
  return el('p', { class: 'loading', role: 'status', text: t('loading') });
}

/* Runs `fn` with `btn` disabled; the button shows it is busy. */
export async function busy(btn, fn) {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}

/* A <select> from [{value, label}]. */
export function select(options, attrs = {}) {
  const s = el('select', attrs);
  for (const o of options) s.appendChild(el('option', { value: o.value, selected: o.selected, text: o.label }));
  return s;
}

/* Whole units as a person types them: digits (grouping typed correctly is
** accepted, as for money), 1..max. Returns {ok, value} or {ok:false, error}. */
export function parseQty(text, max = 1000000000) {
  const s = String(text).trim().replace(/[.,\u00a0 ](?=\d{3}(\D|$))/g, '');
  if (s === '') return { ok: false, error: 'qty.empty' };
  if (!/^[0-9]+$/.test(s)) return { ok: false, error: 'qty.format' };
  const v = BigInt(s);
  if (v < 1n) return { ok: false, error: 'qty.zero' };
  if (v > BigInt(max)) return { ok: false, error: 'qty.too_large' };
  return { ok: true, value: Number(v) };
}
