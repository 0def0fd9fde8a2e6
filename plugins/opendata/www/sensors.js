// The town's sensors for citizens: a map coloured by each sensor's newest
// value (with a legend), the same as a list, and one sensor's last 7 days as
// charts with the same numbers in a table, downloadable as exactly those
// rows.  Everything comes from the opendata API of this instance:
// datasets, datasets/<id>/sensors, datasets/<id>/data.json.
import { addStrings, start, t, lang, onLangChange, api, el, announce, showError, clearError, fmt } from '/lib/app.js';
import { createMap } from '/lib/map.js';
import { createChart, dataTable } from '/lib/chart.js';
import { downloadText, toCSV } from '/lib/download.js';
import { scaleFor, baseMetric, METRIC_NAMES } from './scales.js';

addStrings({
  cs: {
    'sensors.title': 'Čidla ve městě',
    'sensors.dataset': 'Data',
    'sensors.color_by': 'Barva na mapě podle',
    'sensors.overview': 'Všechna čidla',
    'sensors.view': 'Zobrazení',
    'sensors.map': 'Mapa',
    'sensors.list': 'Seznam',
    'sensors.map_label': 'Mapa čidel',
    'sensors.loading': 'Načítám čidla…',
    'sensors.none': 'Zatím tu nejsou žádná čidla.',
    'sensors.no_datasets': 'Obec zatím nezveřejňuje data z čidel.',
    'sensors.count': '{sensors}, z toho {off} mimo provoz. Stav k {time}.',
    'sensors.no_position': 'Bez zveřejněné polohy: {sensors}; najdete je jen v seznamu.',
    'sensors.legend': 'Legenda: {metric}',
    'sensors.below': 'pod {to}',
    'sensors.between': '{from} až {to}',
    'sensors.above': '{from} a více',
    'sensors.free': 'volno',
    'sensors.occupied': 'obsazeno',
    'sensors.offline': 'mimo provoz',
    'sensors.online': 'v provozu',
    'sensors.offline_legend': 'mimo provoz: žádné měření déle než {age}',
    'sensors.list_caption': 'Čidla a jejich poslední hodnoty',
    'sensors.col_sensor': 'Čidlo',
    'sensors.col_values': 'Poslední hodnoty',
    'sensors.col_state': 'Stav',
    'sensors.col_time': 'Poslední měření',
    'sensors.show_chart': 'Graf čidla {sensor}',
    'sensors.marker': 'Čidlo {sensor}: {values}; {state}; naposledy {age}',
    'sensors.sensor': 'Čidlo {sensor}',
    'sensors.state_line': 'Poslední měření {age} ({time}).',
    'sensors.chart_title': '{metric} za posledních 7 dní',
    'sensors.table_summary': 'Tabulka hodnot (stejná čísla jako v grafech)',
    'sensors.table_caption': 'Hodnoty čidla {sensor} od {from} do {to}',
    'sensors.col_when': 'Čas',
    'sensors.no_rows': 'Za posledních 7 dní čidlo nic nenaměřilo.',
    'sensors.downloads': 'Stáhnout',
    'sensors.downloads_note': 'Soubory obsahují přesně řádky z grafu a tabulky.',
    'sensors.download_csv': 'Stáhnout CSV',
    'sensors.download_json': 'Stáhnout JSON',
    'sensors.api_link': 'Stejná data z API (CSV)',
    'sensors.record_link': 'Záznam v katalogu otevřených dat',
    'sensors.back': 'Zpět na všechna čidla',
    'sensors.loaded': 'Načteno hodnot čidla {sensor}: {rows}.',
    'sensors.more_rows': 'Zobrazeno prvních {n} řádků.',
    'sensors.view_map': 'Zobrazena mapa.',
    'sensors.view_list': 'Zobrazen seznam.',
    'sensors.channel': '{name} (kanál {n})',
  },
  en: {
    'sensors.title': 'Sensors in town',
    'sensors.dataset': 'Data',
    'sensors.color_by': 'Map colour by',
    'sensors.overview': 'All sensors',
    'sensors.view': 'View',
    'sensors.map': 'Map',
    'sensors.list': 'List',
    'sensors.map_label': 'Map of the sensors',
    'sensors.loading': 'Loading the sensors…',
    'sensors.none': 'There are no sensors here yet.',
    'sensors.no_datasets': 'The town does not publish sensor data yet.',
    'sensors.count': '{sensors}, {off} of them offline. As of {time}.',
    'sensors.no_position': 'Without a published position: {sensors}; they are only in the list.',
    'sensors.legend': 'Legend: {metric}',
    'sensors.below': 'below {to}',
    'sensors.between': '{from} to {to}',
    'sensors.above': '{from} and more',
    'sensors.free': 'free',
    'sensors.occupied': 'occupied',
    'sensors.offline': 'offline',
    'sensors.online': 'online',
    'sensors.offline_legend': 'offline: no reading for more than {age}',
    'sensors.list_caption': 'Sensors and their latest values',
    'sensors.col_sensor': 'Sensor',
    'sensors.col_values': 'Latest values',
    'sensors.col_state': 'State',
    'sensors.col_time': 'Last reading',
    'sensors.show_chart': 'Chart of sensor {sensor}',
    'sensors.marker': 'Sensor {sensor}: {values}; {state}; last {age}',
    'sensors.sensor': 'Sensor {sensor}',
    'sensors.state_line': 'Last reading {age} ({time}).',
    'sensors.chart_title': '{metric} over the last 7 days',
    'sensors.table_summary': 'Table of values (the same numbers as the charts)',
    'sensors.table_caption': 'Values of sensor {sensor} from {from} to {to}',
    'sensors.col_when': 'Time',
    'sensors.no_rows': 'The sensor measured nothing in the last 7 days.',
    'sensors.downloads': 'Download',
    'sensors.downloads_note': 'The files hold exactly the rows of the chart and the table.',
    'sensors.download_csv': 'Download CSV',
    'sensors.download_json': 'Download JSON',
    'sensors.api_link': 'The same data from the API (CSV)',
    'sensors.record_link': 'Record in the open data catalogue',
    'sensors.back': 'Back to all sensors',
    'sensors.loaded': 'Loaded values of sensor {sensor}: {rows}.',
    'sensors.more_rows': 'Showing the first {n} rows.',
    'sensors.view_map': 'Showing the map.',
    'sensors.view_list': 'Showing the list.',
    'sensors.channel': '{name} (channel {n})',
  },
});

