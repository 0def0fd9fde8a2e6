// A budget's proposals: a map of those that have a place and a list of all
// of them (the list says everything the map does), with the review's verdict.
import { start, el, t, onLangChange, showError } from '/lib/app.js';
import { createMap } from '/lib/map.js';
import { loadBudget, loadProposals, phaseBox, budgetLinks, money, pickBudget, clear, setHeading } from './common.js';

const page = document.getElementById('page');
let budget = null;
let proposals = [];
let view = 'list';
let map = null;

function stateText(p) {
  return t(p.feasible === true ? 'proposals.feasible' : p.feasible === false ? 'proposals.infeasible' : 'proposals.pending');
}

function badge(p) {
  if (p.feasible === true) return el('span', { class: 'badge st-ok' }, t('proposals.feasible'));
  if (p.feasible === false) return el('span', { class: 'badge st-off' }, t('proposals.infeasible'));
  return el('span', { class: 'badge st-unknown' }, t('proposals.pending'));
}

function item(p) {
  return el('li', { class: 'card proposal', id: `p-${p.id}`, tabindex: '-1' },
    el('h3', {}, p.title),
    el('p', { class: 'proposal-facts' }, t('proposals.cost', { cost: money(p.cost, budget) }), ' ', badge(p)),
    ...(p.district ? [el('p', {}, t('voting.district', { district: p.district }))] : []),
    ...(p.description ? [el('p', { class: 'proposal-text' }, p.description)] : []),
    ...(p.feasible === false && p.reason ? [el('p', {}, t('proposals.reason', { reason: p.reason }))] : []),
    ...(p.photo ? [el('p', {}, el('a', { href: p.photo, rel: 'noopener noreferrer' }, t('proposals.photo')))] : []),
    ...(p.location && map ? [el('p', {}, el('button', { type: 'button', class: 'link',
      on: { click: () => showOnMap(p.id) } }, t('proposals.show_on_map')))] : []));
}

// A project chosen on the map: its entry in the list, focused.
function select(id) {
  setView('list');
  const target = document.getElementById(`p-${id}`);
  if (target) target.focus();
}

function showOnMap(id) {
  setView('map');
  map.focus(String(id));
}

function setView(v) {
  view = v;
  for (const b of page.querySelectorAll('.tabs button')) b.setAttribute('aria-pressed', String(b.dataset.view === v));
  document.getElementById('map-panel').hidden = v !== 'map';
  document.getElementById('list-panel').hidden = v !== 'list';
  if (v === 'map' && map) map.map.invalidateSize();
}

// On the ballot (voting and after): the feasible ones first; the others
// below with the town hall's reason.  Before: every proposal in one list.
function lists() {
  const ballot = ['voting', 'counting', 'results'].includes(budget.phase);
  if (!proposals.length) return [el('p', {}, t('proposals.none'))];
  if (!ballot) return [el('h2', {}, t('proposals.all')), el('ul', { class: 'proposal-list' }, ...proposals.map(item))];
  const yes = proposals.filter((p) => p.feasible === true);
  const no = proposals.filter((p) => p.feasible !== true);
  return [el('h2', {}, t('proposals.on_ballot')), el('ul', { class: 'proposal-list' }, ...yes.map(item)),
    ...(no.length ? [el('h2', {}, t('proposals.not_on_ballot')), el('ul', { class: 'proposal-list' }, ...no.map(item))]
      : [])];
}

function render() {
  if (map) map.map.remove(); // a re-render (language switch) builds a new one
  map = null;
  clear(page);
  setHeading(t('proposals.title', { name: budget.name || budget.id }));
  page.append(phaseBox(budget), budgetLinks(budget, 'budget.html'));
  const placed = proposals.filter((p) => p.location);
  const listPanel = el('div', { id: 'list-panel' }, ...lists());
  if (!placed.length) {
    page.append(listPanel);
    return;
  }
  const mapBox = el('div', { class: 'map', id: 'proposal-map' });
  page.append(
    el('div', { class: 'tabs', role: 'group', 'aria-label': t('proposals.view') },
      el('button', { type: 'button', 'data-view': 'map', on: { click: () => setView('map') } }, t('proposals.map')),
      el('button', { type: 'button', 'data-view': 'list', on: { click: () => setView('list') } }, t('proposals.list'))),
    el('div', { id: 'map-panel' },
      el('p', {}, t('proposals.map_note', { n: placed.length, total: proposals.length })), mapBox),
    listPanel);
  map = createMap(mapBox, {
    label: t('proposals.map_label'),
    markers: placed.map((p) => ({ id: String(p.id), lat: p.location.lat, lon: p.location.lon,
      title: `${p.title}, ${money(p.cost, budget)}, ${stateText(p)}`,
      status: p.feasible === true ? 'ok' : p.feasible === false ? 'off' : 'unknown' })),
    onSelect: select,
  });
  // Enter on a focused marker selects it too (Leaflet 1.9 opens a popup on
  // Enter and fires no click; the shell's map says Enter selects)
  mapBox.addEventListener('keydown', (e) => {
    const id = e.target.dataset && e.target.dataset.markerId;
    if (e.key === 'Enter' && id) {
      e.preventDefault();
      select(id);
    }
  });
  // the map and its markers are built now; re-render the list's "show on the map" buttons with it
  listPanel.replaceChildren(...lists());
  setView(view);
}

start({ audience: 'citizen' }).then(async () => {
  try {
    const id = await pickBudget(page, 'budget.html');
    if (!id) return;
    [budget, proposals] = await Promise.all([loadBudget(id), loadProposals(id)]);
    view = proposals.some((p) => p.location) ? 'map' : 'list';
    render();
    onLangChange(render);
  } catch (err) {
    showError(page, err);
  }
});
