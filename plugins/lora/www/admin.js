// The LoRa devices page for the town's clerk: the devices with when each was
// last heard, its battery and the open data it feeds; registering one device
// with keys made here (crypto.getRandomValues, shown once); importing a CSV
// file, with the server's sentence when it refuses it.
import { addStrings, start, t, lang, onLangChange, api, el, announce, showError, clearError, fmt } from '/lib/app.js';

addStrings({
  cs: {
    'lora.title': 'Zařízení LoRa',
    'lora.devices': 'Registrovaná zařízení',
    'lora.count': 'Registrováno {n} zařízení.',
    'lora.none': 'Zatím není registrováno žádné zařízení.',
    'lora.caption': 'Zařízení, kdy byla naposledy slyšet, baterie a jejich data',
    'lora.col_device': 'Zařízení',
    'lora.col_activation': 'Připojení',
    'lora.col_seen': 'Naposledy slyšeno',
    'lora.col_battery': 'Baterie',
    'lora.col_data': 'Data pro občany',
    'lora.never': 'zatím nikdy',
    'lora.no_battery': 'neuvádí',
    'lora.no_dataset': 'v žádné datové sadě',
    'lora.register': 'Přidat zařízení',
    'lora.register_note': 'Klíče vytvoří tento prohlížeč náhodně. Zobrazí se jen jednou, po uložení.',
    'lora.dev_eui': 'DevEUI (16 šestnáctkových číslic, bývá na štítku zařízení)',
    'lora.dev_eui_help': 'Například 0004A30B001C0530.',
    'lora.activation': 'Způsob připojení',
    'lora.otaa': 'OTAA (zařízení se připojí samo, doporučeno)',
    'lora.abp': 'ABP (klíče relace napevno)',
    'lora.join_eui': 'JoinEUI (nepovinné, 16 šestnáctkových číslic)',
    'lora.name': 'Název (kde čidlo je)',
    'lora.decoder': 'Dekodér dat',
    'lora.dec_th': 'Teplota a vlhkost',
    'lora.dec_air': 'Kvalita ovzduší',
    'lora.dec_parking': 'Parkovací místo',
    'lora.dec_water': 'Vodoměr',
    'lora.dec_cayenne': 'Cayenne LPP',
    'lora.dec_none': 'Žádný (jen surová data)',
    'lora.lat': 'Zeměpisná šířka (nepovinné)',
    'lora.lon': 'Zeměpisná délka (nepovinné)',
    'lora.register_button': 'Vytvořit klíče a uložit',
    'lora.bad_eui': 'DevEUI musí mít přesně 16 šestnáctkových číslic (0–9, A–F).',
    'lora.bad_join_eui': 'JoinEUI musí mít přesně 16 šestnáctkových číslic, nebo zůstat prázdné.',
    'lora.bad_position': 'Zadejte obě souřadnice jako čísla ve stupních (např. 49,5938 a 17,2509), nebo žádnou.',
    'lora.keys_title': 'Klíče zařízení {eui}',
    'lora.keys_warning': 'Zkopírujte je teď do zařízení. Už nikdy se znovu nezobrazí: server je nevydá.',
    'lora.copy': 'Kopírovat {what}',
    'lora.copied': '{what} zkopírováno.',
    'lora.copy_failed': 'Kopírování se nepovedlo; označte text a zkopírujte ho ručně.',
    'lora.registered': 'Zařízení {eui} je uloženo.',
    'lora.import': 'Import ze souboru CSV',
    'lora.import_note': 'První řádek jmenuje sloupce, např. dev_eui,dev_addr,nwk_skey,app_skey,decoder,name,lat,lon. Uloží se všechna zařízení, nebo žádné.',
    'lora.csv_file': 'Soubor CSV (UTF-8)',
    'lora.import_button': 'Importovat',
    'lora.no_file': 'Vyberte soubor CSV.',
    'lora.imported': 'Importováno zařízení: {n}.',
    'lora.refused': 'Soubor nebyl přijat, nic se neuložilo: {message}',
  },
  en: {
    'lora.title': 'LoRa devices',
    'lora.devices': 'Registered devices',
    'lora.count': 'Devices registered: {n}.',
    'lora.none': 'No device is registered yet.',
    'lora.caption': 'Devices, when each was last heard, battery and their data',
    'lora.col_device': 'Device',
    'lora.col_activation': 'Activation',
    'lora.col_seen': 'Last heard',
    'lora.col_battery': 'Battery',
    'lora.col_data': 'Data for citizens',
    'lora.never': 'never yet',
    'lora.no_battery': 'not reported',
    'lora.no_dataset': 'in no dataset',
    'lora.register': 'Add a device',
    'lora.register_note': 'This browser makes the keys at random. They are shown once, after saving.',
    'lora.dev_eui': 'DevEUI (16 hex digits, usually on the device\'s label)',
    'lora.dev_eui_help': 'For example 0004A30B001C0530.',
    'lora.activation': 'Activation',
    'lora.otaa': 'OTAA (the device joins by itself, recommended)',
    'lora.abp': 'ABP (fixed session keys)',
    'lora.join_eui': 'JoinEUI (optional, 16 hex digits)',
    'lora.name': 'Name (where the sensor is)',
    'lora.decoder': 'Payload decoder',
    'lora.dec_th': 'Temperature and humidity',
    'lora.dec_air': 'Air quality',
    'lora.dec_parking': 'Parking bay',
    'lora.dec_water': 'Water meter',
    'lora.dec_cayenne': 'Cayenne LPP',
    'lora.dec_none': 'None (raw payload only)',
    'lora.lat': 'Latitude (optional)',
    'lora.lon': 'Longitude (optional)',
    'lora.register_button': 'Make keys and save',
    'lora.bad_eui': 'DevEUI must be exactly 16 hex digits (0-9, A-F).',
    'lora.bad_join_eui': 'JoinEUI must be exactly 16 hex digits, or left empty.',
    'lora.bad_position': 'Give both coordinates as numbers of degrees (e.g. 49.5938 and 17.2509), or neither.',
    'lora.keys_title': 'Keys of device {eui}',
    'lora.keys_warning': 'Copy them into the device now. They are never shown again: the server does not give them out.',
    'lora.copy': 'Copy {what}',
    'lora.copied': '{what} copied.',
    'lora.copy_failed': 'Copying failed; select the text and copy it by hand.',
    'lora.registered': 'Device {eui} is saved.',
    'lora.import': 'Import from a CSV file',
    'lora.import_note': 'The first row names the columns, e.g. dev_eui,dev_addr,nwk_skey,app_skey,decoder,name,lat,lon. Either every device is saved, or none.',
    'lora.csv_file': 'CSV file (UTF-8)',
    'lora.import_button': 'Import',
    'lora.no_file': 'Choose a CSV file.',
    'lora.imported': 'Devices imported: {n}.',
    'lora.refused': 'The file was refused, nothing was saved: {message}',
  },
});

