/*
** app.js -- the entry of imx's web pages: the session, the header (menu by
** role, language switch, live state, sign out), the hash router and the
** status line. Each page is a module in pages/ with
**   render(root, ctx, params) -> optional cleanup function (may be async)
** ctx: {session, me, roles, can(role), provides(service), ccs, ccName(id),
**       services, service(id), refreshServices(), toast(text, kind),
**       go(hash), signedIn(session)}.
**
** Routes: #/signin, #/market, #/service/<id>, #/orders, #/tenders,
** #/tenders/<id>, #/ratings, #/finance (finance), #/admin (admin).
**
** data-test names the browser tests (tests/web/) rely on; keep them stable.
** Row elements carry data-* attributes naming what they show (data-order,
** data-trade, data-tender, data-quote, data-cc, data-service). Field errors
** are field-error-<field> with the protocol's field name, inside their form;
** a form's error that names no field of it is <form>-error.
**   header:    nav-market, nav-orders, nav-tenders, nav-ratings, nav-finance,
**              nav-admin (each only for the roles that may use the page),
**              lang-switch (a <select>: en, de), signout, whoami, live-state
**              ("live"/"offline"), toast (the status line, role=status: the
**              latest two messages, each a <p>)
**   sign in:   signin-form, signin-cc, signin-token, signin-submit,
**              signin-error, field-error-token
**   market:    market-search, market-site, market-offers-only, market-count,
**              services (the list), service-card (data-service),
**              service-link, best-bid, best-offer, last-price, providers,
**              provider (data-cc), stars
**   service:   service-title, book-offers (table; rows offer-row with
**              data-cc, data-order), book-bids (table; rows bid-row),
**              trades (table; rows trade-row, data-trade), price-chart (svg),
**              order-form, order-side-bid, order-side-offer (radios),
**              order-qty, order-price, order-tif, order-aon,
**              order-min-stars, order-allow-unrated, order-submit,
**              order-error, field-error-{side,qty,price,tif,aon,min_stars},
**              budget-left, capacity-left; admin on an auction service:
**              auction-reference, field-error-reference, auction-run,
**              auction-result, auction-error
**   orders:    orders-open (table; rows order-row, data-order, data-service),
**              order-modify, order-cancel, modify-form, modify-qty,
**              modify-price, modify-submit, modify-error, orders-closed (rows
**              closed-row), orders-older, my-trades (rows my-trade-row),
**              statement (data-cc, data-period), statement-period,
**              statement-balance, statement-csv (statement-csv-error),
**              statement-services (rows
**              statement-service-row), statement-trades (rows
**              statement-trade-row)
**   tenders:   tender-form, tender-service, tender-qty, tender-ceiling,
**              tender-deadline, tender-deadline-unit (minutes, hours, days),
**              tender-decide, tender-price-weight, tender-quality-weight,
**              tender-submit, tender-error, field-error-{service,qty,ceiling,
**              deadline_ms,price_weight,quality_weight}, tenders-mine (rows
**              tender-row, data-tender), tenders-provider (rows
**              provider-tender-row), tender-link, tender-detail, tender-gone,
**              quotes (table; rows quote-row, data-quote, data-cc),
**              quote-award, tender-cancel, quote-form (data-tender),
**              quote-price, quote-submit, quote-error, quote-withdraw,
**              my-quote (data-quote)
**   ratings:   to-rate (rows to-rate-item, data-trade), rating-form,
**              rating-stars-1 .. rating-stars-5 (radios), rating-comment,
**              rating-submit, rating-error, field-error-{stars,comment},
**              ratings-received, ratings-given, ratings-all (finance, admin;
**              rows rating-row, data-trade), rating-comment-text,
**              rating-reply-text, reply-form, reply-comment, reply-submit,
**              reply-error
**   finance:   finance-period, finance-overview, finance-services (rows
**              finance-service-row, data-service), finance-total,
**              finance-ccs (rows finance-cc-row, data-cc), period-close,
**              period-close-confirm, period-close-cancel,
**              period-close-result, period-close-services, over-budget,
**              ledger-verify, ledger-verify-result, export-csv, export-sap,
**              export-hledger, export-beancount, export-ratings (each with
**              export-<format>-error beside it: a refused download), finance-cc,
**              finance-statement-show, statement (as above)
**   admin:     auctions (rows auction-row, data-service), auction-reference,
**              auction-run, auction-result, auction-error, period-close
**              and the rest of the close as on finance
*/
import * as api from './api.js';
import { t, fmt, unitFor, getLang, setLang, onLangChange, LANGS, setMoneyContext, serviceIn } from './i18n.js';
import { el, clear, append, errorText, loading } from './ui.js';

