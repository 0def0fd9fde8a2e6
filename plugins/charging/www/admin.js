// admin.js - the clerk's page: the stations and their state, accepting a
// pending one, the sessions (newest first, open ones marked), and starting
// or stopping a session remotely.  Every action shows what the station
// answered, or the server's sentence when it failed.
import { addStrings, announce, api, el, fmt, lang, onLangChange, showError, start, t } from '/lib/app.js';
import { reconcile } from './keyed.js';
import { badgeClass, connectorState, stateText } from './state.js';

const instance = location.pathname.split('/')[1];
const base = `/api/${instance}`;
const REFRESH_MS = 15000;
const $ = (id) => document.getElementById(id);

let stations = [];
let sessions = [];
let loadedAt = 0;

const CONNECTION_BADGE = { online: 'badge st-ok', unknown: 'badge st-warn', offline: 'badge st-off' };

function nameOf(id) {
  const st = stations.find((s) => s.id === id);
  return st && st.name ? st.name : id;
}

// "přijato (Accepted)": the station's word, and what it means
function answerWord(status) {
  return ['Accepted', 'Rejected'].includes(status) ? `${t(`adm.answer.${status}`)} (${status})` : String(status);
}

function clearResult(name) {
  $(`${name}-result`).textContent = '';
  $(`${name}-error`).replaceChildren();
}

// --- stations ------------------------------------------------------------------

function connectorBadge(st, k) {
  const state = connectorState(st, k);
  // the clerk sees the OCPP status too (and what it was before the station went silent)
  let detail = k.status === 'Unknown' && k.reported_status !== 'Unknown'
    ? t('adm.reported', { status: k.reported_status }) : k.status;
  if (k.error_code && k.error_code !== 'NoError') detail += `, ${k.error_code}`;
  return el('li', { 'data-connector': String(k.connector), 'data-state': state },
    `${k.connector}: `, el('span', { class: badgeClass(state), text: stateText(state) }), ` (${detail})`);
}

function approvalCell(st) {
  if (st.accepted) return el('td', { text: t('adm.accepted') });
  return el('td', {},
    el('span', { class: 'badge st-warn', text: t('adm.pending') }), ' ',
    el('button', {
      type: 'button', 'data-focus-key': 'accept', 'aria-label': t('adm.accept_of', { name: st.name || st.id }),
      on: { click: () => accept(st) },
    }, t('adm.accept')));
}

function stationRow(st) {
  const contact = st.last_contact
    ? `${fmt.dateTime(st.last_contact)} (${fmt.age(Date.parse(st.last_contact))})` : t('adm.never');
  const device = [st.vendor, st.model].filter(Boolean).join(' ');
  const connection = el('td', {}, el('span', { class: CONNECTION_BADGE[st.status], text: t(`adm.conn.${st.status}`) }));
  if (st.password_set === false && st.security_profile !== 3) {
    connection.append(' ', el('span', { class: 'hint', text: t('adm.no_password') }));
  }
  return el('tr', { 'data-station': st.id },
    el('th', { scope: 'row' }, st.name || st.id, st.name ? el('br') : '', st.name ? el('small', { text: st.id }) : ''),
    connection,
    approvalCell(st),
    el('td', {}, el('ul', { class: 'plain' }, ...st.connectors.map((k) => connectorBadge(st, k)))),
    el('td', { text: contact }),
    el('td', { text: device ? `${device}${st.firmware ? `, ${st.firmware}` : ''}` : '—' }));
}

function renderStations() {
  reconcile($('station-rows'), stations, {
    key: (st) => st.id,
    sig: (st) => JSON.stringify([lang(), st, st.last_contact && fmt.age(Date.parse(st.last_contact))]),
    build: stationRow,
  });
  const select = $('start-station');
  const value = select.value;
  const options = stations.filter((st) => st.accepted).map((st) => el('option', { value: st.id },
    `${st.name || st.id}${st.status === 'offline' ? ` – ${t('adm.conn.offline')}` : ''}`));
  const want = JSON.stringify(options.map((o) => [o.value, o.textContent]));
  if (select.dataset.built !== want) {
    select.dataset.built = want;
    select.replaceChildren(...options);
    if (value) select.value = value;
  }
}

async function accept(st) {
  clearResult('station');
  const name = st.name || st.id;
  try {
    await api(`${base}/stations/${encodeURIComponent(st.id)}/accept`, { method: 'POST', auth: true });
  } catch (err) {
    showError($('station-error'), err);
    return;
  }
  // a pending station boots again only after its retry interval: ask it now
  let text;
  try {
    const conf = await api(`${base}/stations/${encodeURIComponent(st.id)}/call/TriggerMessage`,
      { method: 'POST', auth: true, body: { requestedMessage: 'BootNotification' } });
    text = t('adm.accepted_boot', { name, answer: answerWord(conf.status) });
  } catch (err) {
    text = err.status === 409 ? t('adm.accepted_later', { name }) : t('adm.accepted_error', { name, error: err.message });
  }
  $('station-result').textContent = text;
  await load();
  soon();
}

