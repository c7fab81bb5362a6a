// money.test.mjs -- web/money.js against the rules of proto/money.c, in
// German and English, for currencies with 0, 2 and 3 decimals.
// Run with `node --test web/` (CTest's test_web_units does); CTest's
// test_web_money_diff compares money.js with money.c itself on random input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseMoney, formatMoney, formatScaled, minorToInput, toBigInt, toWire,
  starsTenths, scoreTenths, PRICE_MAX,
} from './money.js';

const NBSP = '\u00a0';

function minor(text, decimals, locale, extra = {}) {
  const r = parseMoney(text, { decimals, locale, ...extra });
  assert.equal(r.ok, true, `${text} (${locale}, ${decimals}) should parse, got ${r.error}`);
  return r.minor;
}
function refused(text, decimals, locale, extra = {}) {
  const r = parseMoney(text, { decimals, locale, ...extra });
  assert.equal(r.ok, false, `${text} (${locale}, ${decimals}) should be refused, got ${r.minor}`);
  return r.error;
}

test('parse: plain amounts as money.c reads them, in both languages', () => {
  for (const loc of ['de', 'en']) {
    assert.equal(minor('85', 2, loc), 8500n);
    assert.equal(minor('85.5', 2, loc), 8550n);
    assert.equal(minor('85,50', 2, loc), 8550n);
    assert.equal(minor('0.05', 2, loc), 5n);
    assert.equal(minor('0,05', 2, loc), 5n);
    assert.equal(minor('  85,5 ', 2, loc), 8550n);
    assert.equal(minor('007', 2, loc), 700n);
  }
});

test('parse: grouping typed correctly is the locale\'s', () => {
  assert.equal(minor('1.234,56', 2, 'de'), 123456n);
  assert.equal(minor('1.234', 2, 'de'), 123400n);
  assert.equal(minor('1.234.567,8', 2, 'de'), 123456780n);
  assert.equal(minor('1,234.56', 2, 'en'), 123456n);
  assert.equal(minor('1,234', 2, 'en'), 123400n);
  assert.equal(minor('12,345,678', 0, 'en'), 12345678n);
  assert.equal(minor('12.345.678', 0, 'de'), 12345678n);
  // with three decimals a lone separator before three digits is grouping
  assert.equal(minor('1.500', 3, 'de'), 1500000n);
  assert.equal(minor('1,500', 3, 'en'), 1500000n);
  assert.equal(minor('1,500', 3, 'de'), 1500n);
  assert.equal(minor('1.500', 3, 'en'), 1500n);
  // a leading zero group is no grouping: 0.500 is a decimal and too precise for EUR
  assert.equal(refused('0.500', 2, 'de'), 'decimals');
});

test('parse: refusals with their codes', () => {
  for (const loc of ['de', 'en']) {
    assert.equal(refused('', 2, loc), 'empty');
    assert.equal(refused('   ', 2, loc), 'empty');
    assert.equal(refused('-5', 2, loc), 'negative');
    assert.equal(refused('+5', 2, loc), 'format');
    assert.equal(refused('.5', 2, loc), 'format');
    assert.equal(refused('85.', 2, loc), 'format');
    assert.equal(refused('85,', 2, loc), 'format');
    assert.equal(refused('8 5', 2, loc), 'format');
    assert.equal(refused('1e3', 2, loc), 'format');
    assert.equal(refused('85€', 2, loc), 'format');
    assert.equal(refused('abc', 2, loc), 'format');
    assert.equal(refused('1.2.3', 2, loc), 'format');
    assert.equal(refused('1,2,3', 2, loc), 'format');
    assert.equal(refused('85.1234', 2, loc), 'decimals');
    assert.equal(refused('85,1234', 2, loc), 'decimals');
    assert.equal(refused(42, 2, loc), 'format');
  }
  // too many decimals, even zeros, in the locale's own decimal separator;
  // the same text with the grouping separator is a thousand
  assert.equal(refused('85,000', 2, 'de'), 'decimals');
  assert.equal(refused('85.000', 2, 'en'), 'decimals');
  assert.equal(minor('85.000', 2, 'de'), 8500000n);
  assert.equal(minor('85,000', 2, 'en'), 8500000n);
  assert.equal(minor('85.123', 2, 'de'), 8512300n);
  assert.equal(refused('85.123', 2, 'en'), 'decimals');
  assert.equal(refused('85.5', 0, 'en'), 'no_decimals');
  assert.equal(refused('1.2345', 3, 'en'), 'decimals');
  // grouping in the wrong places, or the wrong locale's
  assert.equal(refused('12.34,5', 2, 'de'), 'format');
  assert.equal(refused('1.234.56', 2, 'de'), 'format');
  assert.equal(refused('12,34.5', 2, 'en'), 'format');
  assert.equal(refused('1,234,56', 2, 'en'), 'format');
  assert.equal(refused('1,234.56', 2, 'de'), 'format');
  assert.equal(refused('1.234,56', 2, 'en'), 'format');
  // decimals 0: no separator but grouping
  assert.equal(refused('1,5', 0, 'de'), 'no_decimals');
  assert.equal(refused('1.5', 0, 'en'), 'no_decimals');
});

