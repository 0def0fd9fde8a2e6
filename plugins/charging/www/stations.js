// stations.js - the citizens' page: the town's charging stations on a map
// and in a list (the same stations, the same words: a person who cannot use
// the map loses nothing), each connector's state, plug, power and price,
// filters, and a refresh every 30 s that keeps the reader's place.
import { addStrings, announce, api, el, fmt, lang, onLangChange, showError, start, t } from '/lib/app.js';
import { createMap } from '/lib/map.js';
import { reconcile } from './keyed.js';
import {
  PLUGS, STATES, badgeClass, connectorState, plugText, powerText, priceText, stateText, stationState, stationText, tone,
} from './state.js';

const instance = location.pathname.split('/')[1];
const REFRESH_MS = 30000;
const VIEW_KEY = 'mestys.charging.view';

let stations = []; // the last answer: stations in service (accepted), sorted by name
let loadedAt = 0;
let mapView = null; // created when the map is first shown (Leaflet needs its size)
let selected = null; // the station shown under the map
let shownMarkers = null; // what the map shows: {ids, all} as JSON, to redraw only on a change
const filters = { available: false, plug: '', minKw: 0 };
const $ = (id) => document.getElementById(id);

function matches(st) {
  // no filter: every station, also one that has no connectors to show yet
  if (!filters.available && !filters.plug && !filters.minKw) return true;
  return st.connectors.some((k) => (!filters.available || connectorState(st, k) === 'available') &&
    (!filters.plug || k.type === filters.plug) && Number(k.max_kw) >= filters.minKw);
}

function shown() {
  return stations.filter(matches);
}

// --- one station, the same card in the list and under the map -------------

function heardText(st) {
  if (st.status === 'online') return null;
  if (!st.last_contact) return t('chg.never_heard');
  return t('chg.last_heard', { age: fmt.age(Date.parse(st.last_contact)) });
}

function summaryText(st) {
  if (st.status !== 'online') return t('chg.not_responding');
  const free = st.connectors.filter((k) => connectorState(st, k) === 'available').length;
  return t('chg.free_of', { free, total: st.connectors.length });
}

function connectorItem(st, k) {
  const state = connectorState(st, k);
  // name and state on the first line, plug and power under them: the badge
  // stays in one place at any width
  return el('li', { class: 'connector', 'data-connector': String(k.connector), 'data-state': state },
    el('span', { class: 'connector-head' },
      el('span', { class: 'connector-name', text: t('chg.connector', { n: k.connector }) }), ' ',
      el('span', { class: badgeClass(state), text: stateText(state) })),
    el('span', { class: 'connector-spec', text: `${plugText(k.type)}, ${powerText(Number(k.max_kw))}` }));
}

function stationCard(st, where) {
  const state = stationState(st);
  const heard = heardText(st);
  const headingId = `${where}-h-${st.id}`;
  return el(where === 'list' ? 'li' : 'article',
    { class: `card station state-${state}`, 'data-station': st.id, 'data-state': state, 'aria-labelledby': headingId },
    el('h3', { id: headingId, text: st.name || st.id }),
    el('p', { class: 'station-summary' },
      el('span', { class: badgeClass(state), text: stationText(state) }), ' ', summaryText(st)),
    heard ? el('p', { class: 'heard', text: heard }) : '',
    el('ul', { class: 'connectors', 'aria-label': t('chg.connectors_of', { name: st.name || st.id }) },
      ...st.connectors.map((k) => connectorItem(st, k))),
    el('p', { class: 'price' }, el('span', { class: 'price-label', text: t('chg.price') }), ' ', priceText(st.tariff)),
    where === 'list' && st.lat != null
      ? el('button', {
        type: 'button', class: 'show-on-map', 'data-focus-key': 'map',
        'aria-label': t('chg.show_on_map_of', { name: st.name || st.id }), on: { click: () => showOnMap(st.id) },
      }, t('chg.show_on_map'))
      : '');
}