// --- sessions ------------------------------------------------------------------

function sessionRow(s) {
  const open = s.stop == null;
  const name = nameOf(s.station);
  const tag = el('td', {}, s.id_tag);
  if (s.authorized === false) tag.append(' ', el('span', { class: 'badge st-warn', text: t('adm.unauthorized') }));
  return el('tr', { class: open ? 'open' : '', 'data-transaction': String(s.transaction) },
    el('th', { scope: 'row', text: String(s.transaction) }),
    el('td', { text: name }),
    el('td', { text: String(s.connector) }),
    tag,
    el('td', { text: fmt.dateTime(s.start) }),
    el('td', {}, open ? el('span', { class: 'badge st-busy', text: t('adm.running') }) : fmt.dateTime(s.stop)),
    el('td', { text: s.energy_kwh == null ? '—' : `${fmt.number(s.energy_kwh, 2)}\u00a0kWh` }),
    el('td', { text: s.cost == null ? '—' : fmt.money(s.cost, s.currency) }),
    el('td', {}, open ? el('button', {
      type: 'button', 'data-focus-key': 'stop',
      'aria-label': t('adm.stop_of', { transaction: s.transaction, name }),
      on: { click: () => remoteStop(s) },
    }, t('adm.stop')) : ''));
}

function renderSessions() {
  reconcile($('session-rows'), sessions, {
    key: (s) => s.transaction,
    sig: (s) => JSON.stringify([lang(), s, nameOf(s.station)]),
    build: sessionRow,
  });
  $('sessions-empty').hidden = sessions.length > 0;
  if (loadedAt) $('updated').textContent = t('adm.updated', { time: fmt.dateTime(loadedAt) });
}

async function remoteStop(s) {
  clearResult('stop');
  try {
    const conf = await api(`${base}/stations/${encodeURIComponent(s.station)}/remote-stop`,
      { method: 'POST', auth: true, body: { transaction: s.transaction } });
    $('stop-result').textContent = t('adm.stop_answer',
      { name: nameOf(s.station), transaction: s.transaction, answer: answerWord(conf.status) });
  } catch (err) {
    showError($('stop-error'), err);
  }
  soon();
}

async function remoteStart(event) {
  event.preventDefault();
  clearResult('start');
  const station = $('start-station').value;
  const body = { id_tag: $('start-tag').value.trim(), connector: Number($('start-connector').value) };
  try {
    const conf = await api(`${base}/stations/${encodeURIComponent(station)}/remote-start`,
      { method: 'POST', auth: true, body });
    $('start-result').textContent = t('adm.start_answer', { name: nameOf(station), answer: answerWord(conf.status) });
  } catch (err) {
    showError($('start-error'), err);
  }
  soon();
}

// --- data ----------------------------------------------------------------------

async function load() {
  try {
    const [st, se] = await Promise.all([
      api(`${base}/stations`, { auth: true }),
      api(`${base}/sessions?limit=50`, { auth: true }),
    ]);
    stations = st.sort((a, b) => Number(a.accepted) - Number(b.accepted) || a.id.localeCompare(b.id));
    sessions = se;
    loadedAt = Date.now();
    $('station-error').replaceChildren();
    renderStations();
    renderSessions();
  } catch (err) {
    showError($('station-error'), err);
  }
}

// after an action the station reports back within a second or two (a start,
// a stop, a boot): look again then, besides the regular refresh
function soon() {
  for (const ms of [1500, 4000]) setTimeout(load, ms);
}

function refreshLoop() {
  setTimeout(async () => {
    await load();
    refreshLoop();
  }, REFRESH_MS);
}