const routes = [
  { path: /^signin$/, page: 'signin', open: true },
  { path: /^market$/, page: 'market' },
  { path: /^service\/(.+)$/, page: 'service', params: ['id'] },
  { path: /^orders$/, page: 'orders', roles: ['provider', 'receiver'] },
  { path: /^tenders$/, page: 'tenders', roles: ['provider', 'receiver'] },
  { path: /^tenders\/(\d+)$/, page: 'tenders', params: ['tender'], roles: ['provider', 'receiver'] },
  { path: /^ratings$/, page: 'ratings' },
  { path: /^finance$/, page: 'finance', roles: ['finance'] },
  { path: /^admin$/, page: 'admin', roles: ['admin'] },
];

/* The menu: a link shows only for the roles that may use its page. */
const menu = [
  { route: 'market', key: 'nav.market', test: 'nav-market' },
  { route: 'orders', key: 'nav.orders', test: 'nav-orders', roles: ['provider', 'receiver'] },
  { route: 'tenders', key: 'nav.tenders', test: 'nav-tenders', roles: ['provider', 'receiver'] },
  { route: 'ratings', key: 'nav.ratings', test: 'nav-ratings' },
  { route: 'finance', key: 'nav.finance', test: 'nav-finance', roles: ['finance'] },
  { route: 'admin', key: 'nav.admin', test: 'nav-admin', roles: ['admin'] },
];

const state = {
  session: null,
  ccs: new Map(),
  services: new Map(), /* in the page's language (serviceIn)       */
  serviceRows: [],      /* services.list as it came                 */
  cleanup: null,
  renderSeq: 0,
  liveState: 'closed',
  navigated: false, /* false until the first page is shown */
};

const ctx = {
  get session() { return state.session; },
  get me() { return state.session ? state.session.cc : ''; },
  get roles() { return new Set(state.session ? state.session.roles : []); },
  can(role) { return Boolean(state.session && state.session.roles.includes(role)); },
  get ccs() { return state.ccs; },
  ccName(id) {
    const c = state.ccs.get(id);
    return c ? c.name : id;
  },
  get services() { return state.services; },
  service(id) { return state.services.get(id) || null; },
  refreshServices,
  toast,
  signedIn: (s) => signedIn(s),
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  /* The services this cost centre provides (offers and quotes). */
  provides(service) {
    const c = state.ccs.get(ctx.me);
    return Boolean(c && c.services && c.services.includes(service) && ctx.can('provider'));
  },
};

/* The status line: the latest messages (up to TOAST_LINES, newest last),
** each for TOAST_MS; a live event arriving right after a result does not
** wipe the result's message. role=status: a screen reader reads each. */
const TOAST_LINES = 2;
const TOAST_MS = 6000;
function toast(text, kind = 'ok') {
  const box = document.getElementById('toast');
  const line = el('p', { class: `toast-line ${kind}`, text });
  box.appendChild(line);
  while (box.children.length > TOAST_LINES) box.removeChild(box.firstChild);
  box.classList.add('show');
  setTimeout(() => {
    line.remove();
    if (!box.firstChild) box.classList.remove('show');
  }, TOAST_MS);
}

async function refreshServices() {
  state.serviceRows = await api.callAll('services.list', 'services');
  return servicesInLang();
}

