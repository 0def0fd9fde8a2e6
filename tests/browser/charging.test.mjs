// The charging pages in chromium against the real daemon, with charge
// points played by ocpp-rpc in strict mode (seed/stations.mjs): the
// drivers' map and list show each connector's state as the API reports it,
// in words and colour; the filters work with the keyboard and say how many
// stations are left; a station whose network dies turns "unknown" on the
// map and in the list without the reader losing their place; the clerk
// accepts a pending station and starts and stops a session remotely.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { checkPage, launch, openPage, operatorLogin, startDaemon, tabTo, views, webPlugin } from './harness.mjs';
import { eventually, getJSON, postJSON } from './seed/common.mjs';
import { seedStations } from './seed/stations.mjs';

// What each OCPP status means to a driver (docs/plugins/charging.md, "The pages").
const STATE = {
  Available: 'available', Preparing: 'charging', Charging: 'charging', SuspendedEV: 'charging',
  SuspendedEVSE: 'charging', Finishing: 'charging', Reserved: 'reserved', Unavailable: 'out_of_order',
  Faulted: 'out_of_order',
};
const WORDS = {
  cs: { available: 'Volný', charging: 'Nabíjí', reserved: 'Rezervovaný', out_of_order: 'Mimo provoz', unknown: 'Stav neznámý' },
  en: { available: 'Available', charging: 'Charging', reserved: 'Reserved', out_of_order: 'Out of order', unknown: 'Unknown' },
};
const expected = (st, k) => (st.status === 'online' ? STATE[k.status] || 'unknown' : 'unknown');

const STATIONS = [
  { id: 'CP-NAMESTI', name: 'Náměstí, u radnice', lat: 49.5940, lon: 17.2510,
    connectors: [{ type: 'Type2', max_kw: 22, status: 'Available' }, { type: 'Type2', max_kw: 22, status: 'Charging' }] },
  { id: 'CP-NADRAZI', name: 'Nádraží, parkoviště P+R', lat: 49.5902, lon: 17.2601,
    tariff: { per_kwh: '12.50', per_minute: '1.00', minutes: 'plugged', per_session: 0 },
    connectors: [{ type: 'CCS2', max_kw: 50, status: 'Charging' }, { type: 'CHAdeMO', max_kw: 50, status: 'Faulted' }] },
  { id: 'CP-SKOLA', name: 'Základní škola', lat: 49.5981, lon: 17.2455, tariff: { per_kwh: 0, per_session: 0 },
    connectors: [{ type: 'Type2Cable', max_kw: 11, status: 'Reserved' }] },
  { id: 'CP-KOUPALISTE', name: 'Koupaliště', lat: 49.6003, lon: 17.2702,
    connectors: [{ type: 'Schuko', max_kw: 3.7, status: 'Available' }] },
  { id: 'CP-HRISTE', name: 'Hřiště za sokolovnou',
    connectors: [{ type: 'CCS2', max_kw: 100, status: 'SuspendedEV' }, { type: 'Type2', max_kw: 22, status: 'Unavailable' }] },
  { id: 'CP-STADION', name: 'Zimní stadion', lat: 49.5921, lon: 17.2388, connect: false,
    connectors: [{ type: 'Type2', max_kw: 22 }] },
  { id: 'CP-HALA', name: 'Sportovní hala', lat: 49.5930, lon: 17.2420, accepted: false,
    connectors: [{ type: 'CCS2', max_kw: 150, status: 'Available' }] },
];

let daemon;
let fleet;
let browser;

before(async () => {
  daemon = await startDaemon({
    plugins: [webPlugin(), {
      use: 'charging',
      // ping_s 2: a station whose network died is closed (and so not online) within seconds
      config: { heartbeat_interval_s: 10, ping_s: 2, call_timeout_s: 20, password_iterations: 1000,
        tariff: { per_kwh: '7.90', per_session: 10 } },
    }],
  });
  await postJSON(daemon, '/api/charging/id-tags', { id_tag: 'CARD-0042' });
  fleet = await seedStations(daemon, STATIONS);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await fleet?.close();
  await daemon?.stop();
});

async function stations() {
  return (await getJSON(daemon, '/api/charging/stations')).filter((st) => st.accepted);
}

async function citizenPage(view, opts = {}) {
  const page = await openPage(browser, `${daemon.url}/charging/`, { ...view, daemon, ...opts });
  await page.waitForFunction(() => document.querySelectorAll('#station-list > li').length > 0);
  return page;
}

