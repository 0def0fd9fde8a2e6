// The sensor pages in a real browser: the citizens' map, list and chart
// (/opendata/) and the clerk's LoRa devices page (/lora/admin.html), against
// the real daemon with a week of real LoRa uplinks (seed/lora.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lora from 'lora-packet';
import { startDaemon, webPlugin, launch, openPage, checkPage, views, tabTo, operatorLogin } from './harness.mjs';
import { sensorPlugins, seedLora, DEVICES, OFFLINE_DEVICE, GATEWAY } from './seed/lora.mjs';
import { getJSON, eventually } from './seed/common.mjs';

let daemon;
let browser;
let udpPort;
const SENSOR = DEVICES[0].dev_eui;

async function freeUdpPort() {
  const s = dgram.createSocket('udp4');
  await new Promise((ok) => s.bind(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

before(async () => {
  udpPort = await freeUdpPort();
  daemon = await startDaemon({ plugins: [webPlugin(), ...sensorPlugins(udpPort)] });
  await seedLora(daemon, udpPort);
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (daemon) await daemon.stop();
});

const sensorsUrl = (q = '') => `${daemon.url}/opendata/${q}`;
const chartUrl = (sensor = SENSOR) => sensorsUrl(`?dataset=ovzdusi&sensor=${sensor}`);

async function openSensors(view, q = '') {
  const page = await openPage(browser, sensorsUrl(q), { ...view, daemon });
  await page.waitForSelector('#overview:not([hidden]) .map-marker');
  return page;
}

async function openChart(view, sensor = SENSOR) {
  const page = await openPage(browser, chartUrl(sensor), { ...view, daemon });
  await page.waitForSelector('#detail:not([hidden]) #detail-table table tbody tr');
  return page;
}

// the table's rows: {time (ISO, from <time datetime>), cells: [text...]}, and its column labels
async function tableOf(page) {
  return page.$eval('#detail-table table', (t) => ({
    columns: [...t.querySelectorAll('thead th')].map((th) => th.textContent),
    rows: [...t.querySelectorAll('tbody tr')].map((tr) => ({
      time: tr.querySelector('time').getAttribute('datetime'),
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
    })),
  }));
}

// the API's rows for the same filters as the page's own API link, every page followed
async function apiRows(page) {
  const href = await page.$eval('#api-link', (a) => a.getAttribute('href'));
  const u = new URL(href, daemon.url);
  u.pathname = u.pathname.replace(/data\.csv$/, 'data.json');
  let path = u.pathname + u.search;
  const rows = [];
  while (path) {
    const body = await getJSON(daemon, path);
    rows.push(...body.data);
    path = body.next ? body.next.replace('https://data.testtown.example', '') : null;
  }
  return { rows, from: u.searchParams.get('from'), to: u.searchParams.get('to') };
}

// the metric of each value column, from its English heading ("Temperature (°C)")
function metricsOf(table) {
  const names = { Temperature: 'temperature', Humidity: 'humidity', Battery: 'battery' };
  return table.columns.slice(1).map((c) => names[c.split(' (')[0]]);
}

// numbers as the page writes them in English ("1,234.5") to numbers
const num = (text) => (text === '' ? undefined : Number(text.replace(/,/g, '')));
const round2 = (v) => Math.round(v * 100) / 100;

function pivot(rows) {
  const byTime = new Map();
  for (const r of rows) {
    if (!byTime.has(r.time)) byTime.set(r.time, {});
    byTime.get(r.time)[r.metric] = r.value;
  }
  return byTime;
}

test('the sensor pages in the four views', async () => {
  for (const view of views) {
    const tag = `${view.width}-${view.lang}`;
    const page = await openSensors(view);
    await checkPage(page, `sensors-map-${tag}`);
    await page.click('#show-list');
    await page.waitForSelector('#list-view:not([hidden]) li.sensor-card');
    await checkPage(page, `sensors-list-${tag}`);
    await page.close();
    const chart = await openChart(view);
    await checkPage(chart, `sensors-chart-${tag}`);
    await chart.close();
  }
});

test('the list says what the map says, for every sensor', async () => {
  const page = await openSensors({ width: 1280, lang: 'en' });
  const api = await getJSON(daemon, '/api/opendata/datasets/ovzdusi/sensors');
  const markers = await page.$$eval('.map-marker', (m) => m.map((x) => x.getAttribute('aria-label')));
  await page.click('#show-list');
  const list = await page.$$eval('#list-view li.sensor-card', (cards) => cards.map((c) => c.textContent));
  assert.equal(markers.length, api.sensors.length);
  assert.equal(list.length, api.sensors.length);
  for (const s of api.sensors) {
    const marker = markers.find((m) => m.includes(s.sensor));
    const row = list.find((r) => r.includes(s.sensor));
    assert.ok(marker && row, s.sensor);
    const temp = s.metrics.find((m) => m.metric === 'temperature');
    const shown = `${temp.value.toLocaleString('en', { maximumFractionDigits: 2 })}\u00a0°C`;
    assert.ok(marker.includes(shown), `${marker} has ${shown}`);
    assert.ok(row.includes(shown), `${row} has ${shown}`);
  }
  await page.close();
});

test('an offline sensor says "offline", in words, on the map and in the list', async () => {
  for (const [lang, word] of [['en', 'offline'], ['cs', 'mimo provoz']]) {
    const page = await openSensors({ width: 320, lang });
    const marker = await page.$eval(`.map-marker[data-marker-id="${OFFLINE_DEVICE}"]`, (m) => m.getAttribute('aria-label'));
    assert.ok(marker.includes(word), marker);
    await page.click('#show-list');
    const row = await page.$eval(`#list-view a[data-sensor="${OFFLINE_DEVICE}"]`,
      (a) => a.closest('li').querySelector('.badge').textContent);
    assert.equal(row, word);
    const online = await page.$eval(`#list-view a[data-sensor="${SENSOR}"]`,
      (a) => a.closest('li').querySelector('.badge').textContent);
    assert.notEqual(online, word);
    const legend = await page.$eval('#legend', (l) => l.textContent);
    assert.ok(legend.includes(word), legend);
    await page.close();
  }
});

test('keyboard only: the list, a sensor, its chart and table', async () => {
  const page = await openSensors({ width: 320, lang: 'cs' });
  await tabTo(page, '#show-list');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#list-view:not([hidden])');
  await tabTo(page, `a.sensor-link[data-sensor="${SENSOR}"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#detail:not([hidden]) #detail-table table');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'detail', 'focus moves to the sensor');
  await tabTo(page, '#detail-table .table-wrap');
  await page.keyboard.press('PageDown'); // the table's box scrolls by keyboard
  await page.waitForFunction(() => document.querySelector('#detail-table .table-wrap').scrollTop > 0);
  await tabTo(page, '#download-csv');
  await tabTo(page, '#back-link');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#detail', { hidden: true });
  assert.equal(await page.evaluate(() => document.activeElement.dataset.sensor), SENSOR, 'back where we were');
  assert.ok(page.url().includes('dataset=ovzdusi'));
  await page.close();
});

test("the chart's table equals the API's data", async () => {
  const page = await openChart({ width: 1280, lang: 'en' });
  const table = await tableOf(page);
  const api = await apiRows(page);
  assert.ok(api.rows.length > 3 * 7 * 40, `a week of readings (${api.rows.length} rows)`);
  const metrics = metricsOf(table);
  assert.deepEqual([...metrics].sort(), [...new Set(api.rows.map((r) => r.metric))].sort());
  assert.equal(metrics[0], 'temperature', 'the map\'s metric first');
  const byTime = pivot(api.rows);
  assert.equal(table.rows.length, byTime.size, 'one row per time');
  for (const row of table.rows) {
    const want = byTime.get(row.time);
    assert.ok(want, `${row.time} is in the API's answer`);
    metrics.forEach((m, i) => assert.equal(num(row.cells[i]), round2(want[m]), `${row.time} ${m}`));
  }
  // the from/to of the page's link are 7 days apart and the API agrees about the range
  assert.equal(Date.parse(api.to) - Date.parse(api.from), 7 * 86400000);
  await page.close();
});

async function download(page, button, dir) {
  const session = await page.createCDPSession();
  await session.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir,
    browserContextId: page.browserContext().id });
  const before = new Set(readdirSync(dir));
  await page.click(button);
  return eventually(() => {
    const names = readdirSync(dir).filter((n) => !before.has(n) && !n.endsWith('.crdownload'));
    assert.equal(names.length, 1, `a file from ${button}`);
    return readFileSync(join(dir, names[0]), 'utf8');
  }, { timeout: 15_000 });
}

test('the downloads hold exactly the rows shown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mestys-dl-'));
  try {
    const page = await openChart({ width: 1280, lang: 'en' });
    const table = await tableOf(page);
    const csv = await download(page, '#download-csv', dir);
    const json = JSON.parse(await download(page, '#download-json', dir));
    const [head, ...lines] = csv.trimEnd().split('\r\n');
    const cols = head.split(',');
    assert.deepEqual(cols, ['time', 'sensor', 'metric', 'value', 'unit', 'lat', 'lon']);
    const csvRows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
    assert.equal(csvRows.length, json.data.length);
    csvRows.forEach((r, i) => {
      const j = json.data[i];
      assert.deepEqual([r.time, r.sensor, r.metric, Number(r.value), r.unit], [j.time, j.sensor, j.metric, j.value, j.unit]);
    });
    assert.equal(json.sensor, SENSOR);
    assert.deepEqual(new Set(json.data.map((r) => r.sensor)), new Set([SENSOR]));
    const byTime = pivot(json.data);
    assert.equal(byTime.size, table.rows.length, 'the same times as the table');
    const metrics = metricsOf(table);
    for (const row of table.rows) {
      metrics.forEach((m, i) => assert.equal(num(row.cells[i]), round2(byTime.get(row.time)[m]), `${row.time} ${m}`));
    }
    // and the same as the API gives for the same filters
    const api = await apiRows(page);
    assert.deepEqual(json.data, api.rows);
    const record = await page.$eval('#record-link', (a) => a.getAttribute('href'));
    assert.equal(record, '/api/opendata/catalog/datasets/ovzdusi');
    await page.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('several datasets: the selector switches to the parking bays', async () => {
  const page = await openSensors({ width: 1280, lang: 'cs' });
  await page.select('#dataset-select', 'parkovani');
  await page.waitForFunction(() => document.querySelector('#list-view a[data-sensor="00AA0000000000B1"]'));
  const legend = await page.$eval('#legend', (l) => l.textContent);
  assert.ok(/volno/.test(legend) && /obsazeno/.test(legend), legend);
  assert.ok(page.url().includes('dataset=parkovani'));
  await page.close();
});

// --- the clerk's page ----------------------------------------------------------

async function openAdmin(view) {
  const page = await openPage(browser, `${daemon.url}/lora/admin.html`, { ...view, daemon });
  await operatorLogin(page);
  await page.waitForSelector('#device-table table tbody tr');
  return page;
}

test('the LoRa devices page in the four views', async () => {
  for (const view of views) {
    const page = await openAdmin(view);
    await page.waitForFunction(() => /ovzdusi|Teplota|Air/.test(document.querySelector('#device-table').textContent));
    await checkPage(page, `lora-admin-${view.width}-${view.lang}`);
    await page.close();
  }
});

test('the clerk sees last seen, battery and the dataset of each device', async () => {
  const page = await openAdmin({ width: 1280, lang: 'en' });
  await page.waitForFunction((eui) => document.querySelector(`tr[data-eui="${eui}"] a`), {}, SENSOR);
  const row = await page.$eval(`tr[data-eui="${SENSOR}"]`, (tr) => ({
    text: tr.textContent, link: tr.querySelector('a').getAttribute('href'),
  }));
  const dev = await getJSON(daemon, `/api/lora/devices/${SENSOR}`, { token: true });
  assert.ok(row.text.includes(`${dev.battery.value.toLocaleString('en', { maximumFractionDigits: 2 })}\u00a0V`), row.text);
  assert.ok(row.text.includes('ago'), row.text);
  assert.equal(row.link, `/opendata/?dataset=ovzdusi&sensor=${SENSOR}`);
  await page.close();
});

function uplink(dev, fcnt) {
  const phy = lora.fromFields({ MType: 'Unconfirmed Data Up', DevAddr: Buffer.from(dev.dev_addr, 'hex'), FCnt: fcnt,
    FPort: 1, payload: Buffer.from('08665A41', 'hex') }, Buffer.from(dev.app_skey, 'hex'),
  Buffer.from(dev.nwk_skey, 'hex')).getPHYPayload();
  const body = { rxpk: [{ tmst: 1, chan: 0, rfch: 0, freq: 868.1, stat: 1, modu: 'LORA', datr: 'SF7BW125',
    codr: '4/5', rssi: -60, lsnr: 9, size: phy.length, data: phy.toString('base64') }] };
  const msg = Buffer.concat([Buffer.from([2, 0, 7, 0]), Buffer.from(GATEWAY, 'hex'), Buffer.from(JSON.stringify(body))]);
  const s = dgram.createSocket('udp4');
  return new Promise((ok) => s.send(msg, udpPort, '127.0.0.1', () => {
    s.close();
    ok();
  }));
}

test('register a device with keys made in the browser, keyboard only, then see it heard', async () => {
  const page = await openAdmin({ width: 320, lang: 'cs' });
  const eui = '00AA00000000C0DE';
  await tabTo(page, '#dev-eui');
  await page.keyboard.type(eui);
  await tabTo(page, 'input[name="activation"][value="otaa"]');
  await page.keyboard.press('ArrowDown'); // the radio group: OTAA → ABP
  assert.equal(await page.$eval('input[value="abp"]', (r) => r.checked), true);
  await tabTo(page, '#dev-name');
  await page.keyboard.type('Hasičská zbrojnice');
  await tabTo(page, '#register-form button[type="submit"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#keys:not([hidden]) input#key-app_skey');
  const keys = await page.$$eval('#keys input', (inputs) => Object.fromEntries(inputs.map((i) => [i.id.slice(4), i.value])));
  assert.match(keys.dev_addr, /^[0-9A-F]{8}$/);
  assert.match(keys.nwk_skey, /^[0-9A-F]{32}$/);
  assert.match(keys.app_skey, /^[0-9A-F]{32}$/);
  assert.notEqual(keys.nwk_skey, keys.app_skey);
  const note = await page.$eval('#keys', (k) => k.textContent);
  assert.ok(/nikdy se znovu nezobrazí/.test(note), note);
  assert.equal(await page.$$eval('#keys button.copy', (b) => b.length), 3, 'a copy button per key');
  await page.waitForSelector(`tr[data-eui="${eui}"]`);
  const stored = await getJSON(daemon, `/api/lora/devices/${eui}`, { token: true });
  assert.equal(stored.activation, 'abp');
  assert.equal(stored.dev_addr, keys.dev_addr);
  assert.equal(stored.name, 'Hasičská zbrojnice');
  assert.ok(!JSON.stringify(stored).includes(keys.app_skey), 'the API never gives the keys back');
  // the keys the page showed are the ones the network server uses
  await uplink({ dev_addr: keys.dev_addr, nwk_skey: keys.nwk_skey, app_skey: keys.app_skey }, 1);
  await eventually(async () => {
    const d = await getJSON(daemon, `/api/lora/devices/${eui}`, { token: true });
    assert.ok(d.last_seen, 'heard with the keys shown');
    assert.deepEqual(d.battery, { value: 3.3, unit: 'V' });
  });
  // OTAA: one AppKey
  await page.reload({ waitUntil: 'networkidle0' });
  await page.waitForSelector('#device-table table');
  await page.type('#dev-eui', '00AA00000000C0DF');
  await page.click('#register-form button[type="submit"]');
  await page.waitForSelector('#keys:not([hidden]) input#key-app_key');
  assert.equal(await page.$$eval('#keys input', (i) => i.length), 1);
  assert.equal((await getJSON(daemon, '/api/lora/devices/00AA00000000C0DF', { token: true })).activation, 'otaa');
  await page.close();
});

test('CSV import: accepted, and refused with the server\'s sentence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mestys-csv-'));
  try {
    const good = join(dir, 'good.csv');
    const bad = join(dir, 'bad.csv');
    writeFileSync(good, 'dev_eui,dev_addr,nwk_skey,app_skey,decoder,name,lat,lon\r\n'
      + `00AA00000000D001,260BD001,${'3'.repeat(32)},${'4'.repeat(32)},cayenne,"Sokolovna, vchod",49.59,17.25\r\n`);
    writeFileSync(bad, 'dev_eui,dev_addr,nwk_skey,app_skey\r\n'
      + `00AA00000000D002,260BD002,${'3'.repeat(32)},${'4'.repeat(32)}\r\nXYZ,260BD003,${'3'.repeat(32)},${'4'.repeat(32)}\r\n`);
    const page = await openAdmin({ width: 1280, lang: 'en' });
    const input = await page.$('#csv-file');
    await input.uploadFile(good);
    await page.click('#import-form button[type="submit"]');
    await page.waitForFunction(() => /Devices imported: 1\./.test(document.querySelector('#import-result').textContent));
    await page.waitForSelector('tr[data-eui="00AA00000000D001"]');
    assert.equal((await getJSON(daemon, '/api/lora/devices/00AA00000000D001', { token: true })).name, 'Sokolovna, vchod');
    await (await page.$('#csv-file')).uploadFile(bad);
    await page.click('#import-form button[type="submit"]');
    await page.waitForFunction(() => /refused/.test(document.querySelector('#import-result').textContent));
    const msg = await page.$eval('#import-result', (r) => r.textContent);
    assert.ok(msg.includes('line 3: dev_eui: 16 hex digits are required (nothing was stored)'), msg);
    await getJSON(daemon, '/api/lora/devices', { token: true }).then((list) =>
      assert.ok(!list.some((d) => d.dev_eui === '00AA00000000D002'), 'all or nothing'));
    await checkPage(page, 'lora-admin-import-refused-1280-en', { allowConsole: [/400 \(Bad Request\)/] });
    await page.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
