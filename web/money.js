/*
** money.js -- the browser's one conversion between the money people type
** and read ("85,50", "1.234,56 €", "€1,234.56") and the integer minor units
** of the protocol (8550, 123456). The pages never do arithmetic on money
** anywhere else.
**
** Exact by construction, as proto/money.c: text is read as digit strings and
** turned into a BigInt; no parseFloat, no Number division, no toFixed. A
** number that comes from the wire must be a safe integer (JSON numbers are
** doubles in JavaScript; every amount of the protocol is far below 2^53, and
** one that is not is refused with a RangeError rather than shown wrong).
**
** Parsing, the rules of proto/money.c, with the locale's grouping added:
**   - digits, then optionally ONE decimal separator and 1..decimals digits;
**     '.' and ',' are both accepted as the decimal separator, as in money.c
**     ("85.50" and "85,50" are the same in German and in English);
**   - in addition the locale's grouping separator is accepted when it is
**     typed correctly, in groups of three from the decimal separator:
**     German "1.234,56" and "1.234", English "1,234.56" and "1,234". A
**     separator that groups correctly is read as grouping ("1.234" in German
**     is 1234, "1,234" in English 1234); any other lone separator is the
**     decimal one ("85.5" in German is 85.50). "1.23.4" or "12,34.5" in
**     English are refused;
**   - more decimals than the currency has is an error, even zeros
**     ("85.000" for EUR), as in money.c; a currency without decimals
**     refuses any;
**   - no sign unless the caller allows one; no "+", no ".5", no "85.", no
**     exponent, no spaces inside (spaces around the text, as an input box
**     leaves them, are ignored);
**   - the result is checked against the caller's limit (the protocol's
**     1..10^9 for prices) and refused with "too_large" above it.
** Errors are codes ("empty", "format", "negative", "decimals",
** "no_decimals", "too_large"); i18n.js turns them into sentences.
**
** Formatting uses Intl.NumberFormat for the grouping and the currency sign
** only, on the integer part (a BigInt, which Intl formats exactly); the
** decimal separator comes from the same locale and the fraction digits are
** appended as they are. So 123456 minor EUR is "1.234,56 €" in German and
** "€1,234.56" in English, and no digit ever passes through a double.
*/

export const DECIMALS_MAX = 4; /* base/imx_base.h: IMX_DECIMALS_MAX */
export const PRICE_MAX = 1000000000n; /* prices, ceilings: 1..10^9 minor */

/* The grouping and decimal separators of the pages' two languages. */
function separators(locale) {
  return String(locale).toLowerCase().startsWith('de')
    ? { decimal: ',', group: '.' }
    : { decimal: '.', group: ',' };
}

function isDigits(s) {
  return s.length > 0 && /^[0-9]+$/.test(s);
}

/* "1.234.567" with group ".": true; "1234", "12.34", ".123", "0.500" false. */
function isGrouped(s, group) {
  const parts = s.split(group);
  if (parts.length < 2) return false;
  if (!isDigits(parts[0]) || parts[0].length > 3 || parts[0][0] === '0') return false;
  return parts.slice(1).every((p) => p.length === 3 && isDigits(p));
}

function fail(error) {
  return { ok: false, error };
}

/*
** parseMoney(text, {decimals, locale, max, signed}) ->
**   {ok: true, minor: BigInt} or {ok: false, error: CODE}.
** `max` (BigInt or safe integer) is the largest magnitude allowed.
*/
export function parseMoney(text, opts) {
  const decimals = checkDecimals(opts.decimals);
  const max = toBigInt(opts.max === undefined ? PRICE_MAX : opts.max);
  const { decimal, group } = separators(opts.locale || 'en');
  if (typeof text !== 'string') return fail('format');
  let s = text.trim();
  if (s === '') return fail('empty');
  let negative = false;
  if (s[0] === '-') {
    if (!opts.signed) return fail('negative');
    negative = true;
    s = s.slice(1);
  }
  if (!/^[0-9.,]+$/.test(s)) return fail('format');
  let whole;
  let frac = '';
  const d = s.split(decimal);
  if (d.length > 2) return fail('format');
  if (d.length === 2) {
    /* The locale's decimal separator: grouping may precede it. */
    [whole, frac] = d;
    if (!isDigits(frac)) return fail('format');
    if (!isDigits(whole)) {
      if (!isGrouped(whole, group)) return fail('format');
      whole = whole.split(group).join('');
    }
  } else if (isDigits(s)) {
    whole = s;
  } else if (isGrouped(s, group)) {
    whole = s.split(group).join('');
  } else {
    /* money.c's rule: the other separator, once, is a decimal one. */
    const g = s.split(group);
    if (g.length !== 2 || !isDigits(g[0]) || !isDigits(g[1])) return fail('format');
    [whole, frac] = g;
  }
  if (frac.length > decimals) return fail(decimals === 0 ? 'no_decimals' : 'decimals');
  const magnitude = BigInt(whole + frac.padEnd(decimals, '0'));
  if (magnitude > max) return fail('too_large');
  return { ok: true, minor: negative ? -magnitude : magnitude };
}

