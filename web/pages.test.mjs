// pages.test.mjs -- the pure helpers of the pages: the period labels the
// statement's picker offers, and whole quantities as people type them.
// Run with `node --test web/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { periodLabels } from './pages/statement.js';
import { parseQty } from './ui.js';

test('period labels: the open one first, then back across a year end', () => {
  assert.deepEqual(periodLabels('2027-02', 4), ['2027-02', '2027-01', '2026-12', '2026-11']);
  assert.equal(periodLabels('2026-12').length, 24);
  assert.equal(periodLabels('2026-12').at(-1), '2025-01');
  assert.deepEqual(periodLabels('3'), ['3', '2', '1']);
  assert.deepEqual(periodLabels('1'), ['1']);
  assert.deepEqual(periodLabels('Q1-2027'), ['Q1-2027']);
});

test('quantities: whole units, grouping by three, refusals', () => {
  assert.deepEqual(parseQty('25'), { ok: true, value: 25 });
  assert.deepEqual(parseQty(' 1.000 '), { ok: true, value: 1000 });
  assert.deepEqual(parseQty('1,000,000'), { ok: true, value: 1000000 });
  assert.deepEqual(parseQty('1000000000'), { ok: true, value: 1000000000 });
  assert.deepEqual(parseQty(''), { ok: false, error: 'qty.empty' });
  assert.deepEqual(parseQty('0'), { ok: false, error: 'qty.zero' });
  assert.deepEqual(parseQty('1,5'), { ok: false, error: 'qty.format' });
  assert.deepEqual(parseQty('-3'), { ok: false, error: 'qty.format' });
  assert.deepEqual(parseQty('2e3'), { ok: false, error: 'qty.format' });
  assert.deepEqual(parseQty('1000000001'), { ok: false, error: 'qty.too_large' });
  assert.deepEqual(parseQty('101', 100), { ok: false, error: 'qty.too_large' });
});
