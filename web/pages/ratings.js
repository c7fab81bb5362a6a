/*
** pages/ratings.js -- #/ratings. A buyer rates its recent purchases not yet
** rated (1..5 stars and a comment, rating.new); a provider reads the
** ratings it received and replies once (rating.reply); both see the
** ratings they gave. Finance and admin see every rating (read only).
** Comments are other people's text: shown as text, never as HTML.
*/
import * as api from '../api.js';
import { t, fmt } from '../i18n.js';
import {
  el, clear, field, section, errorText, showApiError, showFieldError,
  clearErrors, formError, busy, uid, givenStars,
} from '../ui.js';

const TRADES_LOOKED_AT = 200;  /* the latest trades offered for rating   */
const RATINGS_PAGE = 100;      /* ratings.list's limit                    */
const RATINGS_PAGES_MAX = 10;  /* pages read to know what is rated        */
const COMMENT_BYTES_MAX = 500; /* docs/protocol.md: comment 1..500 bytes  */

export async function render(root, ctx) {
  root.appendChild(el('h1', { text: t('ratings.title') }));
  const rateBox = el('div');
  const receivedBox = el('div');
  const givenBox = el('div');
  const allBox = el('div');
  const trader = ctx.can('receiver') || ctx.can('provider');
  if (ctx.can('receiver')) root.appendChild(section(t('ratings.to_rate'), 'to-rate-section', rateBox));
  if (ctx.can('provider')) root.appendChild(section(t('ratings.received'), 'ratings-received-section', receivedBox));
  if (ctx.can('receiver')) root.appendChild(section(t('ratings.given'), 'ratings-given-section', givenBox));
  if (!trader) root.appendChild(section(t('ratings.all'), 'ratings-all-section', allBox));

  const svcName = (s) => (ctx.service(s) ? ctx.service(s).name : s);

  async function ratingsPages(body) {
    const rows = [];
    let before;
    for (let i = 0; i < RATINGS_PAGES_MAX; i++) {
      const r = await api.call('ratings.list', before ? { ...body, limit: RATINGS_PAGE, before } : { ...body, limit: RATINGS_PAGE });
      rows.push(...(r.ratings || []));
      if ((r.ratings || []).length < RATINGS_PAGE) break;
      before = r.ratings[r.ratings.length - 1].trade;
    }
    return rows;
  }

  async function load() {
    if (!trader) {
      drawList(allBox, await ratingsPages({}), 'ratings-all', 'ratings.given.none', false);
      return;
    }
    const [ratings, trades] = await Promise.all([
      ratingsPages({ cc: ctx.me }),
      ctx.can('receiver') ? api.call('trades.list', { cc: ctx.me, limit: TRADES_LOOKED_AT }) : null,
    ]);
    const given = ratings.filter((r) => r.rater === ctx.me);
    const received = ratings.filter((r) => r.provider === ctx.me);
    if (ctx.can('receiver')) {
      const rated = new Set(given.map((r) => r.trade));
      drawToRate(trades.trades.filter((tr) => tr.buyer === ctx.me && !rated.has(tr.trade)));
      drawList(givenBox, given, 'ratings-given', 'ratings.given.none', false);
    }
    if (ctx.can('provider')) drawList(receivedBox, received, 'ratings-received', 'ratings.received.none', true);
  }

  function drawToRate(trades) {
    const list = el('ul', { class: 'plain', test: 'to-rate' });
    if (trades.length === 0) list.appendChild(el('li', { class: 'empty', text: t('ratings.to_rate.none') }));
    for (const tr of trades) list.appendChild(el('li', { class: 'rating-item', test: 'to-rate-item', dataset: { trade: String(tr.trade) } }, rateForm(tr)));
    clear(rateBox).appendChild(list);
  }

  function rateForm(tr) {
    const headId = uid('rate');
    const legendId = uid('stars');
    const starsSet = el('fieldset', { class: 'stars-input', 'aria-describedby': `${legendId}-err` }, el('legend', { id: legendId, text: t('ratings.stars') }));
    const radioName = uid('stars');
    for (let n = 1; n <= 5; n++) {
      const id = uid('star');
      starsSet.appendChild(el('span', { class: 'radio' },
        el('input', { type: 'radio', name: radioName, id, value: String(n), test: `rating-stars-${n}` }),
        el('label', { for: id, text: n === 1 ? t('ratings.star_1') : t('ratings.star_n', { n }) })));
    }
    starsSet.appendChild(el('p', { class: 'field-error', id: `${legendId}-err`, test: 'field-error-stars', dataset: { field: 'stars' }, 'aria-live': 'polite' }));
    const comment = el('textarea', { test: 'rating-comment', maxlength: String(COMMENT_BYTES_MAX), rows: '2' });
    const submit = el('button', { type: 'submit', class: 'btn btn-primary', test: 'rating-submit', text: t('ratings.submit') });
    const form = el('form', { class: 'form rating-form', test: 'rating-form', novalidate: true, dataset: { trade: String(tr.trade) }, 'aria-labelledby': headId },
      el('h3', { id: headId, text: t('ratings.trade', {
        trade: tr.trade, qty: fmt.int(tr.qty), service: svcName(tr.service), seller: ctx.ccName(tr.seller), date: fmt.dateTime(tr.time_ms),
      }) }),
      starsSet,
      field('comment', t('ratings.comment'), comment),
      formError('rating-error'),
      el('div', { class: 'actions' }, submit));
    let pendingId = null;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const chosen = form.querySelector(`input[name="${radioName}"]:checked`);
      if (!chosen) {
        form.querySelector('[data-test="field-error-stars"]').textContent = t('ratings.stars.choose');
        form.querySelector(`input[name="${radioName}"]`).focus();
        return;
      }
      const body = { trade: tr.trade, stars: Number(chosen.value) };
      const text = comment.value.trim();
      if (text !== '') {
        if (new TextEncoder().encode(text).length > COMMENT_BYTES_MAX) return void showFieldError(form, 'comment', t('ratings.comment.long'));
        body.comment = text;
      }
      if (!pendingId) pendingId = api.newId();
      body.id = pendingId;
      await busy(submit, async () => {
        try {
          const r = await api.call('rating.new', body);
          pendingId = null;
          ctx.toast(t('ratings.rated', { trade: r.trade, stars: r.stars }));
          await load();
        } catch (e) {
          if (e.code !== 'network') pendingId = null;
          ctx.toast(showApiError(form, e), 'error');
        }
      });
    });
    return form;
  }

  function drawList(box, rows, test, emptyKey, canReply) {
    const list = el('ul', { class: 'plain', test });
    if (rows.length === 0) list.appendChild(el('li', { class: 'empty', text: t(emptyKey) }));
    for (const r of rows) {
      const item = el('li', { class: 'rating-item', test: 'rating-row', dataset: { trade: String(r.trade) } },
        el('p', { class: 'rating-head' },
          givenStars(r.stars), ' · ',
          t('ratings.line', {
            trade: r.trade, service: svcName(r.service), rater: ctx.ccName(r.rater), provider: ctx.ccName(r.provider),
            date: fmt.dateTime(r.time_ms),
          })));
      if (r.comment) item.appendChild(el('p', { class: 'quote', test: 'rating-comment-text', text: r.comment }));
      if (r.reply !== undefined) {
        item.appendChild(el('p', { class: 'quote reply', test: 'rating-reply-text' },
          el('span', { class: 'muted', text: `${t('ratings.reply')} (${fmt.dateTime(r.reply_ms)}): ` }), r.reply));
      } else if (canReply) {
        item.appendChild(replyForm(r));
      }
      list.appendChild(item);
    }
    clear(box).appendChild(list);
  }

  function replyForm(r) {
    const comment = el('textarea', { test: 'reply-comment', maxlength: String(COMMENT_BYTES_MAX), rows: '2' });
    const submit = el('button', { type: 'submit', class: 'btn', test: 'reply-submit', text: t('ratings.reply.submit') });
    const form = el('form', { class: 'form reply-form', test: 'reply-form', novalidate: true, dataset: { trade: String(r.trade) } },
      field('comment', t('ratings.reply.label', { trade: r.trade }), comment), formError('reply-error'), el('div', { class: 'actions' }, submit));
    let pendingId = null;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const text = comment.value.trim();
      if (text === '') return void showFieldError(form, 'comment', t('ratings.reply.empty'));
      if (new TextEncoder().encode(text).length > COMMENT_BYTES_MAX) return void showFieldError(form, 'comment', t('ratings.comment.long'));
      if (!pendingId) pendingId = api.newId();
      await busy(submit, async () => {
        try {
          await api.call('rating.reply', { id: pendingId, trade: r.trade, comment: text });
          pendingId = null;
          ctx.toast(t('ratings.replied', { trade: r.trade }));
          await load();
        } catch (e) {
          if (e.code !== 'network') pendingId = null;
          ctx.toast(showApiError(form, e), 'error');
        }
      });
    });
    return form;
  }

  await load();
  let timer = null;
  /* A re-read redraws the forms: never while the person is writing one
  ** (its submission re-reads anyway). */
  const writing = () => Array.from(root.querySelectorAll('form')).some((f) => f.contains(document.activeElement)
    || Array.from(f.querySelectorAll('textarea')).some((x) => x.value.trim() !== '')
    || f.querySelector('input[type="radio"]:checked'));
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (writing()) return;
      load().catch((e) => ctx.toast(errorText(e), 'error'));
    }, 200);
  };
  const offs = [
    api.live.on('rating', (e) => {
      ctx.toast(t('ratings.live', { stars: e.stars, trade: e.trade }));
      soon();
    }),
    api.live.on('rating.reply', (e) => {
      ctx.toast(t('ratings.live.reply', { trade: e.trade }));
      soon();
    }),
    api.live.on('fill', (e) => { if (e.side === 'bid') soon(); }),
    api.live.on('live.state', (e) => { if (e.state === 'reopened') soon(); }),
  ];
  return () => {
    clearTimeout(timer);
    offs.forEach((off) => off());
  };
}