const instance = location.pathname.split('/')[1] || 'lora';
const base = `/api/${instance}/`;
const $ = (id) => document.getElementById(id);

let devices = [];
let datasetsOf = new Map(); // sensor id -> [{href, title}]

// --- keys -----------------------------------------------------------------

/** n random bytes as upper-case hex, from the browser's CSPRNG. */
export function randomHex(n) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();
}

// --- the list -------------------------------------------------------------

function localized(text) {
  if (!text || typeof text === 'string') return text || '';
  return text[lang()] || text.cs || '';
}

// Which open data shows each device: every opendata instance's sensor
// datasets, asked once; a device may be in several, or in none.
async function loadDatasets() {
  const map = new Map();
  let instances = ['opendata'];
  try {
    const pages = await api('/api/pages');
    const found = (pages.mounts || []).filter((m) => m.plugin === 'opendata').map((m) => m.instance);
    if (found.length) instances = found;
  } catch {
    /* no page list: the usual instance name */
  }
  for (const inst of instances) {
    let list;
    try {
      list = await api(`/api/${inst}/datasets`);
    } catch {
      continue; // no such instance here
    }
    for (const d of list.datasets || []) {
      if (!d.links || !d.links.sensors) continue;
      let sensors;
      try {
        sensors = await api(`/api/${inst}/datasets/${encodeURIComponent(d.id)}/sensors`);
      } catch {
        continue;
      }
      for (const s of sensors.sensors) {
        const q = new URLSearchParams({ dataset: d.id, sensor: s.sensor });
        if (!map.has(s.sensor)) map.set(s.sensor, []);
        map.get(s.sensor).push({ href: `/${inst}/?${q}`, title: d.title });
      }
    }
  }
  datasetsOf = map;
}