const WEEK = 7 * 86400000;
const PAGE = 1000;
const MAX_ROWS = 20000; // a sensor reporting every minute for a week is 10,080 rows a metric
const OFFLINE_COLOR = '#6b6b6b';

// this page's own API: /<instance>/ → /api/<instance>/
const instance = location.pathname.split('/')[1] || 'opendata';
const base = `/api/${instance}/`;

const $ = (id) => document.getElementById(id);

const state = {
  datasets: [],
  dataset: null, // its metadata
  sensors: null, // the sensors answer
  metric: null,
  view: 'map',
  map: null,
  detail: null, // {sensor, from, to, rows}
  charts: [],
};

// --- words ----------------------------------------------------------------

// "3 čidla", "5 čidel", "1 sensor": the noun agrees with the number
const NOUNS = {
  cs: { sensor: { one: 'čidlo', few: 'čidla', many: 'čidla', other: 'čidel' },
    row: { one: 'řádek', few: 'řádky', many: 'řádku', other: 'řádků' } },
  en: { sensor: { one: 'sensor', other: 'sensors' }, row: { one: 'row', other: 'rows' } },
};

function count(n, noun) {
  const forms = NOUNS[lang()][noun];
  const form = forms[new Intl.PluralRules(lang()).select(n)] || forms.other;
  return `${fmt.number(n)} ${form}`;
}

function metricName(metric) {
  const b = baseMetric(metric);
  const known = METRIC_NAMES[lang()][b];
  const name = known || metric;
  const channel = /_(\d+)$/.exec(metric || '');
  return known && channel ? t('sensors.channel', { name, n: channel[1] }) : name;
}

