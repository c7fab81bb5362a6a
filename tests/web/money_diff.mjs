// money_diff.mjs -- web/money.js against proto/money.c on random input: the
// browser's conversion and the C one must agree on amounts and texts nobody
// wrote an example for.
//
//   node tests/web/money_diff.mjs MONEY_ORACLE      (CTest's test_web_money_diff)
//
// MONEY_ORACLE is tests/money_oracle.c built (money.c on stdin/stdout). The
// whole run is one batch: every request is written to one oracle process,
// its answers read back, then compared. A seeded PRNG makes the input; the
// seed is printed and IMX_MONEY_SEED=N (0..2^32-1) repeats a run.
//
// What must agree:
//   - formatting, every int64 (random, log-uniform, 0, +-1, INT64_MAX/MIN,
//     the price cap and its neighbours, around powers of ten) at 0..4
//     decimals: minorToInput in English is money.c's format with '.', in
//     German with ',' (IMX_MONEY_COMMA); formatScaled and formatMoney
//     (with a currency sign) are the same digits, sign and separator with
//     the locale's grouping by three added, and '+' above zero with `plus`
//     as IMX_MONEY_PLUS; money.c's decimals for EUR, JPY, KWD, CLF, and its
//     IMX_DECIMALS_MAX and IMX_PRICE_MAX_MINOR are money.js's;
//   - round trips: money.js's input text parsed by money.c, and money.c's
//     text parsed by money.js, give back the same minor units (INT64_MIN,
//     whose magnitude is above every limit, is refused by both);
//   - parsing random texts in and around the grammar (digits, one '.' or
//     ',', a sign, spaces, too many decimals, empty, leading zeros, huge
//     magnitudes, the limit and its neighbours, junk): the same acceptance,
//     the same minor units, and the same refusal (money.c's messages mapped
//     onto money.js's codes below).
//
// Where money.js deliberately accepts more than money.c (its header says
// so, and the README's "Typing money"), the text money.c is asked about is
// the one money.js reads, and only there:
//   1. spaces around the text (String.prototype.trim's set: an input box
//      leaves them) are ignored; money.c has no spaces at all, so the raw
//      text must be refused by money.c as well;
//   2. the locale's grouping separator typed correctly, "1.234,56" or
//      "1.234" in German, "1,234.56" or "1,234" in English (1 to 3 digits,
//      not starting with 0, then groups of exactly three, then optionally
//      the locale's decimal separator and digits), is thousands grouping:
//      money.c is asked about the text without it ("1234,56", "1234"). So
//      "1.500" with 3 decimals is 1500 major in German and 1.5 in money.c,
//      as the README says.
// Every other text must get exactly money.c's answer.
import { spawnSync } from 'node:child_process';
import {
  parseMoney, formatMoney, formatScaled, minorToInput, DECIMALS_MAX, PRICE_MAX,
} from '../../web/money.js';

const oracle = process.argv[2];
if (!oracle) {
  console.error('usage: node tests/web/money_diff.mjs MONEY_ORACLE');
  process.exit(2);
}

const SEED_DEFAULT = 20261205;
const seedText = process.env.IMX_MONEY_SEED ?? String(SEED_DEFAULT);
if (!/^[0-9]+$/.test(seedText) || Number(seedText) > 0xffffffff) {
  console.error(`IMX_MONEY_SEED must be 0..${0xffffffff}, not ${seedText}`);
  process.exit(2);
}
const seed = Number(seedText);
console.log(`money_diff: seed ${seed} (IMX_MONEY_SEED=${seed} repeats this run)`);

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const FLAG_SIGNED = 1;
const FLAG_COMMA = 2;
const FLAG_PLUS = 4;
const MINORS_RANDOM = 3000; /* x 5 decimals: 15,000 and more formatted amounts */
const TEXTS_RANDOM = 30000;

// ------------------------------------------------------------------- PRNG
// sfc32, seeded through splitmix32: small, fast, and the same in every node.
function splitmix32(a) {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}
const sm = splitmix32(seed);
let [sa, sb, sc, sd] = [sm(), sm(), sm(), sm()];
function u32() {
  const t = (((sa + sb) | 0) + sd) | 0;
  sd = (sd + 1) | 0;
  sa = sb ^ (sb >>> 9);
  sb = (sc + (sc << 3)) | 0;
  sc = (sc << 21) | (sc >>> 11);
  sc = (sc + t) | 0;
  return t >>> 0;
}
for (let i = 0; i < 16; i++) u32();
const below = (n) => Math.floor((u32() / 4294967296) * n);
const chance = (p) => u32() / 4294967296 < p;
const pick = (a) => a[below(a.length)];
const digits = (n) => Array.from({ length: n }, () => String(below(10))).join('');
const int64 = () => BigInt.asIntN(64, (BigInt(u32()) << 32n) | BigInt(u32()));