function servicesInLang() {
  state.services = new Map(state.serviceRows.map((s) => [s.service, serviceIn(s)]));
  return state.services;
}

async function loadDirectory() {
  const [ccs] = await Promise.all([api.callAll('cc.list', 'ccs'), refreshServices()]);
  state.ccs = new Map(ccs.map((c) => [c.cc, c]));
}

function setSession(s) {
  state.session = s;
  if (s) setMoneyContext(s.currency || 'EUR', Number.isInteger(s.decimals) ? s.decimals : 2);
}

function renderHeader() {
  document.title = t('app.title');
  document.getElementById('skip').textContent = t('skip');
  document.getElementById('brand-tag').textContent = t('app.tagline');
  const nav = clear(document.getElementById('nav'));
  nav.setAttribute('aria-label', t('nav.label'));
  const current = (location.hash.replace(/^#\/?/, '').split('/')[0]) || 'market';
  if (state.session) {
    const ul = el('ul');
    for (const m of menu) {
      if (m.roles && !m.roles.some((r) => ctx.can(r))) continue;
      const here = current === m.route || (m.route === 'market' && current === 'service');
      ul.appendChild(el('li', {}, el('a', {
        href: `#/${m.route}`, test: m.test, 'aria-current': here ? 'page' : null, text: t(m.key),
      })));
    }
    nav.appendChild(ul);
  }
  const tools = clear(document.getElementById('tools'));
  const langId = 'lang-switch';
  const langSel = el('select', { id: langId, test: 'lang-switch' });
  for (const l of LANGS) langSel.appendChild(el('option', { value: l, selected: l === getLang(), lang: l, text: t(`lang.${l}`) }));
  langSel.addEventListener('change', () => setLang(langSel.value));
  tools.appendChild(el('div', { class: 'lang' }, el('label', { for: langId, class: 'sr-only', text: t('lang.label') }), langSel));
  if (state.session) {
    const s = state.session;
    const roles = s.roles.map((r) => t(`role.${r}`)).join(', ');
    const key = state.liveState === 'closed' ? 'live.closed' : 'live.open';
    tools.appendChild(el('span', { class: `live-state ${state.liveState === 'closed' ? 'off' : 'on'}`, test: 'live-state',
      title: t(`${key}.title`), text: t(key) }));
    tools.appendChild(el('span', { class: 'whoami', test: 'whoami', title: roles },
      el('span', { class: 'who-name', text: t('signed.as', { name: s.name || s.cc, cc: s.cc }) }),
      el('span', { class: 'who-roles', text: roles })));
    const out = el('button', { type: 'button', class: 'btn btn-quiet', test: 'signout', text: t('signout') });
    out.addEventListener('click', signOut);
    tools.appendChild(out);
  }
}

async function signOut() {
  try {
    await api.signOut();
  } catch (e) {
    /* the session is gone either way for this page */
  }
  endSession();
  toast(t('signout.done'));
  location.hash = '#/signin';
}

function endSession() {
  state.session = null;
  api.live.stop();
  renderHeader();
}

function match(hash) {
  const path = hash.replace(/^#\/?/, '');
  for (const r of routes) {
    const m = r.path.exec(path);
    if (!m) continue;
    const params = {};
    (r.params || []).forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]); });
    return { route: r, params };
  }
  return null;
}