function localized(text) {
  if (!text) return '';
  if (typeof text === 'string') return text;
  return text[lang()] || text.cs || Object.values(text)[0] || '';
}

function serverNow() {
  return Date.parse(state.sensors?.time) || Date.now();
}

function ageOf(time) {
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? fmt.age(Math.max(0, serverNow() - ms)) : '–';
}

function durationText(ms) {
  // "2 h", "45 min", "3 d": the offline threshold in the legend
  const f = (v, unit) => new Intl.NumberFormat(lang(), { style: 'unit', unit, unitDisplay: 'long' }).format(v);
  if (ms % 86400000 === 0) return f(ms / 86400000, 'day');
  if (ms % 3600000 === 0) return f(ms / 3600000, 'hour');
  return f(Math.round(ms / 60000), 'minute');
}

function valueText(m) {
  const b = baseMetric(m.metric);
  if ((b === 'occupied' || b === 'presence') && (m.value === 0 || m.value === 1)) {
    return t(m.value ? 'sensors.occupied' : 'sensors.free');
  }
  return fmt.unit(m.value, m.unit);
}

// a unit as people write it, alone ("°C" for "Cel")
function unitText(unit) {
  return unit ? fmt.unit(1, unit).replace(/^[^\u00a0]*\u00a0?/, '') : '';
}

function swatch(color) {
  const s = el('span', { class: 'swatch', 'aria-hidden': 'true' });
  s.style.backgroundColor = color;
  return s;
}

function stateText(s) {
  return t(s.offline ? 'sensors.offline' : 'sensors.online');
}

function badge(s) {
  return el('span', { class: ['badge', s.offline ? 'st-off' : 'st-ok'] }, stateText(s));
}

// --- the URL: ?dataset=<id>&sensor=<id> ----------------------------------

function readUrl() {
  const q = new URLSearchParams(location.search);
  return { dataset: q.get('dataset'), sensor: q.get('sensor') };
}

function writeUrl(sensor) {
  const q = new URLSearchParams();
  if (state.dataset) q.set('dataset', state.dataset.id);
  if (sensor) q.set('sensor', sensor);
  history.replaceState(null, '', `${location.pathname}?${q}`);
}

function sensorHref(id) {
  const q = new URLSearchParams({ dataset: state.dataset.id, sensor: id });
  return `${location.pathname}?${q}`;
}

// A link the API gives is under its public base_url (maybe another host
// behind a proxy): the same path under this daemon.  The public base is
// what precedes "/datasets/<id>" in a dataset's own link.
function local(url) {
  const self = state.datasets[0]?.links?.self || '';
  const publicBase = self.slice(0, self.lastIndexOf('/datasets/'));
  if (publicBase && url.startsWith(publicBase + '/')) return base + url.slice(publicBase.length + 1);
  const u = new URL(url, location.href);
  return u.pathname + u.search;
}

// --- controls ---------------------------------------------------------------

function renderDatasetSelect() {
  const select = $('dataset-select');
  select.replaceChildren(...state.datasets.map((d) =>
    el('option', { value: d.id, selected: state.dataset && d.id === state.dataset.id }, localized(d.title))));
  $('dataset-field').hidden = state.datasets.length < 2;
}

function metricsOf(sensors) {
  const seen = [];
  for (const s of sensors) for (const m of s.metrics) if (m.metric && !seen.includes(m.metric)) seen.push(m.metric);
  return seen;
}

function renderMetricSelect() {
  const metrics = metricsOf(state.sensors.sensors);
  if (!metrics.includes(state.metric)) {
    state.metric = metrics.find((m) => baseMetric(m) === 'temperature') || metrics[0] || null;
  }
  $('metric-select').replaceChildren(...metrics.map((m) =>
    el('option', { value: m, selected: m === state.metric }, metricName(m))));
  $('metric-field').hidden = metrics.length < 2;
  $('controls').hidden = $('metric-field').hidden && $('dataset-field').hidden;
}

// --- overview: legend, map, list ---------------------------------------------

function valueOf(s, metric) {
  return s.metrics.find((m) => m.metric === metric);
}

function currentScale() {
  const values = state.sensors.sensors.map((s) => valueOf(s, state.metric)?.value);
  return scaleFor(state.metric, values);
}

