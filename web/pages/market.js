/*
** pages/market.js -- #/market: every service of the market with its best
** prices, last price and providers (site, rating per service), a search
** box and filters by site and "with offers". Best prices and last prices
** follow the websocket's `top` and `trade` events without a reload.
*/
import * as api from '../api.js';
import { t, fmt } from '../i18n.js';
import { el, clear, field, select, stars, errorText } from '../ui.js';

const PROVIDERS_FETCH_MAX = 200; /* cc.get calls for reputations, at most */

export async function render(root, ctx) {
  await ctx.refreshServices();
  const providers = await loadProviders(ctx);

  const sites = Array.from(new Set(Array.from(ctx.ccs.values()).map((c) => c.site).filter(Boolean))).sort();
  const search = el('input', { type: 'search', test: 'market-search', autocomplete: 'off' });
  const site = select([{ value: '', label: t('market.site.all') }, ...sites.map((s) => ({ value: s, label: s }))], { test: 'market-site' });
  const offersOnly = el('input', { type: 'checkbox', test: 'market-offers-only' });
  const count = el('p', { class: 'count', test: 'market-count', 'aria-live': 'polite' });
  const list = el('ul', { class: 'services', test: 'services' });

  root.appendChild(el('h1', { text: t('market.title') }));
  root.appendChild(el('div', { class: 'filters', role: 'search' },
    field('search', t('market.search'), search, { hint: t('market.search.hint') }),
    field('site', t('market.site'), site),
    field('offers_only', t('market.offers_only'), offersOnly, { inline: true })));
  root.appendChild(count);
  root.appendChild(list);

  const cards = new Map();
  function draw() {
    clear(list);
    cards.clear();
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const s of ctx.services.values()) {
      const provs = providers.get(s.service) || [];
      if (site.value && !provs.some((p) => p.site === site.value)) continue;
      if (offersOnly.checked && (s.offer === null || s.offer === undefined)) continue;
      if (q) {
        const own = s.own ? [s.own.name, s.own.description, s.own.unit] : [];
        const hay = [s.service, s.name, s.description, s.unit, ...own, ...provs.map((p) => `${p.name} ${p.site}`)]
          .join(' ').toLowerCase();
        if (!hay.includes(q)) continue;
      }
      const card = serviceCard(s, provs);
      cards.set(s.service, card);
      list.appendChild(card);
      shown += 1;
    }
    count.textContent = t('market.count', { n: fmt.int(shown), total: fmt.int(ctx.services.size) });
    if (shown === 0) list.appendChild(el('li', { class: 'empty', text: t('market.none') }));
  }
  search.addEventListener('input', draw);
  site.addEventListener('change', draw);
  offersOnly.addEventListener('change', draw);
  draw();

  function redrawOne(id) {
    const old = cards.get(id);
    const s = ctx.service(id);
    if (!old || !s) return;
    const card = serviceCard(s, providers.get(id) || []);
    old.replaceWith(card);
    cards.set(id, card);
  }
  const offs = [
    api.live.on('top', (e) => {
      const s = ctx.service(e.service);
      if (!s) return;
      Object.assign(s, { bid: e.bid, bid_qty: e.bid_qty, offer: e.offer, offer_qty: e.offer_qty });
      if (offersOnly.checked) draw();
      else redrawOne(e.service);
    }),
    api.live.on('trade', (e) => {
      const s = ctx.service(e.service);
      if (!s) return;
      Object.assign(s, { last_price: e.price, last_qty: e.qty, last_time_ms: e.time_ms });
      redrawOne(e.service);
    }),
    api.live.on('live.state', async (e) => {
      if (e.state !== 'reopened') return;
      try {
        await ctx.refreshServices();
        draw();
      } catch (err) {
        ctx.toast(errorText(err), 'error');
      }
    }),
  ];
  return () => offs.forEach((off) => off());
}

/* service id -> [{cc, name, site, ratings, stars_sum}], from cc.list's
** services and each provider's reputation (cc.get). */
async function loadProviders(ctx) {
  const byService = new Map();
  const provs = Array.from(ctx.ccs.values())
    .filter((c) => c.roles.includes('provider') && c.services && c.services.length)
    .slice(0, PROVIDERS_FETCH_MAX);
  const details = await Promise.all(provs.map((c) => api.call('cc.get', { cc: c.cc }).catch(() => null)));
  provs.forEach((c, i) => {
    const rep = new Map(((details[i] && details[i].reputation) || []).map((r) => [r.service, r]));
    for (const sid of c.services) {
      const r = rep.get(sid) || { ratings: 0, stars_sum: 0 };
      if (!byService.has(sid)) byService.set(sid, []);
      byService.get(sid).push({ cc: c.cc, name: c.name, site: c.site, ratings: r.ratings, stars_sum: r.stars_sum });
    }
  });
  return byService;
}

function price(v) {
  return v === null || v === undefined ? '–' : fmt.money(v);
}

function serviceCard(s, provs) {
  const headingId = `svc-${s.service.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const facts = el('dl', { class: 'facts' },
    el('div', {}, el('dt', { text: t('market.best_bid') }),
      el('dd', { test: 'best-bid' }, price(s.bid), s.bid_qty ? el('span', { class: 'qty', text: ` × ${fmt.int(s.bid_qty)}` }) : null)),
    el('div', {}, el('dt', { text: t('market.best_offer') }),
      el('dd', { test: 'best-offer' }, price(s.offer), s.offer_qty ? el('span', { class: 'qty', text: ` × ${fmt.int(s.offer_qty)}` }) : null)),
    el('div', {}, el('dt', { text: t('market.last') }),
      el('dd', { test: 'last-price' }, price(s.last_price),
        s.last_time_ms ? el('span', { class: 'sub', text: fmt.dateTime(s.last_time_ms) }) : null)));
  const provList = el('ul', { class: 'providers', test: 'providers' });
  if (provs.length === 0) provList.appendChild(el('li', { class: 'muted', text: t('market.no_providers') }));
  for (const p of provs) {
    provList.appendChild(el('li', { test: 'provider', dataset: { cc: p.cc } },
      el('span', { class: 'prov-name', text: p.name }),
      el('span', { class: 'prov-site', text: p.site }),
      el('span', { test: 'stars' }, stars(p.stars_sum, p.ratings))));
  }
  const tags = el('p', { class: 'tags' },
    el('span', { class: 'tag', text: t('market.unit', { unit: s.unit }) }),
    el('span', { class: 'tag', text: t(s.mode === 'auction' ? 'market.mode.auction' : 'market.mode.continuous') }),
    s.divisible === false ? el('span', { class: 'tag', text: t('market.indivisible') }) : null,
    el('span', { class: 'tag mono', text: s.service }));
  return el('li', { class: 'card service-card', test: 'service-card', dataset: { service: s.service }, 'aria-labelledby': headingId },
    el('h2', { id: headingId },
      el('a', { href: `#/service/${encodeURIComponent(s.service)}`, test: 'service-link', text: s.name || s.service })),
    tags,
    el('p', { class: 'desc', text: s.description || '' }),
    facts,
    el('h3', { class: 'small-head', text: t('market.providers') }),
    provList);
}