async function route() {
  /* "#main" (the skip link) and other in-page anchors are no routes. */
  if (location.hash && !location.hash.startsWith('#/')) return;
  const seq = ++state.renderSeq;
  if (state.cleanup) {
    const c = state.cleanup;
    state.cleanup = null;
    try {
      c();
    } catch (e) {
      console.error(e);
    }
  }
  const hash = location.hash || (state.session ? '#/market' : '#/signin');
  const found = match(hash);
  if (!state.session && (!found || !found.route.open)) {
    sessionStorage.setItem('imx.after', found ? hash : '#/market');
    location.replace('#/signin');
    return;
  }
  if (state.session && found && found.route.page === 'signin') {
    location.replace('#/market');
    return;
  }
  renderHeader();
  const main = clear(document.getElementById('main'));
  if (!found) {
    main.appendChild(el('h1', { text: t('notfound.title') }));
    main.appendChild(el('p', { text: t('notfound.text') }));
    return;
  }
  if (found.route.roles && !found.route.roles.some((r) => ctx.can(r))) {
    main.appendChild(el('h1', { text: t('notfound.title') }));
    main.appendChild(el('p', { text: t('notallowed') }));
    return;
  }
  main.appendChild(loading());
  try {
    const mod = await import(`./pages/${found.route.page}.js`);
    if (seq !== state.renderSeq) return;
    clear(main);
    /* A page of its own: a render still running for a page left meanwhile
    ** writes into a detached node, never into the page shown now. */
    const pageRoot = el('div', { class: 'page' });
    main.appendChild(pageRoot);
    const cleanup = await mod.render(pageRoot, ctx, found.params);
    if (seq !== state.renderSeq) {
      if (typeof cleanup === 'function') cleanup();
      return;
    }
    state.cleanup = typeof cleanup === 'function' ? cleanup : null;
    announce(pageRoot);
  } catch (e) {
    if (seq !== state.renderSeq) return;
    console.error(e);
    clear(main);
    const retry = el('button', { type: 'button', class: 'btn', text: t('retry') });
    retry.addEventListener('click', route);
    append(main, [el('p', { class: 'form-error', role: 'alert', text: errorText(e) }), retry]);
  }
}

/* After a navigation: the page's heading names the tab, and takes the
** focus from the link that was followed (a screen reader reads where it
** is; the next Tab goes on in the page). A page that focused a field of
** its own (sign in) keeps that. */
function announce(pageRoot) {
  const h1 = pageRoot.querySelector('h1');
  document.title = h1 ? `${h1.textContent} – ${t('app.title')}` : t('app.title');
  const active = document.activeElement;
  const fromNav = !active || active === document.body || Boolean(active.closest('#top'));
  if (h1 && fromNav && state.navigated) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: false });
  }
  state.navigated = true;
}

/* Called by the sign-in page with hello.ok plus name and site. */
async function signedIn(session) {
  setSession(session);
  await loadDirectory();
  api.live.start();
  toast(t('signin.done', { name: session.name || session.cc }));
  const after = sessionStorage.getItem('imx.after');
  sessionStorage.removeItem('imx.after');
  location.hash = after && after !== '#/signin' ? after : '#/market';
}

function onLive() {
  api.live.on('live.state', (e) => {
    state.liveState = e.state;
    const badge = document.querySelector('[data-test="live-state"]');
    if (badge) {
      const key = e.state === 'closed' ? 'live.closed' : 'live.open';
      badge.textContent = t(key);
      badge.title = t(`${key}.title`);
      badge.className = `live-state ${e.state === 'closed' ? 'off' : 'on'}`;
    }
  });
  api.live.on('period.closed', (e) => toast(t('period.closed.live', { period: e.period })));
  /* A fill of one of my orders, on whatever page is open. */
  api.live.on('fill', (e) => {
    const s = ctx.service(e.service);
    toast(t('order.fill', {
      qty: fmt.int(e.qty), unit: s ? unitFor(e.qty, s.unit) : '', service: s ? s.name : e.service, price: fmt.money(e.price),
      side: t(`side.${e.side}.short`),
    }));
  });
}

async function start() {
  document.documentElement.lang = getLang();
  onLive();
  api.onSignedOut(() => {
    if (!state.session) return;
    endSession();
    toast(t('session.ended'), 'error');
    sessionStorage.setItem('imx.after', location.hash || '#/market');
    location.hash = '#/signin';
  });
  onLangChange(() => {
    servicesInLang();
    route();
  });
  window.addEventListener('hashchange', route);
  try {
    const s = await api.session();
    if (s) {
      setSession(s);
      await loadDirectory();
      api.live.start();
    }
  } catch (e) {
    toast(errorText(e), 'error');
  }
  route();
}

start();
