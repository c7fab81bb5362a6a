/*
** chart.js -- the price chart of a service's recent trades, as SVG drawn
** here (no library): one point per trade, oldest on the left, equally
** spaced, the price on a scale from the lowest to the highest traded price.
** The labels are exact (money.js via fmt.money); only the pixel positions
** are fractions. For a screen reader the chart is an image with a title and
** a description naming the number of trades and the price range.
*/
import { t, fmt } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';
/* The drawing's width in its own units: narrower on a phone, so that the
** labels keep a readable size when the chart is scaled to the screen. */
const W_WIDE = 640;
const W_NARROW = 380;
const H = 220;
const PAD = { left: 96, right: 16, top: 16, bottom: 40 };

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

let chartSeq = 0;

/* trades: [{price, time_ms, qty}], oldest first. */
export function priceChart(trades) {
  const W = typeof window !== 'undefined' && window.innerWidth < 640 ? W_NARROW : W_WIDE;
  chartSeq += 1;
  const titleId = `chart-title-${chartSeq}`;
  const descId = `chart-desc-${chartSeq}`;
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'price-chart', role: 'img', 'data-test': 'price-chart',
    'aria-labelledby': `${titleId} ${descId}`, preserveAspectRatio: 'xMidYMid meet',
  });
  root.appendChild(svg('title', { id: titleId }, t('service.chart')));
  if (trades.length === 0) {
    root.appendChild(svg('desc', { id: descId }, t('service.chart.empty')));
    root.appendChild(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-empty' }, t('service.chart.empty')));
    return root;
  }
  let min = trades[0].price;
  let max = trades[0].price;
  for (const tr of trades) {
    if (tr.price < min) min = tr.price;
    if (tr.price > max) max = tr.price;
  }
  root.appendChild(svg('desc', { id: descId },
    t('service.chart.desc', { n: fmt.int(trades.length), min: fmt.money(min), max: fmt.money(max) })));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const span = max - min;
  const x = (i) => PAD.left + (trades.length === 1 ? plotW / 2 : (plotW * i) / (trades.length - 1));
  const y = (p) => PAD.top + (span === 0 ? plotH / 2 : plotH - (plotH * (p - min)) / span);

  const grid = svg('g', { class: 'chart-grid', 'aria-hidden': 'true' });
  for (const p of span === 0 ? [min] : [max, min]) {
    grid.appendChild(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(p), y2: y(p) }));
    grid.appendChild(svg('text', { x: PAD.left - 8, y: y(p) + 4, 'text-anchor': 'end', class: 'chart-label' }, fmt.money(p)));
  }
  grid.appendChild(svg('text', { x: PAD.left, y: H - 10, 'text-anchor': 'start', class: 'chart-label' }, fmt.time(trades[0].time_ms)));
  if (trades.length > 1) {
    grid.appendChild(svg('text', { x: W - PAD.right, y: H - 10, 'text-anchor': 'end', class: 'chart-label' },
      fmt.time(trades[trades.length - 1].time_ms)));
  }
  root.appendChild(grid);
  const points = trades.map((tr, i) => `${x(i).toFixed(1)},${y(tr.price).toFixed(1)}`).join(' ');
  root.appendChild(svg('polyline', { points, class: 'chart-line', 'aria-hidden': 'true' }));
  const dots = svg('g', { class: 'chart-dots', 'aria-hidden': 'true' });
  trades.forEach((tr, i) => {
    const c = svg('circle', { cx: x(i).toFixed(1), cy: y(tr.price).toFixed(1), r: 3.5 });
    c.appendChild(svg('title', {}, `${fmt.dateTime(tr.time_ms)}: ${fmt.int(tr.qty)} × ${fmt.money(tr.price)}`));
    dots.appendChild(c);
  });
  root.appendChild(dots);
  return root;
}