function bandText(band, unit) {
  if (band.label) return t('sensors.' + band.label);
  const v = (x) => fmt.unit(x, unit);
  if (band.from === null && band.to === null) return '';
  if (band.from === null) return t('sensors.below', { to: v(band.to) });
  if (band.to === null) return t('sensors.above', { from: v(band.from) });
  return t('sensors.between', { from: fmt.number(band.from), to: v(band.to) });
}

function renderLegend() {
  const box = $('legend');
  if (!state.metric) {
    box.replaceChildren();
    return;
  }
  const unit = state.sensors.sensors.map((s) => valueOf(s, state.metric)?.unit).find(Boolean);
  const items = currentScale().bands.map((b) => el('li', {}, swatch(b.color), bandText(b, unit) || metricName(state.metric)));
  items.push(el('li', {}, swatch(OFFLINE_COLOR),
    t('sensors.offline_legend', { age: durationText(state.sensors.offline_after_ms) })));
  box.replaceChildren(el('h3', { id: 'legend-title' }, t('sensors.legend', { metric: metricName(state.metric) })),
    el('ul', { 'aria-labelledby': 'legend-title' }, items));
}

// the map's metric first, then the others by name
function orderedMetrics(s) {
  return [...s.metrics].sort((a, b) => (a.metric === state.metric ? -1 : b.metric === state.metric ? 1
    : metricName(a.metric).localeCompare(metricName(b.metric), lang())));
}

function valuesText(s) {
  return orderedMetrics(s).map((m) => `${metricName(m.metric)} ${valueText(m)}`).join(', ');
}

function markers() {
  const scale = currentScale();
  return state.sensors.sensors.map((s) => {
    const m = valueOf(s, state.metric);
    return {
      id: s.sensor,
      lat: s.lat,
      lon: s.lon,
      title: t('sensors.marker', { sensor: s.sensor, values: valuesText(s), state: stateText(s), age: ageOf(s.time) }),
      color: s.offline ? OFFLINE_COLOR : (m && scale.colorOf(m.value)) || OFFLINE_COLOR,
      status: s.offline ? 'off' : 'ok',
    };
  });
}

function renderMap() {
  const list = markers();
  if (!state.map) {
    state.map = createMap($('map'), { markers: list, label: t('sensors.map_label'), onSelect: (id) => openSensor(id) });
  } else {
    state.map.setMarkers(list);
  }
  const missing = state.sensors.sensors.filter((s) => !Number.isFinite(s.lat) || !Number.isFinite(s.lon)).length;
  $('no-position').hidden = missing === 0;
  $('no-position').textContent = missing ? t('sensors.no_position', { sensors: count(missing, 'sensor') }) : '';
}

// The list: one card per sensor, the same facts as its marker (a table
// would not fit a phone's width without hiding the state).
function renderList() {
  const scale = currentScale();
  const items = state.sensors.sensors.map((s) => el('li', { class: ['card', 'sensor-card', s.offline ? 'is-offline' : null] },
    el('h3', {}, el('a', { href: sensorHref(s.sensor), class: 'sensor-link', 'data-sensor': s.sensor,
      on: { click: (e) => { e.preventDefault(); openSensor(s.sensor); } } },
    t('sensors.sensor', { sensor: s.sensor }))),
    el('p', { class: 'sensor-state' }, badge(s), ' ',
      el('time', { datetime: s.time || '' }, s.time ? `${ageOf(s.time)} (${fmt.dateTime(s.time)})` : '–')),
    el('ul', { class: 'values', 'aria-label': t('sensors.col_values') }, orderedMetrics(s).map((m) =>
      el('li', {}, m.metric === state.metric ? swatch(s.offline ? OFFLINE_COLOR : scale.colorOf(m.value) || OFFLINE_COLOR) : null,
        `${metricName(m.metric)}: `, el('strong', {}, valueText(m)))))));
  $('list-view').replaceChildren(el('h3', { class: 'visually-hidden', id: 'list-title' }, t('sensors.list_caption')),
    el('ul', { class: 'sensor-list', 'aria-labelledby': 'list-title' }, items));
}