function seenCell(v) {
  if (!v) return el('span', { class: 'never' }, t('lora.never'));
  return el('time', { datetime: v }, `${fmt.age(v)} (${fmt.dateTime(v)})`);
}

function dataCell(eui) {
  const list = datasetsOf.get(eui);
  if (!list || !list.length) return t('lora.no_dataset');
  return el('ul', { class: 'plain' }, list.map((d) => el('li', {}, el('a', { href: d.href }, localized(d.title)))));
}

function renderDevices() {
  const n = devices.length;
  $('devices-summary').textContent = n ? t('lora.count', { n }) : t('lora.none');
  const box = $('device-table');
  if (!n) {
    box.replaceChildren();
    return;
  }
  const rows = [...devices].sort((a, b) => (a.name || a.dev_eui).localeCompare(b.name || b.dev_eui, lang()));
  const labels = [t('lora.col_device'), t('lora.col_activation'), t('lora.col_seen'), t('lora.col_battery'),
    t('lora.col_data')];
  const cell = (i, content, cls) => el('td', { 'data-label': labels[i], class: cls }, content);
  const table = el('table', { class: 'data device-list' },
    el('caption', {}, t('lora.caption')),
    el('thead', {}, el('tr', {}, labels.map((label) => el('th', { scope: 'col' }, label)))),
    el('tbody', {}, rows.map((d) => el('tr', { 'data-eui': d.dev_eui },
      el('th', { scope: 'row' }, d.name ? [d.name, el('br'), el('span', { class: 'eui' }, d.dev_eui)]
        : el('span', { class: 'eui' }, d.dev_eui)),
      cell(1, d.activation === 'otaa' ? 'OTAA' : 'ABP'),
      cell(2, seenCell(d.last_seen)),
      cell(3, d.battery ? fmt.unit(d.battery.value, d.battery.unit) : t('lora.no_battery')),
      cell(4, dataCell(d.dev_eui))))));
  box.replaceChildren(table);
}

async function loadDevices() {
  const section = $('devices');
  clearError(section);
  try {
    devices = await api(`${base}devices`, { auth: true });
  } catch (err) {
    showError(section, err);
    return;
  }
  renderDevices();
  await loadDatasets();
  renderDevices();
}

// --- register one device --------------------------------------------------

function number(text) {
  const s = String(text || '').trim().replace(',', '.');
  return s === '' ? null : Number(s);
}