// every connector the page shows: {station, connector, state, text} (text: its badge's words)
function shownConnectors(page, root) {
  return page.$$eval(`${root} [data-station] .connector`, (nodes) => nodes.map((n) => ({
    station: n.closest('[data-station]').dataset.station,
    connector: Number(n.dataset.connector),
    state: n.dataset.state,
    text: n.querySelector('.badge').textContent,
  })));
}

async function showList(page) {
  await page.focus('#show-list');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#list-view:not([hidden])');
}

describe('the drivers\' page', () => {
  for (const view of views) {
    test(`map and list at ${view.width} px in ${view.lang}`, async () => {
      const page = await citizenPage(view);
      await page.waitForSelector('#map .map-marker');
      await checkPage(page, `charging-${view.width}-${view.lang}-map`);
      await showList(page);
      await checkPage(page, `charging-${view.width}-${view.lang}-list`);
      await page.browserContext().close();
    });
  }

  test('each connector shows the API\'s state, in words, with its plug, power and price', async () => {
    for (const lang of ['cs', 'en']) {
      const page = await citizenPage({ width: 1280, lang });
      const api = await stations();
      const want = api.flatMap((st) => st.connectors.map((k) => {
        const state = expected(st, k);
        return { station: st.id, connector: k.connector, state, text: WORDS[lang][state] };
      }));
      const sort = (l) => l.slice().sort((a, b) => `${a.station}/${a.connector}`.localeCompare(`${b.station}/${b.connector}`));
      assert.deepEqual(sort(await shownConnectors(page, '#station-list')), sort(want));
      // every state occurs, so the mapping above was exercised whole
      assert.deepEqual([...new Set(want.map((w) => w.state))].sort(),
        ['available', 'charging', 'out_of_order', 'reserved', 'unknown']);
      // a station the town has not accepted is not in service: not shown
      assert.equal(await page.$('[data-station="CP-HALA"]'), null);

      const card = (id) => page.$eval(`#station-list [data-station="${id}"]`, (n) => n.textContent);
      const namesti = await card('CP-NAMESTI');
      const nadrazi = await card('CP-NADRAZI');
      if (lang === 'cs') {
        assert.match(namesti, /Konektor 1 VolnýType 2 \(zásuvka\), 22\u00a0kW/);
        assert.match(namesti, /7,90\u00a0Kč\/kWh \+ 10,00\u00a0Kč za každé nabíjení \(včetně DPH\)/);
        assert.match(nadrazi, /CCS Combo 2, 50\u00a0kW/);
        assert.match(nadrazi, /12,50\u00a0Kč\/kWh \+ 1,00\u00a0Kč za minutu připojení \(včetně DPH\)/);
        assert.match(await card('CP-SKOLA'), /Cena: Zdarma/);
        assert.match(await card('CP-STADION'), /Stanice se zatím neozvala/);
      } else {
        assert.match(namesti, /CZK\u00a07\.90\/kWh \+ CZK\u00a010\.00 per charging session \(VAT included\)/);
        assert.match(await card('CP-KOUPALISTE'), /Household socket \(Schuko\), 3\.7\u00a0kW/);
      }
      // the map says the same, in the markers' names (a station without a location is in the list only)
      const markers = await page.$$eval('#map .map-marker', (nodes) => nodes.map((n) => [n.dataset.markerId,
        n.getAttribute('aria-label')]));
      const located = api.filter((st) => st.lat != null);
      assert.deepEqual(markers.map((m) => m[0]).sort(), located.map((st) => st.id).sort());
      assert.match(await page.$eval('#off-map', (n) => n.textContent), lang === 'cs' ? /najdete je v seznamu \(počet: 1\)/ : /not on the map but in the list \(1\)/);
      await page.browserContext().close();
    }
  });

  test('filters work with the keyboard and say how many stations are left', async () => {
    const page = await citizenPage({ width: 320, lang: 'cs' });
    const api = await stations();
    const count = () => page.$eval('#count', (n) => n.textContent);
    const listed = () => page.$$eval('#station-list > li', (nodes) => nodes.map((n) => n.dataset.station).sort());
    assert.equal(await page.$eval('#count', (n) => n.getAttribute('role')), 'status');
    assert.equal(await count(), `Zobrazené stanice: ${api.length} (celkem ${api.length})`);

    await tabTo(page, '#f-available');
    await page.keyboard.press('Space');
    const free = api.filter((st) => st.connectors.some((k) => expected(st, k) === 'available')).map((st) => st.id).sort();
    await eventually(async () => assert.deepEqual(await listed(), free));
    assert.equal(await count(), `Zobrazené stanice: ${free.length} (celkem ${api.length})`);

    await page.keyboard.press('Space'); // off again
    await tabTo(page, '#f-plug');
    // the options follow the plugs present, in a fixed order: Type2, Type2Cable, CCS2, ...
    const options = await page.$$eval('#f-plug option', (o) => o.map((x) => x.value));
    assert.deepEqual(options, ['', 'Type2', 'Type2Cable', 'CCS2', 'CHAdeMO', 'Schuko']);
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    assert.equal(await page.$eval('#f-plug', (s) => s.value), 'CCS2');
    const ccs = api.filter((st) => st.connectors.some((k) => k.type === 'CCS2')).map((st) => st.id).sort();
    await eventually(async () => assert.deepEqual(await listed(), ccs));

    await tabTo(page, '#f-power');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown'); // 100 kW
    const fast = api.filter((st) => st.connectors.some((k) => k.type === 'CCS2' && k.max_kw >= 100))
      .map((st) => st.id).sort();
    assert.deepEqual(fast, ['CP-HRISTE']);
    await eventually(async () => assert.deepEqual(await listed(), fast));
    assert.equal(await count(), `Zobrazené stanice: 1 (celkem ${api.length})`);

    // nothing left: said in words
    await tabTo(page, '#f-available');
    await page.keyboard.press('Space');
    await eventually(async () => assert.equal(await count(), 'Filtru neodpovídá žádná stanice. Zkuste filtr změnit.'));
    await checkPage(page, 'charging-320-cs-filtered');

    await tabTo(page, '#f-reset');
    await page.keyboard.press('Enter');
    await eventually(async () => assert.equal((await listed()).length, api.length));
    await page.browserContext().close();
  });

  test('a station that stops answering turns to "unknown" on the map and in the list, focus stays', async () => {
    const page = await citizenPage({ width: 1280, lang: 'cs' });
    // the page refreshes every 30 s: here its clock runs faster (a timer of 10 s or more fires after
    // 300 ms), from the first script on
    await page.evaluateOnNewDocument(() => {
      const real = window.setTimeout;
      window.setTimeout = (fn, ms, ...args) => real(fn, ms >= 10000 ? 300 : ms, ...args);
    });
    // (not networkidle0: the page asks every 300 ms now)
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelectorAll('#station-list > li').length > 0);
    await showList(page);
    const card = '#station-list [data-station="CP-KOUPALISTE"]';
    await page.waitForSelector(`${card}[data-state="available"]`);
    // the reader is on another station's button when it happens
    await tabTo(page, '#station-list [data-station="CP-NAMESTI"] button.show-on-map');
    const focused = () => page.evaluate(() => document.activeElement.closest('[data-station]')?.dataset.station + ' '
      + document.activeElement.className);

    fleet.station('CP-KOUPALISTE').cutNetwork();
    await eventually(async () => {
      const st = (await stations()).find((s) => s.id === 'CP-KOUPALISTE');
      assert.notEqual(st.status, 'online');
    });
    await page.waitForSelector(`${card}[data-state="unknown"]`, { timeout: 20_000 });
    const text = await page.$eval(card, (n) => n.textContent);
    assert.match(text, /Stav neznámý/);
    assert.match(text, /Stanice se neozývá\./);
    assert.match(text, /Naposledy se ozvala před/);
    assert.equal(await page.$eval(`${card} .connector`, (n) => n.dataset.state), 'unknown');
    assert.equal(await focused(), 'CP-NAMESTI show-on-map');

    // the same station on the map: its pin is grey and its name says so
    await page.keyboard.press('Enter'); // "Ukázat na mapě" of CP-NAMESTI: the map view
    await page.waitForSelector('#map-view:not([hidden]) .map-marker');
    const marker = '#map .map-marker[data-marker-id="CP-KOUPALISTE"]';
    await page.waitForSelector(`${marker} .map-pin.st-unknown`);
    assert.match(await page.$eval(marker, (n) => n.getAttribute('aria-label')), /^Koupaliště: Stav neznámý\./);
    // the chosen station's card is under the map, its marker has the focus, and keeps it over refreshes
    assert.equal(await page.$eval('#map-detail [data-station]', (n) => n.dataset.station), 'CP-NAMESTI');
    await page.evaluate(() => new Promise((r) => setTimeout(r, 1500)));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.markerId), 'CP-NAMESTI');
    await checkPage(page, 'charging-1280-cs-unknown');
    await page.browserContext().close();
  });
});