function setView(view, tell) {
  state.view = view;
  $('show-map').setAttribute('aria-pressed', String(view === 'map'));
  $('show-list').setAttribute('aria-pressed', String(view === 'list'));
  $('map-view').hidden = view !== 'map';
  $('list-view').hidden = view !== 'list';
  if (view === 'map' && state.map) state.map.map.invalidateSize();
  if (tell) announce(t(view === 'map' ? 'sensors.view_map' : 'sensors.view_list'));
}

function renderOverview() {
  const s = state.sensors;
  const off = s.sensors.filter((x) => x.offline).length;
  $('status').replaceChildren(el('p', {}, s.sensors.length
    ? t('sensors.count', { sensors: count(s.sensors.length, 'sensor'), off, time: fmt.dateTime(s.time) })
    : t('sensors.none')));
  $('overview').hidden = s.sensors.length === 0;
  if (!s.sensors.length) return;
  renderMetricSelect();
  renderLegend();
  renderList();
  setView(state.view, false);
  renderMap();
}

// --- one sensor: charts, table, downloads ------------------------------------

async function fetchRows(sensor, from, to) {
  const q = new URLSearchParams({ sensor, from, to, limit: String(PAGE) });
  let url = `${base}datasets/${encodeURIComponent(state.dataset.id)}/data.json?${q}`;
  const rows = [];
  while (url && rows.length < MAX_ROWS) {
    const page = await api(url);
    rows.push(...page.data);
    url = page.next ? local(page.next) : null;
  }
  return { rows, truncated: Boolean(url) };
}

function pivot(rows) {
  const byTime = new Map();
  for (const r of rows) {
    if (!byTime.has(r.time)) byTime.set(r.time, { time: r.time });
    byTime.get(r.time)[r.metric] = r.value;
  }
  return [...byTime.values()].sort((a, b) => (a.time < b.time ? 1 : -1)); // newest first
}

function renderDetail() {
  const d = state.detail;
  const s = state.sensors.sensors.find((x) => x.sensor === d.sensor) || { sensor: d.sensor, metrics: [], offline: true };
  $('detail-title').textContent = t('sensors.sensor', { sensor: d.sensor });
  $('detail-state').replaceChildren(badge(s), ' ',
    t('sensors.state_line', { age: ageOf(s.time), time: fmt.dateTime(s.time) }));
  for (const c of state.charts) c.destroy();
  state.charts = [];
  const metrics = [...new Set(d.rows.map((r) => r.metric))].sort((a, b) => (a === state.metric ? -1
    : b === state.metric ? 1 : metricName(a).localeCompare(metricName(b), lang())));
  const unitOf = (m) => d.rows.find((r) => r.metric === m)?.unit;
  const charts = $('charts');
  charts.replaceChildren();
  if (!d.rows.length) charts.append(el('p', {}, t('sensors.no_rows')));
  for (const m of metrics) {
    const title = t('sensors.chart_title', { metric: metricName(m) });
    const box = el('div', { class: 'chart-box' });
    charts.append(el('h3', {}, title), box);
    const points = d.rows.filter((r) => r.metric === m).map((r) => [Date.parse(r.time), r.value]);
    state.charts.push(createChart(box, { series: [{ label: metricName(m), unit: unitOf(m), points }], title }));
  }
  if (d.truncated) charts.append(el('p', { class: 'note' }, t('sensors.more_rows', { n: d.rows.length })));
  dataTable($('detail-table'), {
    caption: t('sensors.table_caption', { sensor: d.sensor, from: fmt.dateTime(d.from), to: fmt.dateTime(d.to) }),
    columns: [
      { key: 'time', label: t('sensors.col_when'), format: (v) => el('time', { datetime: v }, fmt.dateTime(v)) },
      ...metrics.map((m) => ({
        key: m, numeric: true,
        label: unitOf(m) ? `${metricName(m)} (${unitText(unitOf(m))})` : metricName(m),
        format: (v) => (v === undefined ? '' : fmt.number(v)),
      })),
    ],
    rows: pivot(d.rows),
  });
  const q = new URLSearchParams({ sensor: d.sensor, from: d.from, to: d.to, limit: String(PAGE) });
  $('api-link').href = `${base}datasets/${encodeURIComponent(state.dataset.id)}/data.csv?${q}`;
  $('record-link').href = local(state.dataset.links.record);
}