function readForm(form) {
  const eui = form.dev_eui.value.trim().toUpperCase();
  if (!/^[0-9A-F]{16}$/.test(eui)) return { error: t('lora.bad_eui'), field: form.dev_eui };
  const join = form.join_eui.value.trim().toUpperCase();
  const otaa = form.activation.value === 'otaa';
  if (otaa && join && !/^[0-9A-F]{16}$/.test(join)) return { error: t('lora.bad_join_eui'), field: form.join_eui };
  const lat = number(form.lat.value);
  const lon = number(form.lon.value);
  if ((lat === null) !== (lon === null) || (lat !== null && !(Math.abs(lat) <= 90 && Math.abs(lon) <= 180))) {
    return { error: t('lora.bad_position'), field: form.lat };
  }
  const device = { dev_eui: eui, decoder: form.decoder.value };
  const name = form.name.value.trim();
  if (name) device.name = name;
  if (lat !== null) Object.assign(device, { lat, lon });
  const keys = otaa
    ? { app_key: randomHex(16) }
    : { dev_addr: randomHex(4), nwk_skey: randomHex(16), app_skey: randomHex(16) };
  if (otaa && join) device.join_eui = join;
  return { device: { ...device, ...keys }, keys };
}

async function copy(text, what, input) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    input.select();
    if (!document.execCommand || !document.execCommand('copy')) {
      announce(t('lora.copy_failed'));
      return;
    }
  }
  announce(t('lora.copied', { what }));
}

const KEY_NAMES = { dev_addr: 'DevAddr', nwk_skey: 'NwkSKey', app_skey: 'AppSKey', app_key: 'AppKey' };

function showKeys(eui, keys) {
  const box = $('keys');
  const items = Object.entries(keys).flatMap(([k, v]) => {
    const id = `key-${k}`;
    const input = el('input', { id, value: v, readonly: true, class: 'eui', size: String(v.length + 2),
      'aria-label': KEY_NAMES[k], spellcheck: 'false' });
    return [
      el('dt', {}, el('label', { for: id }, KEY_NAMES[k])),
      el('dd', {}, input, el('button', { type: 'button', class: 'copy', 'data-key': k,
        on: { click: () => copy(v, KEY_NAMES[k], input) } }, t('lora.copy', { what: KEY_NAMES[k] }))),
    ];
  });
  box.replaceChildren(
    el('h3', {}, t('lora.keys_title', { eui })),
    el('p', { class: 'warning' }, t('lora.keys_warning')),
    el('dl', {}, items));
  box.hidden = false;
  box.focus();
}

async function onRegister(e) {
  e.preventDefault();
  const form = e.target;
  const section = $('register');
  clearError(section);
  $('keys').hidden = true;
  $('keys').replaceChildren();
  const r = readForm(form);
  if (r.error) {
    showError(section, new Error(r.error));
    r.field.focus();
    return;
  }
  try {
    await api(`${base}devices`, { method: 'POST', body: r.device, auth: true });
  } catch (err) {
    showError(section, err);
    return;
  }
  form.reset();
  showKeys(r.device.dev_eui, r.keys);
  announce(t('lora.registered', { eui: r.device.dev_eui }));
  await loadDevices();
}

// --- import a CSV file ----------------------------------------------------

async function onImport(e) {
  e.preventDefault();
  const out = $('import-result');
  const file = $('csv-file').files[0];
  out.replaceChildren();
  if (!file) {
    out.append(el('p', { class: 'error' }, t('lora.no_file')));
    $('csv-file').focus();
    return;
  }
  const text = await file.text();
  try {
    const r = await api(`${base}devices`, { method: 'POST', body: text, auth: true,
      headers: { 'Content-Type': 'text/csv' } });
    out.append(el('p', { class: 'ok' }, t('lora.imported', { n: r && r.stored !== undefined ? r.stored : '?' })));
    e.target.reset();
    await loadDevices();
  } catch (err) {
    out.append(el('p', { class: 'error' }, t('lora.refused', { message: err.message })));
  }
}

async function main() {
  await start({ audience: 'clerk' });
  const form = $('register-form');
  const syncActivation = () => { $('join-eui-field').hidden = form.activation.value !== 'otaa'; };
  for (const radio of form.querySelectorAll('input[name="activation"]')) radio.addEventListener('change', syncActivation);
  syncActivation();
  form.addEventListener('submit', onRegister);
  $('import-form').addEventListener('submit', onImport);
  onLangChange(renderDevices);
  await loadDevices();
}

main();
