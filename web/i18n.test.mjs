// i18n.test.mjs -- the German and English strings of web/i18n.js: the same
// keys in both, the same {placeholders} in each pair, and t()'s filling in.
// Run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRINGS, t, unitFor, fmt, serviceIn } from './i18n.js';

const placeholders = (s) => (s.match(/\{\w+\}/g) || []).sort().join(' ');

test('every key in English and German, with the same placeholders', () => {
  const en = Object.keys(STRINGS.en);
  const de = Object.keys(STRINGS.de);
  assert.deepEqual(de.filter((k) => !(k in STRINGS.en)), [], 'German keys without English');
  assert.deepEqual(en.filter((k) => !(k in STRINGS.de)), [], 'English keys without German');
  for (const k of en) {
    assert.equal(placeholders(STRINGS.de[k]), placeholders(STRINGS.en[k]), `placeholders of ${k}`);
    assert.notEqual(STRINGS.en[k].trim(), '', `empty string ${k}`);
  }
});

test('a service in a language: the market file\'s translation, else its own texts', () => {
  const row = { service: 'truck.day', name: 'Truck with driver', description: 'A truck.', unit: 'truck-day',
                tick: 500, translations: { de: { name: 'LKW mit Fahrer', unit: 'LKW-Tag' }, fr: { description: 'Un camion.' } } };
  const de = serviceIn(row, 'de');
  assert.equal(de.name, 'LKW mit Fahrer');
  assert.equal(de.unit, 'LKW-Tag');
  assert.equal(de.description, 'A truck.'); /* not translated: its own */
  assert.equal(de.tick, 500);
  assert.deepEqual(de.own, { name: 'Truck with driver', description: 'A truck.', unit: 'truck-day' });
  assert.equal(serviceIn(row, 'fr').name, 'Truck with driver');
  assert.equal(serviceIn(row, 'fr').description, 'Un camion.');
  assert.equal(serviceIn(row, 'en'), row); /* no translation: the row itself */
  assert.equal(serviceIn({ ...row, translations: undefined }, 'de').name, 'Truck with driver');
  assert.equal(row.name, 'Truck with driver'); /* the row is not changed */
});

test('t fills in placeholders and shows a missing key as itself', () => {
  assert.equal(t('order.budget_left', { amount: '€1.00' }), 'Budget available: €1.00');
  assert.equal(t('tenders.detail', { tender: 7 }), 'Tender 7');
  const warn = console.warn;
  console.warn = () => {};
  try {
    assert.equal(t('no.such.key'), 'no.such.key');
  } finally {
    console.warn = warn;
  }
});

test('every literal key the pages use has a string', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const dir = path.dirname(new URL(import.meta.url).pathname);
  const files = ['app.js', 'ui.js', 'chart.js', ...fs.readdirSync(path.join(dir, 'pages')).map((f) => `pages/${f}`)];
  const missing = [];
  for (const f of files) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/\bt\('([a-z_.0-9]+)'/g)) {
      if (!(m[1] in STRINGS.en)) missing.push(`${f}: ${m[1]}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('the unit of a quantity: the plural the page knows, else "× unit"', () => {
  assert.equal(unitFor(1, 'hour'), 'hour');
  assert.equal(unitFor(25, 'hour'), 'hours');
  assert.equal(unitFor(0, 'hour'), 'hours');
  assert.equal(unitFor(10n, 'm2-month'), 'm2-months');
  assert.equal(unitFor(2, 'truck-day'), 'truck-days');
  assert.equal(unitFor(3, 'kWh'), '× kWh');
  assert.equal(unitFor(3, 'person'), '× person');
  assert.equal(fmt.qty(1500, 'page'), '1,500 pages');
  assert.equal(fmt.qty(25, ''), '25');
});