/* A magnitude of 1..19 digits, uniform in its number of digits, <= max. */
function magnitude(max = INT64_MAX) {
  const v = BigInt(digits(1 + below(19)));
  return v <= max ? v : v % (max + 1n);
}

// --------------------------------------------------- the oracle, one batch
const requests = [];
const checks = [];
const ask = (line) => requests.push(line) - 1;
const hex = (text) => 'x' + Buffer.from(text, 'utf8').toString('hex');
const askParse = (text, decimals, flags, max) =>
  ask(`parse ${decimals} ${flags} ${max} ${hex(text)}`);

/* money.c's messages (proto/money.c) as money.js's error codes. */
const C_ERRORS = new Map([
  ['must not be negative', 'negative'],
  ['empty: give an amount such as 85.50', 'empty'],
  ["not an amount: digits with at most one '.' or ',' (85, 85.50, 85,50)", 'format'],
  ['has decimals, but the currency has none', 'no_decimals'],
  ['has more decimals than the currency has', 'decimals'],
  ['larger than the limit', 'too_large'],
]);

const failures = [];
function fail(what, details) {
  failures.push(`${what}: ${JSON.stringify(details, (k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
}

/* An oracle answer to parse as {ok, minor} or {ok: false, error}. */
function cParsed(answer, request) {
  let m = /^ok (-?[0-9]+)$/.exec(answer);
  if (m) return { ok: true, minor: BigInt(m[1]) };
  m = /^err (\S+) (\S+) (.*)$/.exec(answer);
  const error = m && m[1] === 'bad_field' && m[2] === '-' && C_ERRORS.get(m[3]);
  if (!error) {
    fail('money.c answered what this test does not know', { request, answer });
    return { ok: false, error: `?${answer}` };
  }
  return { ok: false, error };
}
const same = (a, b) => a.ok === b.ok && (a.ok ? a.minor === b.minor : a.error === b.error);
const show = (r) => (r.ok ? `ok ${r.minor}` : `refused ${r.error}`);

// ------------------------------------------- what money.js reads, in C terms
const esc = (c) => (c === '.' ? '\\.' : c);
const localeSeps = (locale) =>
  (locale.toLowerCase().startsWith('de') ? { decimal: ',', group: '.' } : { decimal: '.', group: ',' });
const groupedRe = new Map();
for (const locale of ['de', 'en']) {
  const { decimal, group } = localeSeps(locale);
  groupedRe.set(locale, new RegExp(
    `^(-?)([1-9][0-9]{0,2}(?:${esc(group)}[0-9]{3})+)(${esc(decimal)}[0-9]+)?$`));
}

/* The text money.c must read as money.js reads text, and which of the two
** deliberate extras (see the top) made it differ. */
function asMoneyC(text, locale) {
  let c = text.trim();
  const trimmed = c !== text;
  const lang = locale.toLowerCase().startsWith('de') ? 'de' : 'en';
  const g = groupedRe.get(lang).exec(c);
  if (g) c = g[1] + g[2].split(localeSeps(lang).group).join('') + (g[3] || '');
  return { c, trimmed, grouped: Boolean(g) };
}

// ------------------------------------------------------------ parse checks
const stats = { texts: 0, trimmed: 0, grouped: 0, accepted: 0, refused: {} };

/* text must read the same in money.js (locale) and money.c. */
function parseCase(text, decimals, signed, max, locale, origin) {
  const { c, trimmed, grouped } = asMoneyC(text, locale);
  const flags = signed ? FLAG_SIGNED : 0;
  const i = askParse(c, decimals, flags, max);
  const iRaw = trimmed ? askParse(text, decimals, flags, max) : -1;
  checks.push((answers) => {
    const cr = cParsed(answers[i], requests[i]);
    const js = parseMoney(text, { decimals, locale, signed, max });
    stats.texts++;
    if (trimmed) stats.trimmed++;
    if (grouped) stats.grouped++;
    if (js.ok) stats.accepted++;
    else stats.refused[js.error] = (stats.refused[js.error] || 0) + 1;
    if (!same(js, cr))
      fail('parse differs', { origin, text, decimals, signed, max, locale,
        moneyC_text: c, js: show(js), moneyC: show(cr) });
    if (trimmed && cParsed(answers[iRaw], requests[iRaw]).ok)
      fail('money.c read spaces around an amount', { text, decimals, max });
  });
}

// -------------------------------------------------------- text generators
const WS = [' ', '  ', '\t', '\u00a0', '\n', '\r', ' \t'];
const JUNK = ['+', 'e', 'E', '€', ' ', '\t', 'a', '_', "'", '\u00a0', '\u202f', '٣', '１', '-', '.', ','];

/* digits, one separator, decimals, a sign, spaces: around the grammar. */
function grammarText(decimals) {
  let s = '';
  if (chance(0.06)) s += pick(WS);
  const sign = below(100);
  if (sign < 25) s += '-';
  else if (sign < 28) s += '+';
  else if (sign < 29) s += '--';
  const wlen = pick([0, 1, 1, 2, 3, 4, 5, 6, 7, 9, 12, 15, 18, 19, 20, 25]);
  if (chance(0.1)) s += '0'.repeat(1 + below(4));
  s += digits(wlen);
  const sep = below(100);
  if (sep < 30) s += '.';
  else if (sep < 60) s += ',';
  else if (sep < 62) s += pick(['.,', ',.', '..', ',,']);
  if (sep < 62) s += digits(pick([0, 1, decimals, decimals, decimals + 1, 2, 3, 4, 5, 6]));
  if (chance(0.06)) s += pick(WS);
  return s;
}

/* A magnitude written with grouping: the locale's, the other one's, or
** groups of the wrong size. */
function groupedText(decimals) {
  const whole = magnitude().toString();
  const group = pick(['.', ',', '.', ',', ' ', "'"]);
  const size = chance(0.85) ? 3 : pick([2, 4]);
  let out = '';
  for (let end = whole.length; end > 0; end -= size) {
    const part = whole.slice(Math.max(0, end - size), end);
    out = out ? part + group + out : part;
  }
  if (chance(0.5)) out += pick(['.', ',']) + digits(pick([1, decimals, decimals + 1, 2, 3]));
  return (chance(0.2) ? '-' : '') + out;
}

/* v (>= 0) in major units, written out by this test itself. */
function majorText(v, decimals, sep) {
  if (decimals === 0) return v.toString();
  const s = v.toString().padStart(decimals + 1, '0');
  return s.slice(0, -decimals) + sep + s.slice(-decimals);
}

/* The limit's neighbours: max - 1, max, max + 1 in major units. */
function boundaryText(decimals, max) {
  let v = max + BigInt(below(3) - 1);
  if (v < 0n) v = 0n;
  let s = majorText(v, decimals, pick(['.', ',']));
  if (decimals > 0 && chance(0.3)) s = s.replace(/[.,]?0+$/, ''); /* "85.50" as "85.5" */
  return (chance(0.2) ? '-' : '') + s;
}

/* A grammar text with one character deleted, doubled or replaced. */
function mutatedText(decimals) {
  const s = majorText(magnitude(), decimals, pick(['.', ',']));
  const at = below(s.length + 1);
  switch (below(3)) {
    case 0: return s.slice(0, at) + s.slice(at + 1);
    case 1: return s.slice(0, at) + s.slice(at, at + 1).repeat(2) + s.slice(at + 1);
    default: return s.slice(0, at) + pick(JUNK) + s.slice(at + 1);
  }
}

function junkText() {
  const alphabet = '0123456789.,- ';
  let s = '';
  for (let n = below(9); n > 0; n--) s += chance(0.85) ? alphabet[below(alphabet.length)] : pick(JUNK);
  return s;
}

function hugeText(decimals) {
  const s = (chance(0.3) ? '0'.repeat(below(20)) : '') + digits(19 + below(25));
  return (chance(0.2) ? '-' : '') + (chance(0.5) ? s : s + pick(['.', ',']) + digits(1 + below(decimals + 1)));
}

function randomMax() {
  switch (below(8)) {
    case 0: return PRICE_MAX;
    case 1: return INT64_MAX;
    case 2: return pick([0n, 1n, 9n, 10n, 99n, 100n]);
    case 3: return 10n ** BigInt(below(19));
    case 4: return 10n ** BigInt(below(19)) - 1n;
    case 5: return BigInt.asUintN(63, int64());
    default: return magnitude();
  }
}

// ----------------------------------------------------------- format checks
/* money.c's decimals for these currencies pick the sign formatMoney shows
** for each number of decimals (asked of money.c below). */
const CURRENCIES = ['JPY', 'EUR', 'KWD', 'CLF', 'XXX'];
const currencyAsk = CURRENCIES.map((code) => ask(`decimals ${code}`));
const limitsAsk = ask('limits');

function edgeMinors() {
  const out = [0n, 1n, -1n, INT64_MAX, INT64_MIN, INT64_MIN + 1n, INT64_MAX - 1n];
  for (const p of [PRICE_MAX, 10n ** 18n]) out.push(p - 1n, p, p + 1n, -p);
  for (let k = 0n; k <= 18n; k++) {
    const p = 10n ** k;
    out.push(p - 1n, p, p + 1n, -p + 1n, -p, -p - 1n, 5n * p);
  }
  return out;
}

/* Intl's grouping by three removed, checked to be grouping by three. */
function ungrouped(text, locale) {
  const { decimal, group } = localeSeps(locale);
  const shape = new RegExp(`^[-+]?[0-9]{1,3}(?:${esc(group)}[0-9]{3})*(?:${esc(decimal)}[0-9]+)?$`);
  return shape.test(text) ? text.split(group).join('') : null;
}

let currencyFor = null; /* decimals -> an ISO code with them, from money.c */
const fstats = { amounts: 0, roundTrips: 0 };

function formatCase(minor, decimals) {
  const c = [0, FLAG_COMMA, FLAG_PLUS, FLAG_COMMA | FLAG_PLUS].map(
    (flags) => ask(`format ${minor} ${decimals} ${flags}`));
  const jsEn = minorToInput(minor, decimals, 'en');
  const jsDe = minorToInput(minor, decimals, 'de');
  /* money.js's input text read by money.c: the amount again, or refused
  ** above the limit as INT64_MIN's magnitude always is. */
  const rt = [jsEn, jsDe].map((t) => askParse(t, decimals, FLAG_SIGNED, INT64_MAX));
  const back = minor === INT64_MIN ? { ok: false, error: 'too_large' } : { ok: true, minor };
  const locale = pick(['de-DE', 'en-US']);
  const plus = chance(0.5);
  const where = { minor, decimals };
  checks.push((answers) => {
    fstats.amounts++;
    const [c0, cComma, cPlus, cCommaPlus] = c.map((i) => answers[i].replace(/^ok /, ''));
    if (jsEn !== c0) fail('minorToInput en differs from money.c', { ...where, js: jsEn, moneyC: c0 });
    if (jsDe !== cComma) fail('minorToInput de differs from money.c ","', { ...where, js: jsDe, moneyC: cComma });
    for (const [loc, p, want] of [['en-US', false, c0], ['en-US', true, cPlus],
      ['de-DE', false, cComma], ['de-DE', true, cCommaPlus]]) {
      const shown = formatScaled(minor, decimals, { locale: loc, plus: p });
      if (ungrouped(shown, loc) !== want)
        fail('formatScaled differs from money.c', { ...where, locale: loc, plus: p, js: shown, moneyC: want });
    }
    /* with the currency's sign: the same number once the sign is gone */
    const currency = currencyFor.get(decimals);
    const money = formatMoney(minor, { decimals, locale, currency, plus });
    const bare = money.replace(/[^0-9.,+-]/g, '');
    const want = locale === 'de-DE' ? (plus ? cCommaPlus : cComma) : plus ? cPlus : c0;
    if (ungrouped(bare, locale) !== want)
      fail('formatMoney differs from money.c', { ...where, locale, currency, plus, js: money, moneyC: want });
    /* round trips both ways */
    rt.forEach((i, k) => {
      const got = cParsed(answers[i], requests[i]);
      if (!same(got, back))
        fail('money.c does not read money.js\'s input text back', { ...where, text: [jsEn, jsDe][k], moneyC: show(got) });
    });
    for (const [text, loc] of [[c0, 'en'], [cComma, 'de']]) {
      const got = parseMoney(text, { decimals, locale: loc, signed: true, max: INT64_MAX });
      if (!same(got, back))
        fail('money.js does not read money.c\'s text back', { ...where, text, locale: loc, js: show(got) });
    }
    fstats.roundTrips += 4;
  });
  /* the input texts as typed text too, in either language, at a limit
  ** next to their magnitude: "1.500" with 3 decimals in German is grouping */
  const mag = minor < 0n ? -minor : minor;
  for (const text of [jsEn, jsDe]) {
    let max = mag + BigInt(below(3) - 1);
    if (max < 0n) max = 0n;
    if (max > INT64_MAX) max = INT64_MAX;
    parseCase(text, decimals, chance(0.7), max, pick(['de', 'en']), 'input text');
  }
}

// ------------------------------------------------------------------ run
const minors = edgeMinors();
for (let i = 0; i < MINORS_RANDOM; i++) {
  const v = chance(0.5) ? int64() : magnitude();
  minors.push(chance(0.5) ? -v : v);
}
for (const m of minors) for (let d = 0; d <= DECIMALS_MAX; d++) formatCase(m, d);

for (let i = 0; i < TEXTS_RANDOM; i++) {
  const decimals = below(DECIMALS_MAX + 1);
  const max = randomMax();
  const kind = below(100);
  let text;
  let origin;
  if (kind < 40) [text, origin] = [grammarText(decimals), 'grammar'];
  else if (kind < 52) [text, origin] = [groupedText(decimals), 'grouped'];
  else if (kind < 67) [text, origin] = [boundaryText(decimals, max), 'limit'];
  else if (kind < 82) [text, origin] = [mutatedText(decimals), 'mutated'];
  else if (kind < 92) [text, origin] = [junkText(), 'junk'];
  else [text, origin] = [hugeText(decimals), 'huge'];
  parseCase(text, decimals, chance(0.5), max, pick(['de', 'en', 'de-DE', 'en-US']), origin);
}
/* the examples every reader thinks of, at every decimals */
for (const text of ['', ' ', '-', '0', '-0', '00', '.5', '85.', '85,', '+5', '1e3', '1.2.3', '1,2,3',
  '1.234,56', '1,234.56', '1.234', '1,234', '0.500', '0,500', '1.500', '1,500', '12.345.678',
  '9223372036854775807', '9223372036854775808', '-9223372036854775808', ' 85 ', '\t85,5\n']) {
  for (let d = 0; d <= DECIMALS_MAX; d++) {
    for (const locale of ['de', 'en']) {
      parseCase(text, d, true, INT64_MAX, locale, 'example');
      parseCase(text, d, false, PRICE_MAX, locale, 'example');
    }
  }
}

const run = spawnSync(oracle, [], {
  input: requests.join('\n') + '\n',
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
});
if (run.error || run.status !== 0) {
  console.error(`money_diff: ${oracle} failed: ${run.error || `status ${run.status}, signal ${run.signal}`}\n${run.stderr}`);
  process.exit(1);
}
const answers = run.stdout.split('\n');
if (answers.pop() !== '' || answers.length !== requests.length) {
  console.error(`money_diff: ${requests.length} requests, ${answers.length} answers`);
  process.exit(1);
}

const [cDecimalsMax, cPriceMax] = answers[limitsAsk].replace(/^ok /, '').split(' ');
if (Number(cDecimalsMax) !== DECIMALS_MAX || BigInt(cPriceMax) !== PRICE_MAX)
  fail('limits differ', { moneyC: answers[limitsAsk], js: { DECIMALS_MAX, PRICE_MAX } });
currencyFor = new Map();
CURRENCIES.forEach((code, k) => {
  const d = Number(answers[currencyAsk[k]].replace(/^ok /, ''));
  if (d >= 0) currencyFor.set(d, code);
  else if (code !== 'XXX') fail('money.c does not know a currency', { code, answer: answers[currencyAsk[k]] });
});
for (let d = 0; d <= DECIMALS_MAX; d++)
  if (d !== 1 && !currencyFor.has(d)) fail('no currency with these decimals', { d });
currencyFor.set(1, undefined); /* ISO 4217 has no currency with one decimal */

const started = Date.now();
for (const check of checks) check(answers);

console.log(`money_diff: ${requests.length} requests to money.c in one batch; ` +
  `${fstats.amounts} amounts formatted (x4 flags, in both languages, with and without a currency sign), ` +
  `${fstats.roundTrips} round trips; ${stats.texts} texts parsed: ${stats.accepted} accepted, ` +
  `refused ${JSON.stringify(stats.refused)}; money.js's extras: ${stats.trimmed} with spaces around, ` +
  `${stats.grouped} with grouping (${Date.now() - started} ms comparing)`);
if (failures.length) {
  for (const f of failures.slice(0, 25)) console.log(`FAIL ${f}`);
  console.log(`money_diff: ${failures.length} disagreements (seed ${seed}); FAILED`);
  process.exit(1);
}
console.log('money_diff: money.js and money.c agree; passed');
