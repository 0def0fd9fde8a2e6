// Time-series charts (uPlot, copied from npm at build time into
// /vendor/uplot/) and the real HTML table that carries the same numbers for
// everyone who does not read a canvas.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { el, fmt, lang, onLangChange, t } from '/lib/app.js';

// distinguishable lines, each at least 3:1 against white
const PALETTE = ['#1f5f99', '#b3470b', '#2e7d32', '#7b1fa2', '#8d6e00', '#c2185b'];
const DAY = 86400000;

let cssAdded = false;
function addCss() {
  if (cssAdded || document.querySelector('link[href="/vendor/uplot/uPlot.min.css"]')) return;
  cssAdded = true;
  const link = el('link', { rel: 'stylesheet', href: '/vendor/uplot/uPlot.min.css' });
  const first = document.querySelector('link[rel="stylesheet"]');
  if (first) first.before(link);
  else document.head.appendChild(link);
}

function dayLabel(ms) {
  return new Intl.DateTimeFormat(lang(), { day: 'numeric', month: 'numeric' }).format(ms);
}

function timeLabel(ms) {
  return new Intl.DateTimeFormat(lang(), { hour: '2-digit', minute: '2-digit' }).format(ms);
}

// x-axis labels in the page's language: days, or times with the day where it changes
function timeAxisValues(u, splits, axisIdx, space, incr) {
  return splits.map((v, i) => {
    if (v == null) return null;
    if (incr >= DAY) return dayLabel(v);
    const d = new Date(v);
    const newDay = i === 0 || (d.getHours() === 0 && d.getMinutes() === 0);
    return newDay ? timeLabel(v) + '\n' + dayLabel(v) : timeLabel(v);
  });
}

// one x array for every series: the union of their times, gaps as null
function align(series) {
  const xs = [...new Set(series.flatMap((s) => (s.points || []).map((p) => Number(p[0]))))].sort((a, b) => a - b);
  const columns = series.map((s) => {
    const byTime = new Map((s.points || []).map((p) => [Number(p[0]), p[1] == null ? null : Number(p[1])]));
    return xs.map((x) => (byTime.has(x) ? byTime.get(x) : null));
  });
  return [xs, ...columns];
}

/**
 * createChart(container, {series: [{label, unit, points: [[ms, value], …]}], title, height})
 * -> the uPlot instance; it follows its container's width and the language.
 * The chart is an image to assistive technology: put the same numbers in a
 * dataTable() next to it.
 */
export function createChart(container, { series = [], title = '', height = 280 } = {}) {
  addCss();
  container.classList.add('chart');
  container.setAttribute('role', 'img');
  if (title) container.setAttribute('aria-label', title);
  const opts = {
    title,
    width: Math.max(280, container.clientWidth || 0),
    height,
    ms: 1,
    scales: { x: { time: true } },
    series: [
      { label: t('shell.time'), value: (u, v) => (v == null ? '–' : fmt.dateTime(v)) },
      ...series.map((s, i) => ({
        label: s.unit ? `${s.label} (${fmt.unitLabel(s.unit)})` : s.label,
        stroke: s.color || PALETTE[i % PALETTE.length],
        width: 2,
        points: { show: (s.points || []).length < 60 },
        value: (u, v) => (v == null ? '–' : fmt.unit(v, s.unit)),
      })),
    ],
    axes: [
      { values: timeAxisValues, stroke: '#1b1b1b', grid: { stroke: '#e3e6ea' } },
      { values: (u, splits) => splits.map((v) => (v == null ? null : fmt.number(v))), stroke: '#1b1b1b',
        grid: { stroke: '#e3e6ea' }, size: 56 },
    ],
    // the legend names the lines; the numbers are in the table beside the chart
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
  };
  const chart = new uPlot(opts, align(series), container);
  let width = opts.width;
  const observer = typeof ResizeObserver !== 'undefined'
    ? new ResizeObserver(() => {
      const w = Math.max(280, container.clientWidth);
      if (w !== width) {
        width = w;
        chart.setSize({ width: w, height });
      }
    })
    : null;
  if (observer) observer.observe(container);
  onLangChange(() => chart.redraw(false, true));
  const destroy = chart.destroy.bind(chart);
  chart.destroy = () => {
    if (observer) observer.disconnect();
    destroy();
  };
  return chart;
}

/**
 * dataTable(container, {caption, columns: [{key, label, format?(value, row), numeric?}], rows, rowHeader?})
 * -> the <table>; replaces what the container held.  The first column (or
 * the column named rowHeader) heads each row; numbers align right.
 */
export function dataTable(container, { caption, columns, rows, rowHeader } = {}) {
  const headKey = rowHeader === undefined ? columns[0]?.key : rowHeader;
  const isNum = (c, v) => c.numeric ?? typeof v === 'number';
  const cell = (c, row) => {
    const v = row[c.key];
    const content = c.format ? c.format(v, row) : v ?? '';
    if (c.key === headKey) return el('th', { scope: 'row' }, content);
    return el('td', { class: isNum(c, v) ? 'num' : null }, content);
  };
  const table = el('table', { class: 'data' },
    caption ? el('caption', {}, caption) : null,
    el('thead', {}, el('tr', {}, columns.map((c) =>
      el('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)))),
    el('tbody', {}, (rows || []).map((row) => el('tr', {}, columns.map((c) => cell(c, row))))));
  // a wide table scrolls inside its own box; the box takes focus so a keyboard can scroll it
  const wrap = el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || null }, table);
  container.replaceChildren(wrap);
  return table;
}