test('parse: the limit, exactly, with no floating point on the way', () => {
  assert.equal(minor('10000000', 2, 'en'), PRICE_MAX);
  assert.equal(refused('10000000.01', 2, 'en'), 'too_large');
  assert.equal(minor('10.000.000', 2, 'de'), 1000000000n);
  const big = 2n ** 62n;
  assert.equal(minor('46116860184273879.03', 2, 'en', { max: big }), 4611686018427387903n);
  assert.equal(refused('46116860184273879.05', 2, 'en', { max: big }), 'too_large');
  // 0.1 + 0.2 is 0.3 here
  assert.equal(minor('0.1', 2, 'en') + minor('0.2', 2, 'en'), minor('0.3', 2, 'en'));
  assert.equal(minor('-12,34', 2, 'de', { signed: true }), -1234n);
  assert.equal(minor('-0.5', 2, 'en', { signed: true }), -50n);
});

test('format: money as each locale writes it, decimals 0, 2 and 3', () => {
  const de = { decimals: 2, locale: 'de-DE', currency: 'EUR' };
  const en = { decimals: 2, locale: 'en-US', currency: 'EUR' };
  assert.equal(formatMoney(123456, de), `1.234,56${NBSP}€`);
  assert.equal(formatMoney(123456, en), '€1,234.56');
  assert.equal(formatMoney(5, de), `0,05${NBSP}€`);
  assert.equal(formatMoney(5, en), '€0.05');
  assert.equal(formatMoney(-5, en), '-€0.05');
  assert.equal(formatMoney(-5, de), `-0,05${NBSP}€`);
  assert.equal(formatMoney(0, en), '€0.00');
  assert.equal(formatMoney(-123456789, de), `-1.234.567,89${NBSP}€`);
  assert.equal(formatMoney(8550, { ...en, plus: true }), '+€85.50');
  assert.equal(formatMoney(0, { ...en, plus: true }), '€0.00');
  assert.equal(formatMoney('4611686018427387903', en), '€46,116,860,184,273,879.03');
  assert.equal(formatMoney(123456n, { decimals: 0, locale: 'en-US', currency: 'JPY' }), '¥123,456');
  assert.equal(formatMoney(123456, { decimals: 0, locale: 'de-DE', currency: 'JPY' }), `123.456${NBSP}¥`);
  assert.equal(formatMoney(1234567, { decimals: 3, locale: 'en-US', currency: 'KWD' }), `KWD${NBSP}1,234.567`);
  assert.equal(formatMoney(1234567, { decimals: 3, locale: 'de-DE', currency: 'KWD' }), `1.234,567${NBSP}KWD`);
  assert.equal(formatMoney(7, { decimals: 3, locale: 'de-DE' }), '0,007');
  assert.equal(formatMoney(123456, { decimals: 2, locale: 'en-US' }), '1,234.56');
});

test('format: refuses what is not an exact integer', () => {
  assert.throws(() => formatMoney(85.5, { decimals: 2, locale: 'en' }), RangeError);
  assert.throws(() => formatMoney(2 ** 53, { decimals: 2, locale: 'en' }), RangeError);
  assert.throws(() => formatMoney('85.50', { decimals: 2, locale: 'en' }), RangeError);
  assert.throws(() => formatMoney(1, { decimals: 5, locale: 'en' }), RangeError);
  assert.throws(() => parseMoney('1', { decimals: -1, locale: 'en' }), RangeError);
  assert.throws(() => toWire(2n ** 53n), RangeError);
  assert.equal(toWire(8550n), 8550);
  assert.equal(toBigInt('-12'), -12n);
});

test('round trip: what the pages put into an input box reads back the same', () => {
  for (const loc of ['de', 'en']) {
    for (const d of [0, 2, 3]) {
      for (const m of [0n, 1n, 5n, 999n, 1000n, 123456n, 1000000000n]) {
        const text = minorToInput(m, d, loc);
        assert.equal(minor(text, d, loc, { max: 10n ** 12n }), m, `${m} as ${text} (${loc}, ${d})`);
      }
    }
  }
  assert.equal(minorToInput(8550, 2, 'de'), '85,50');
  assert.equal(minorToInput(8550, 2, 'en'), '85.50');
  assert.equal(minorToInput(8550, 0, 'de'), '8550');
});

test('ratios: stars half up from the exact ratio, scores rounded down', () => {
  assert.equal(starsTenths(43, 10), 43n);
  assert.equal(starsTenths(11, 3), 37n);
  assert.equal(starsTenths(9, 2), 45n);
  assert.equal(starsTenths(14, 3), 47n); // 4.666..
  assert.equal(starsTenths(0, 0), null);
  assert.equal(formatScaled(starsTenths(9, 2), 1, { locale: 'de-DE' }), '4,5');
  assert.equal(formatScaled(starsTenths(11, 3), 1, { locale: 'en-US' }), '3.7');
  assert.equal(scoreTenths(43799), 437n);
  assert.equal(scoreTenths(100000), 1000n);
});