function fileName(ext) {
  const d = state.detail;
  return `${state.dataset.id}-${d.sensor}-${d.to.slice(0, 10)}.${ext}`;
}

// the downloads are the rows on the screen, in the API's own columns
function downloadCsv() {
  const cols = state.dataset.fields;
  downloadText(fileName('csv'), 'text/csv;charset=utf-8', toCSV(cols, state.detail.rows));
}

function downloadJson() {
  const d = state.detail;
  const body = { dataset: state.dataset.id, sensor: d.sensor, from: d.from, to: d.to, data: d.rows };
  downloadText(fileName('json'), 'application/json', JSON.stringify(body, null, 1) + '\n');
}

async function openSensor(id) {
  const section = $('detail');
  clearError(section);
  const to = new Date(serverNow()).toISOString();
  const from = new Date(serverNow() - WEEK).toISOString();
  try {
    const { rows, truncated } = await fetchRows(id, from, to);
    state.detail = { sensor: id, from, to, rows, truncated };
    section.hidden = false;
    renderDetail();
    writeUrl(id);
    section.focus();
    announce(t('sensors.loaded', { rows: count(rows.length, 'row'), sensor: id }));
  } catch (err) {
    section.hidden = false;
    showError(section, err);
  }
}

function closeSensor(e) {
  e.preventDefault();
  state.detail = null;
  $('detail').hidden = true;
  writeUrl(null);
  const link = document.querySelector(`.sensor-link[data-sensor="${CSS.escape(e.target.dataset.from || '')}"]`);
  $('overview-title').setAttribute('tabindex', '-1');
  (link && state.view === 'list' ? link : $('overview-title')).focus();
}

// --- loading ------------------------------------------------------------------

async function loadDataset(id, sensor) {
  state.dataset = state.datasets.find((d) => d.id === id) || state.datasets[0];
  state.detail = null;
  $('detail').hidden = true;
  $('dataset-about').textContent = localized(state.dataset.description);
  clearError($('main'));
  $('status').replaceChildren(el('p', {}, t('sensors.loading')));
  try {
    state.sensors = await api(local(state.dataset.links.sensors));
  } catch (err) {
    $('status').replaceChildren();
    showError($('main'), err);
    return;
  }
  renderDatasetSelect();
  renderOverview();
  writeUrl(null);
  if (sensor) await openSensor(sensor);
}

function rerender() {
  if (!state.sensors) return;
  renderDatasetSelect();
  renderOverview();
  if (state.detail) renderDetail();
  if (state.dataset) $('dataset-about').textContent = localized(state.dataset.description);
}

async function main() {
  await start({ audience: 'citizen' });
  $('show-map').addEventListener('click', () => setView('map', true));
  $('show-list').addEventListener('click', () => setView('list', true));
  $('dataset-select').addEventListener('change', (e) => loadDataset(e.target.value));
  $('metric-select').addEventListener('change', (e) => {
    state.metric = e.target.value;
    renderLegend();
    renderList();
    renderMap();
  });
  $('download-csv').addEventListener('click', downloadCsv);
  $('download-json').addEventListener('click', downloadJson);
  $('back-link').addEventListener('click', (e) => {
    e.target.dataset.from = state.detail?.sensor || '';
    closeSensor(e);
  });
  onLangChange(rerender);
  let list;
  try {
    list = await api(`${base}datasets`);
  } catch (err) {
    showError($('main'), err);
    return;
  }
  // datasets of sensors (not of messages, and with their sensor ids public)
  state.datasets = list.datasets.filter((d) => d.links && d.links.sensors);
  if (!state.datasets.length) {
    $('status').replaceChildren(el('p', {}, t('sensors.no_datasets')));
    return;
  }
  const wanted = readUrl();
  await loadDataset(wanted.dataset, wanted.sensor);
}

main();