function signature(st) {
  // what a card shows; the age of a silent station's last contact moves with
  // the clock, so it is in here at the minute
  return JSON.stringify([lang(), st.name, st.status, st.last_contact && heardText(st), st.tariff, st.lat,
    st.connectors.map((k) => [k.status, k.type, k.max_kw])]);
}

// --- the list and the map ----------------------------------------------------

function renderList(list) {
  reconcile($('station-list'), list, { key: (st) => st.id, sig: signature, build: (st) => stationCard(st, 'list') });
}

function markers(list) {
  return list.filter((st) => st.lat != null && st.lon != null).map((st) => {
    const state = stationState(st);
    // the title is the marker's name for screen readers: it says the state in words
    return {
      id: st.id, lat: st.lat, lon: st.lon, status: tone(state),
      title: `${st.name || st.id}: ${stationText(state)}. ${summaryText(st)}`,
    };
  });
}

// Redraws the markers only when they changed.  /lib/map.js fits the view to
// them on every setMarkers: right when the filters change which stations are
// shown, wrong when a refresh only changed a state (the driver's zoom and
// pan stay then), and a marker with the focus keeps it.
function updateMarkers(list) {
  const next = markers(list);
  const ids = JSON.stringify(next.map((m) => m.id));
  const all = JSON.stringify(next);
  if (shownMarkers && shownMarkers.all === all) return;
  const map = mapView.map;
  const keepView = shownMarkers && shownMarkers.ids === ids ? [map.getCenter(), map.getZoom()] : null;
  const focused = document.activeElement && document.activeElement.dataset.markerId;
  shownMarkers = { ids, all };
  mapView.setMarkers(next);
  if (keepView) map.setView(keepView[0], keepView[1], { animate: false });
  if (focused) {
    const again = $('map').querySelector(`[data-marker-id="${CSS.escape(focused)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

function renderMap(list) {
  const offMap = list.filter((st) => st.lat == null || st.lon == null).length;
  $('off-map').hidden = offMap === 0;
  $('off-map').textContent = offMap ? t('chg.off_map', { n: offMap }) : '';
  if (!mapView) return;
  updateMarkers(list);
  const st = list.find((s) => s.id === selected);
  reconcile($('map-detail'), st ? [st] : [], { key: (s) => s.id, sig: signature, build: (s) => stationCard(s, 'map') });
}

function selectOnMap(id) {
  selected = id;
  renderMap(shown());
  const st = stations.find((s) => s.id === id);
  if (st) announce(t('chg.selected', { name: st.name || st.id, state: stationText(stationState(st)) }));
  // on a phone the map fills the screen and the card is under it: a tap
  // that showed nothing would look broken, so its heading is brought into
  // view (only that much: the marker stays on screen)
  const card = $('map-detail').firstElementChild;
  const room = window.innerHeight - 120;
  if (card && card.getBoundingClientRect().top > room) window.scrollBy(0, card.getBoundingClientRect().top - room);
}

function ensureMap() {
  if (mapView) return;
  const list = markers(shown());
  mapView = createMap($('map'), { markers: list, onSelect: selectOnMap, label: t('chg.map_label') });
  shownMarkers = { ids: JSON.stringify(list.map((m) => m.id)), all: JSON.stringify(list) };
}

function showOnMap(id) {
  setView('map', false);
  selectOnMap(id);
  mapView.focus(id);
}

function setView(view, remember = true) {
  for (const b of document.querySelectorAll('[data-view]')) b.setAttribute('aria-pressed', String(b.dataset.view === view));
  $('map-view').hidden = view !== 'map';
  $('list-view').hidden = view !== 'list';
  if (remember) localStorage.setItem(VIEW_KEY, view);
  if (view === 'map') {
    ensureMap();
    mapView.map.invalidateSize();
    renderMap(shown());
  }
}

function renderCount(list) {
  const text = list.length === 0 && stations.length > 0
    ? t('chg.none_match')
    : t('chg.count', { n: list.length, total: stations.length });
  // a live region speaks on every change of its text: only real changes
  if ($('count').textContent !== text) $('count').textContent = text;
}

function renderPlugOptions() {
  const select = $('f-plug');
  const present = PLUGS.filter((p) => stations.some((st) => st.connectors.some((k) => k.type === p)) || p === filters.plug);
  const want = ['', ...present].join(',') + lang();
  if (select.dataset.built === want) return;
  select.dataset.built = want;
  const value = select.value;
  select.replaceChildren(el('option', { value: '', text: t('chg.f.any_plug') }),
    ...present.map((p) => el('option', { value: p, text: plugText(p) })));
  select.value = value;
}

function renderLegend() {
  $('legend').replaceChildren(...STATES.flatMap((s) => [
    el('dt', {}, el('span', { class: badgeClass(s), text: stateText(s) })),
    el('dd', { text: t(`chg.legend.${s}`) }),
  ]));
}

function render() {
  const list = shown();
  renderPlugOptions();
  renderList(list);
  renderMap(list);
  renderCount(list);
  if (loadedAt) $('updated').textContent = t('chg.updated', { time: fmt.dateTime(loadedAt) });
}

// --- data ----------------------------------------------------------------------

function announceChanges(before) {
  const changed = stations.filter((st) => before.has(st.id) && before.get(st.id) !== stationState(st));
  if (changed.length === 0) return;
  announce(t('chg.changed', {
    list: changed.map((st) => `${st.name || st.id}: ${stationText(stationState(st))}`).join('; '),
  }));
}

async function load() {
  try {
    const all = await api(`/api/${instance}/stations`);
    const before = new Map(stations.map((st) => [st.id, stationState(st)]));
    const collator = new Intl.Collator(lang());
    // a station the town has not accepted yet is not in service
    stations = all.filter((st) => st.accepted !== false)
      .sort((a, b) => collator.compare(a.name || a.id, b.name || b.id));
    loadedAt = Date.now();
    $('load-error').replaceChildren();
    render();
    announceChanges(before);
  } catch (err) {
    // what was shown stays; the error says why it is not fresh
    showError($('load-error'), err);
  }
}

function refreshLoop() {
  setTimeout(async () => {
    await load();
    refreshLoop();
  }, REFRESH_MS);
}

function readFilters() {
  filters.available = $('f-available').checked;
  filters.plug = $('f-plug').value;
  filters.minKw = Number($('f-power').value) || 0;
  render();
}

addStrings({
  cs: {
    'chg.title': 'Nabíjecí stanice',
    'chg.intro': 'Veřejné nabíjecí stanice pro elektromobily: kde jsou, zda je konektor volný, jaký má výkon a kolik nabíjení stojí.',
    'chg.filters': 'Hledat stanici',
    'chg.f.available': 'Jen s volným konektorem',
    'chg.f.plug': 'Typ konektoru',
    'chg.f.any_plug': 'Jakýkoli',
    'chg.f.power': 'Výkon alespoň',
    'chg.f.any_power': 'Jakýkoli',
    'chg.f.fast': '50 kW (rychlonabíjení)',
    'chg.f.reset': 'Zrušit filtr',
    'chg.view': 'Zobrazit jako',
    'chg.view.map': 'Mapa',
    'chg.view.list': 'Seznam',
    'chg.map_title': 'Mapa stanic',
    'chg.map_label': 'Mapa nabíjecích stanic',
    'chg.map_hint': 'Stanici vyberete kliknutím na značku nebo klávesami Tab a Enter.',
    'chg.list_title': 'Seznam stanic',
    'chg.legend': 'Co znamená stav',
    'chg.legend.available': 'Konektor je volný, můžete přijet a nabíjet.',
    'chg.legend.charging': 'Na konektoru právě někdo nabíjí nebo je k němu připojené auto.',
    'chg.legend.reserved': 'Konektor je rezervovaný pro někoho jiného.',
    'chg.legend.out_of_order': 'Konektor je porouchaný nebo vypnutý.',
    'chg.legend.unknown': 'Stanice se nám neozývá, proto nevíme, zda je volná.',
    'chg.count': 'Zobrazené stanice: {n} (celkem {total})',
    'chg.none_match': 'Filtru neodpovídá žádná stanice. Zkuste filtr změnit.',
    'chg.free_of': 'Volné konektory: {free} (celkem {total})',
    'chg.not_responding': 'Stanice se neozývá.',
    'chg.last_heard': 'Naposledy se ozvala {age}.',
    'chg.never_heard': 'Stanice se zatím neozvala.',
    'chg.connectors_of': 'Konektory stanice {name}',
    'chg.price': 'Cena:',
    'chg.show_on_map': 'Ukázat na mapě',
    'chg.show_on_map_of': 'Ukázat na mapě: {name}',
    'chg.off_map': 'Stanice bez zadané polohy na mapě nejsou, najdete je v seznamu (počet: {n}).',
    'chg.selected': 'Vybraná stanice {name}: {state}. Podrobnosti jsou pod mapou.',
    'chg.updated': 'Aktualizováno {time}. Stav se obnovuje každých 30 sekund.',
    'chg.changed': 'Změna stavu: {list}',
  },
  en: {
    'chg.title': 'Charging stations',
    'chg.intro': 'Public charging stations for electric cars: where they are, whether a connector is free, its power and what charging costs.',
    'chg.filters': 'Find a station',
    'chg.f.available': 'Only with a free connector',
    'chg.f.plug': 'Connector type',
    'chg.f.any_plug': 'Any',
    'chg.f.power': 'Power at least',
    'chg.f.any_power': 'Any',
    'chg.f.fast': '50 kW (rapid charging)',
    'chg.f.reset': 'Clear filters',
    'chg.view': 'Show as',
    'chg.view.map': 'Map',
    'chg.view.list': 'List',
    'chg.map_title': 'Map of stations',
    'chg.map_label': 'Map of charging stations',
    'chg.map_hint': 'Choose a station by clicking its marker, or with the Tab and Enter keys.',
    'chg.list_title': 'List of stations',
    'chg.legend': 'What the states mean',
    'chg.legend.available': 'The connector is free: you can come and charge.',
    'chg.legend.charging': 'Someone is charging at the connector, or a car is plugged in.',
    'chg.legend.reserved': 'The connector is reserved for someone else.',
    'chg.legend.out_of_order': 'The connector is broken or switched off.',
    'chg.legend.unknown': 'The station is not responding, so we do not know whether it is free.',
    'chg.count': 'Showing {n} of {total} stations',
    'chg.none_match': 'No station matches the filters. Try changing them.',
    'chg.free_of': '{free} of {total} connectors free',
    'chg.not_responding': 'The station is not responding.',
    'chg.last_heard': 'Last heard from {age}.',
    'chg.never_heard': 'The station has not been heard from yet.',
    'chg.connectors_of': 'Connectors of {name}',
    'chg.price': 'Price:',
    'chg.show_on_map': 'Show on map',
    'chg.show_on_map_of': 'Show on map: {name}',
    'chg.off_map': 'Stations without a location are not on the map but in the list ({n}).',
    'chg.selected': 'Selected {name}: {state}. The details are below the map.',
    'chg.updated': 'Updated {time}. The states refresh every 30 seconds.',
    'chg.changed': 'State changed: {list}',
  },
});

async function main() {
  await start({ audience: 'citizen' });
  renderLegend();
  $('filters').addEventListener('change', readFilters);
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  // the form's reset clears the fields after this event: read them after it
  $('filters').addEventListener('reset', () => setTimeout(readFilters, 0));
  for (const b of document.querySelectorAll('[data-view]')) b.addEventListener('click', () => setView(b.dataset.view));
  onLangChange(() => {
    renderLegend();
    if (mapView) $('map').setAttribute('aria-label', t('chg.map_label'));
    render(); // the markers' names are in the language too
  });
  await load();
  setView(localStorage.getItem(VIEW_KEY) === 'list' ? 'list' : 'map', false);
  refreshLoop();
}

main();