describe('the clerk\'s page', () => {
  async function clerkPage(view) {
    const page = await openPage(browser, `${daemon.url}/charging/admin.html`, { ...view, daemon });
    await operatorLogin(page);
    await page.waitForSelector('#station-rows tr');
    return page;
  }
  const row = (page, id) => page.$eval(`#station-rows tr[data-station="${id}"]`, (n) => n.textContent);

  for (const view of views) {
    test(`stations and sessions at ${view.width} px in ${view.lang}`, async () => {
      const page = await clerkPage(view);
      await checkPage(page, `charging-admin-${view.width}-${view.lang}`);
      await page.browserContext().close();
    });
  }

  test('accepts a pending station, starts and stops a session remotely and sees it in sessions', async () => {
    const page = await clerkPage({ width: 1280, lang: 'cs' });
    // every station with its connection, as the API has it
    for (const st of await getJSON(daemon, '/api/charging/stations', { token: true })) {
      const words = { online: 'Připojená', unknown: 'Neozývá se', offline: 'Odpojená' }[st.status];
      assert.match(await row(page, st.id), new RegExp(words));
    }
    assert.match(await row(page, 'CP-HALA'), /Čeká na schválení/);

    // accept: the page asks the station to boot again, and it is in service at once
    await tabTo(page, '#station-rows tr[data-station="CP-HALA"] button');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /Stanice Sportovní hala je schválená\. Požádali jsme ji, aby se znovu přihlásila; odpověď: přijato \(Accepted\)\./
      .test(document.querySelector('#station-result').textContent), { timeout: 60_000 });
    await eventually(() => assert.equal(fleet.station('CP-HALA').bootStatus, 'Accepted'));
    await eventually(async () => {
      const hala = (await stations()).find((s) => s.id === 'CP-HALA');
      assert.equal(hala.connectors[0].status, 'Available');
    });
    await page.waitForFunction(() => /Schválená.*1: Volný/.test(
      document.querySelector('#station-rows tr[data-station="CP-HALA"]').textContent));

    // remote start on CP-HALA connector 1, by keyboard
    await tabTo(page, '#start-station');
    const stationOptions = await page.$$eval('#start-station option', (o) => o.map((x) => x.value));
    const steps = stationOptions.indexOf('CP-HALA') - stationOptions.indexOf(await page.$eval('#start-station', (s) => s.value));
    for (let i = 0; i < Math.abs(steps); i++) await page.keyboard.press(steps > 0 ? 'ArrowDown' : 'ArrowUp');
    assert.equal(await page.$eval('#start-station', (s) => s.value), 'CP-HALA');
    await tabTo(page, '#start-tag');
    await page.keyboard.type('CARD-0042');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#start-result').textContent
      === 'Stanice Sportovní hala odpověděla na spuštění: přijato (Accepted).');
    const open = await eventually(async () => {
      const s = (await getJSON(daemon, '/api/charging/sessions?station=CP-HALA&open=1', { token: true }))[0];
      assert.ok(s, 'an open session at CP-HALA');
      return s;
    });
    assert.equal(open.id_tag, 'CARD-0042');
    const tr = `#session-rows tr[data-transaction="${open.transaction}"]`;
    await page.waitForSelector(`${tr}.open`, { timeout: 20_000 });
    assert.match(await page.$eval(tr, (n) => n.textContent), /Sportovní hala.*CARD-0042.*Probíhá/);
    // newest first
    assert.equal(await page.$eval('#session-rows tr', (n) => n.dataset.transaction), String(open.transaction));
    await checkPage(page, 'charging-admin-1280-cs-session');

    // remote stop from its row
    await tabTo(page, `${tr} button`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => document.querySelector('#stop-result').textContent
      === `Stanice Sportovní hala odpověděla na zastavení nabíjení ${n}: přijato (Accepted).`, {}, open.transaction);
    await eventually(async () => {
      const s = (await getJSON(daemon, '/api/charging/sessions?station=CP-HALA', { token: true }))
        .find((x) => x.transaction === open.transaction);
      assert.notEqual(s.stop, null);
    });
    await page.waitForSelector(`${tr}:not(.open)`, { timeout: 20_000 });
    assert.match(await page.$eval(tr, (n) => n.textContent), /4,20\u00a0kWh/);

    // a station that is not connected: the server's sentence is shown
    await tabTo(page, '#start-station');
    await page.select('#start-station', 'CP-STADION');
    await tabTo(page, 'form#start-form button[type="submit"]');
    await page.keyboard.press('Enter');
    const error = await page.waitForSelector('#start-error .error');
    assert.match(await error.evaluate((n) => n.textContent), /not connected/);
    // (chromium logs the refused request itself)
    await checkPage(page, 'charging-admin-1280-cs-error', { allowConsole: [/409 \(Conflict\).*remote-start/] });
    await page.browserContext().close();
  });
});
