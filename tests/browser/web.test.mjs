// The shell every page runs (plugins/web/www): the home page in four views,
// the language switch by keyboard, the navigation built from a plugin's
// pages.json, the clerk's token form, a map and a chart under the real CSP,
// and the cached page with its stale banner once the daemon is gone.
// The plugin that adds pages is a Lua one (tests/browser/web/pagesdemo.lua),
// as docs/web.md shows a town's integrator how.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  OPERATOR, checkPage, launch, openPage, startDaemon, tabTo, tileServer, views, webPlugin,
} from './harness.mjs';

const DEMO = fileURLToPath(new URL('./web/pagesdemo.lua', import.meta.url));
const LOGO = fileURLToPath(new URL('./web/znak.svg', import.meta.url));
const plugins = () => [webPlugin({ logo: LOGO }), { use: DEMO, name: 'pagesdemo' }];

let browser;
let daemon;

before(async () => {
  [browser, daemon] = await Promise.all([launch(), startDaemon({ plugins: plugins() })]);
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
});

const text = (page, selector) => page.$eval(selector, (e) => e.textContent.trim());
const texts = (page, selector) => page.$$eval(selector, (es) => es.map((e) => e.textContent.trim()));

for (const view of views) {
  test(`home page, ${view.width} px, ${view.lang}`, async () => {
    const page = await openPage(browser, daemon.url + '/', { ...view, daemon });
    await page.waitForSelector('#citizen-list a');
    const town = view.lang === 'cs' ? 'Zkušební Lhota' : 'Test Town';
    assert.equal(await text(page, 'h1'), town);
    assert.equal(await text(page, '#site-header .town-name'), town);
    assert.equal(await page.evaluate(() => document.documentElement.lang), view.lang);
    assert.equal(await page.title(), town);
    // the town's logo beside its name (decorative there: the name says it)
    const logo = await page.$eval('#site-header img.logo', (img) => ({ alt: img.alt, loaded: img.naturalWidth > 0,
      src: img.getAttribute('src') }));
    assert.deepEqual(logo, { alt: '', loaded: true, src: logo.src });
    assert.match(logo.src, /^\/api\/web\/logo\?v=[0-9a-f]{16}$/);
    // the plugin's citizen page as a card, its clerk page apart
    assert.deepEqual(await texts(page, '#citizen-list .card-link'), [view.lang === 'cs' ? 'Místa v obci' : 'Places in town']);
    assert.equal(await page.$eval('#citizen-list .card-link', (a) => a.getAttribute('href')), '/pagesdemo/');
    assert.deepEqual(await texts(page, '#clerk-list a'), [view.lang === 'cs' ? 'Poznámky úřadu' : 'Office notes']);
    assert.equal(await page.$eval('#clerk-list a', (a) => a.getAttribute('href')), '/pagesdemo/admin.html');
    assert.equal(await text(page, '#clerk-title'), view.lang === 'cs' ? 'Pro úřad' : 'For the town office');
    // nothing wider than the view
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
      'the page scrolls sideways');
    await checkPage(page, `web-home-${view.width}-${view.lang}`);
    await page.close();
  });
}

test('the language switch works by keyboard, in place, and is remembered', async () => {
  const page = await openPage(browser, daemon.url + '/', { width: 320, lang: 'cs', daemon });
  await page.waitForSelector('#citizen-list a');
  assert.equal(await text(page, '#citizen-title'), 'Pro občany');
  const marker = await page.evaluate(() => {
    window.notReloaded = true;
    return true;
  });
  assert.ok(marker);
  await tabTo(page, 'button[data-lang="en"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(await text(page, '#citizen-title'), 'For citizens');
  assert.equal(await text(page, '#citizen-list .card-link'), 'Places in town');
  assert.equal(await text(page, '.skip-link'), 'Skip to content');
  assert.equal(await page.$eval('button[data-lang="en"]', (b) => b.getAttribute('aria-pressed')), 'true');
  assert.equal(await page.$eval('button[data-lang="cs"]', (b) => b.getAttribute('aria-pressed')), 'false');
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the switch reloaded the page');
  // focus stays on the switch; Space works as well
  assert.equal(await page.evaluate(() => document.activeElement.dataset.lang), 'en');
  await tabTo(page, 'button[data-lang="cs"]', { shift: true });
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.documentElement.lang === 'cs');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(await page.evaluate(() => localStorage.getItem('mestys.lang')), 'en');
  // the next page opens in English
  await page.goto(daemon.url + '/pagesdemo/', { waitUntil: 'networkidle0' });
  assert.equal(await text(page, 'h1'), 'Places in town');
  await checkPage(page, 'web-lang-switched');
  await page.close();
});