function checkDecimals(decimals) {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > DECIMALS_MAX)
    throw new RangeError(`decimals must be 0..${DECIMALS_MAX}, not ${decimals}`);
  return decimals;
}

/* A wire number (safe integer), a BigInt or a string of digits (optionally
** signed), as a BigInt; anything else is a programming error. */
export function toBigInt(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not an exact integer: ${v}`);
    return BigInt(v);
  }
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return BigInt(v);
  throw new RangeError(`not an integer: ${String(v)}`);
}

/* A BigInt for the wire: JSON numbers must stay exact in the browser. */
export function toWire(minor) {
  const b = toBigInt(minor);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < -BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError('amount too large for the wire');
  return Number(b);
}

const formatters = new Map();
function numberFormat(locale, options) {
  const key = locale + JSON.stringify(options);
  let nf = formatters.get(key);
  if (!nf) {
    nf = new Intl.NumberFormat(locale, { numberingSystem: 'latn', ...options });
    formatters.set(key, nf);
  }
  return nf;
}

function decimalSeparator(locale) {
  const parts = numberFormat(locale, { minimumFractionDigits: 1 }).formatToParts(1n);
  const p = parts.find((x) => x.type === 'decimal');
  return p ? p.value : separators(locale).decimal;
}

/*
** formatScaled(value, places, {locale, currency, plus}) -> text.
** `value` is an integer in units of 10^-places: 123456 with 2 places is
** 1,234.56. With `currency` (an ISO code) the locale's currency sign is
** placed as Intl places it; `plus` shows "+" before a positive value.
*/
export function formatScaled(value, places, opts = {}) {
  checkDecimals(places);
  const locale = opts.locale || 'en';
  const v = toBigInt(value);
  const negative = v < 0n;
  const magnitude = negative ? -v : v;
  const scale = 10n ** BigInt(places);
  const whole = magnitude / scale;
  const frac = (magnitude % scale).toString().padStart(places, '0');
  const options = opts.currency
    ? { style: 'currency', currency: opts.currency, minimumFractionDigits: 0, maximumFractionDigits: 0 }
    : { maximumFractionDigits: 0 };
  if (opts.plus && !negative && magnitude > 0n) options.signDisplay = 'always';
  /* Intl cannot show "-0": format 1 with the sign and put the 0 in. */
  const shown = whole === 0n ? 1n : whole;
  let parts = numberFormat(locale, options).formatToParts(negative ? -shown : shown);
  if (whole === 0n) parts = parts.map((p) => (p.type === 'integer' ? { type: 'integer', value: '0' } : p));
  let last = -1;
  parts.forEach((p, i) => {
    if (p.type === 'integer' || p.type === 'group') last = i;
  });
  let out = '';
  parts.forEach((p, i) => {
    out += p.value;
    if (i === last && places > 0) out += decimalSeparator(locale) + frac;
  });
  return out;
}

/* formatMoney(minor, {decimals, locale, currency, plus}): "1.234,56 €". */
export function formatMoney(minor, opts) {
  return formatScaled(minor, checkDecimals(opts.decimals), opts);
}

/* The text to put back into an input box: no grouping, the locale's decimal
** separator ("85,50" in German, "85.50" in English), so that parseMoney
** reads it back to the same minor units. */
export function minorToInput(minor, decimals, locale) {
  checkDecimals(decimals);
  const v = toBigInt(minor);
  const negative = v < 0n;
  const m = negative ? -v : v;
  const scale = 10n ** BigInt(decimals);
  const text = decimals === 0
    ? (m / scale).toString()
    : (m / scale).toString() + separators(locale).decimal + (m % scale).toString().padStart(decimals, '0');
  return (negative ? '-' : '') + text;
}

/* The mean of `count` ratings summing to `sum` stars, in tenths of a star,
** rounded half up from the exact ratio (43/10 is 43, 11/3 is 37), as imx
** shows it; null when there are no ratings. */
export function starsTenths(sum, count) {
  const s = toBigInt(sum);
  const n = toBigInt(count);
  if (n <= 0n) return null;
  return (20n * s + n) / (2n * n);
}

/* A score tender's score (thousandths, 0..100000) in tenths, rounded down
** as imx tender show prints it (43.7). */
export function scoreTenths(thousandths) {
  return toBigInt(thousandths) / 100n;
}