addStrings({
  cs: {
    'adm.title': 'Nabíjecí stanice – správa',
    'adm.stations': 'Stanice',
    'adm.stations_caption': 'Registrované stanice a jejich stav',
    'adm.col.station': 'Stanice',
    'adm.col.connection': 'Spojení',
    'adm.col.approval': 'Schválení',
    'adm.col.connectors': 'Konektory',
    'adm.col.contact': 'Poslední kontakt',
    'adm.col.device': 'Zařízení',
    'adm.col.transaction': 'Transakce',
    'adm.col.connector': 'Konektor',
    'adm.col.tag': 'Karta',
    'adm.col.start': 'Začátek',
    'adm.col.end': 'Konec',
    'adm.col.energy': 'Energie',
    'adm.col.cost': 'Cena',
    'adm.col.action': 'Akce',
    'adm.conn.online': 'Připojená',
    'adm.conn.unknown': 'Neozývá se',
    'adm.conn.offline': 'Odpojená',
    'adm.no_password': 'Heslo není nastavené.',
    'adm.accepted': 'Schválená',
    'adm.pending': 'Čeká na schválení',
    'adm.accept': 'Schválit',
    'adm.accept_of': 'Schválit stanici {name}',
    'adm.accepted_boot': 'Stanice {name} je schválená. Požádali jsme ji, aby se znovu přihlásila; odpověď: {answer}.',
    'adm.accepted_later': 'Stanice {name} je schválená. Není připojená; do provozu se zapojí, až se příště přihlásí.',
    'adm.accepted_error': 'Stanice {name} je schválená, ale žádost o nové přihlášení selhala: {error}',
    'adm.reported': 'naposledy {status}',
    'adm.never': 'Zatím nikdy',
    'adm.start': 'Spustit nabíjení na dálku',
    'adm.f.station': 'Stanice',
    'adm.f.connector': 'Konektor',
    'adm.f.tag': 'Identifikátor karty (id tag)',
    'adm.f.start': 'Spustit nabíjení',
    'adm.start_answer': 'Stanice {name} odpověděla na spuštění: {answer}.',
    'adm.sessions': 'Nabíjení',
    'adm.sessions_hint': 'Nejnovější nahoře. Probíhající nabíjení můžete zastavit na dálku.',
    'adm.sessions_caption': 'Posledních 50 nabíjení',
    'adm.no_sessions': 'Zatím žádné nabíjení.',
    'adm.running': 'Probíhá',
    'adm.unauthorized': 'karta neověřena',
    'adm.stop': 'Zastavit',
    'adm.stop_of': 'Zastavit nabíjení {transaction} na stanici {name}',
    'adm.stop_answer': 'Stanice {name} odpověděla na zastavení nabíjení {transaction}: {answer}.',
    'adm.answer.Accepted': 'přijato',
    'adm.answer.Rejected': 'odmítnuto',
    'adm.updated': 'Aktualizováno {time}.',
  },
  en: {
    'adm.title': 'Charging stations – administration',
    'adm.stations': 'Stations',
    'adm.stations_caption': 'Registered stations and their state',
    'adm.col.station': 'Station',
    'adm.col.connection': 'Connection',
    'adm.col.approval': 'Approval',
    'adm.col.connectors': 'Connectors',
    'adm.col.contact': 'Last contact',
    'adm.col.device': 'Device',
    'adm.col.transaction': 'Transaction',
    'adm.col.connector': 'Connector',
    'adm.col.tag': 'Card',
    'adm.col.start': 'Start',
    'adm.col.end': 'End',
    'adm.col.energy': 'Energy',
    'adm.col.cost': 'Cost',
    'adm.col.action': 'Action',
    'adm.conn.online': 'Connected',
    'adm.conn.unknown': 'Not responding',
    'adm.conn.offline': 'Disconnected',
    'adm.no_password': 'No password set.',
    'adm.accepted': 'Accepted',
    'adm.pending': 'Waiting for approval',
    'adm.accept': 'Accept',
    'adm.accept_of': 'Accept station {name}',
    'adm.accepted_boot': 'Station {name} is accepted. We asked it to log in again; its answer: {answer}.',
    'adm.accepted_later': 'Station {name} is accepted. It is not connected; it goes into service when it next logs in.',
    'adm.accepted_error': 'Station {name} is accepted, but asking it to log in again failed: {error}',
    'adm.reported': 'last {status}',
    'adm.never': 'Never yet',
    'adm.start': 'Start charging remotely',
    'adm.f.station': 'Station',
    'adm.f.connector': 'Connector',
    'adm.f.tag': 'Card identifier (id tag)',
    'adm.f.start': 'Start charging',
    'adm.start_answer': 'Station {name} answered the start: {answer}.',
    'adm.sessions': 'Charging sessions',
    'adm.sessions_hint': 'Newest first. A session that is running can be stopped remotely.',
    'adm.sessions_caption': 'The last 50 sessions',
    'adm.no_sessions': 'No sessions yet.',
    'adm.running': 'Running',
    'adm.unauthorized': 'card not verified',
    'adm.stop': 'Stop',
    'adm.stop_of': 'Stop session {transaction} at station {name}',
    'adm.stop_answer': 'Station {name} answered the stop of session {transaction}: {answer}.',
    'adm.answer.Accepted': 'accepted',
    'adm.answer.Rejected': 'rejected',
    'adm.updated': 'Updated {time}.',
  },
});

async function main() {
  await start({ audience: 'clerk' });
  $('start-form').addEventListener('submit', remoteStart);
  onLangChange(() => {
    renderStations();
    renderSessions();
  });
  await load();
  refreshLoop();
}

main();