test("the navigation lists a mounted plugin's pages and marks the current one", async () => {
  const page = await openPage(browser, daemon.url + '/pagesdemo/', { width: 1280, lang: 'cs', daemon });
  await page.waitForSelector('.leaflet-marker-icon');
  assert.deepEqual(await texts(page, '#site-nav a'), ['Úvod', 'Místa v obci']);
  assert.equal(await page.$eval('#site-nav a[aria-current="page"]', (a) => a.getAttribute('href')), '/pagesdemo/');
  // the map: tiles from the configured server (the stand-in), its attribution, markers named in words
  await page.waitForFunction(() => document.querySelector('.leaflet-tile-loaded'));
  assert.ok(tileServer().requests().some((u) => /^\/\d+\/\d+\/\d+\.png$/.test(u)), 'no tile was asked of the tile server');
  assert.match(await text(page, '.leaflet-control-attribution'), /Test tiles/);
  assert.deepEqual((await page.$$eval('.leaflet-marker-icon', (ms) => ms.map((m) => m.getAttribute('aria-label')))).sort(),
    ['Hřiště: mimo provoz', 'Náměstí: 21,3\u00a0°C', 'Škola: 19,8\u00a0°C']);
  // a marker by keyboard: Tab to it, Enter selects it
  await tabTo(page, '.leaflet-marker-icon[data-marker-id="skola"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('selected').textContent === 'Vybráno: Škola');
  // the chart has its table: a caption, column and row headers, the numbers in Czech
  assert.equal(await text(page, 'table.data caption'), 'Teplota');
  assert.deepEqual(await texts(page, 'table.data thead th'), ['Čas', 'Teplota']);
  assert.equal(await page.$$eval('table.data tbody tr', (rs) => rs.length), 7);
  assert.match(await text(page, 'table.data tbody td'), /^\d+,\d\u00a0°C$/);
  assert.ok(await page.$('.chart canvas'), 'uPlot drew no canvas');
  await checkPage(page, 'web-plugin-page-1280-cs');
  await page.close();
});

test('the clerk token: a wrong one is refused clearly, the right one is kept for the session', async () => {
  const context = await browser.createBrowserContext();
  const page = await openPage(browser, daemon.url + '/pagesdemo/admin.html', { width: 320, lang: 'cs', daemon, context });
  const field = await page.waitForSelector('#mestys-token', { visible: true });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'mestys-token');
  assert.equal(await page.$eval('label[for="mestys-token"]', (l) => l.textContent), 'Přístupový token');
  assert.equal(await page.$eval('#note', (n) => n.closest('[hidden]') !== null || n.hidden), true,
    'the page behind the form is hidden');
  await checkPage(page, 'web-token-form-320-cs');
  // wrong token: said so, in words, announced, and the field marked
  await field.type('this-is-not-the-token');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#mestys-token-error:not([hidden])');
  assert.match(await text(page, '#mestys-token-error'), /Token nebyl přijat: server ho nezná/);
  assert.equal(await page.$eval('#mestys-token-error', (e) => e.getAttribute('role')), 'alert');
  assert.equal(await page.$eval('#mestys-token', (e) => e.getAttribute('aria-invalid')), 'true');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('mestys.token')), null);
  await checkPage(page, 'web-token-wrong-320-cs', { allowConsole: [/401/] });
  // the right one, by keyboard only
  await page.$eval('#mestys-token', (e) => { e.value = ''; });
  await page.keyboard.type(OPERATOR);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#mestys-token-form', { hidden: true });
  await page.waitForFunction(() => document.getElementById('note').textContent === 'jen pro úřad');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('mestys.token')), OPERATOR);
  assert.equal(await page.evaluate(() => localStorage.getItem('mestys.token')), null, 'the token left the session');
  // kept for the session: another page of this tab does not ask again
  await page.reload({ waitUntil: 'networkidle0' });
  await page.waitForFunction(() => document.getElementById('note').textContent === 'jen pro úřad');
  assert.equal(await page.$('#mestys-token-form'), null);
  assert.deepEqual(await texts(page, '#site-nav li'), ['Úvod', 'Poznámky úřadu', 'Odhlásit']);
  await checkPage(page, 'web-clerk-page-320-cs', { allowConsole: [/401/] });
  // a token the server stops taking (a 401 later) asks again
  await page.evaluate(() => sessionStorage.setItem('mestys.token', 'revoked-token-0000000000'));
  await page.reload({ waitUntil: 'networkidle0' });
  await page.waitForSelector('#mestys-token-form .notice');
  assert.match(await text(page, '#mestys-token-form .notice'), /přihlaste se znovu/);
  await page.close();
  await context.close();
});

test('with the network cut, the cached page shows its stale banner', async () => {
  const own = await startDaemon({ plugins: plugins() });
  let stopped = false;
  try {
    const page = await openPage(browser, own.url + '/pagesdemo/', { width: 320, lang: 'cs', daemon: own });
    // the first visit installs the worker; once it controls the page, a
    // second visit is kept
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((ok) => navigator.serviceWorker.addEventListener('controllerchange', ok, { once: true }));
      }
    });
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('.leaflet-marker-icon');
    assert.equal(await page.$('#mestys-stale'), null, 'a fresh page shows no stale banner');
    const keptAt = Date.now();
    await own.stop();
    stopped = true;
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('#mestys-stale');
    const banner = await text(page, '#mestys-stale');
    assert.match(banner, /^Nejste připojeni: zobrazené údaje jsou z \d{1,2}:\d{2}\.$/);
    // the time of the cached copy, in local time, to the minute
    const [h, m] = banner.match(/(\d{1,2}):(\d{2})/).slice(1).map(Number);
    const shown = new Date(keptAt);
    shown.setHours(h, m, 0, 0);
    assert.ok(Math.abs(shown.getTime() - keptAt) < 120_000, `banner time ${h}:${m} is not the copy's`);
    // the page itself still works from the cache: its data, map and table
    assert.equal(await text(page, 'h1'), 'Místa v obci');
    assert.equal(await page.$$eval('.leaflet-marker-icon', (ms) => ms.length), 3);
    assert.equal(await page.$$eval('table.data tbody tr', (rs) => rs.length), 7);
    await checkPage(page, 'web-stale-320-cs', { allowFailed: [/ERR_CONNECTION_REFUSED/], allowConsole: [/ERR_CONNECTION_REFUSED/] });
    await page.close();
  } finally {
    if (!stopped) await own.stop();
  }
});
