// The harness's own checks must be able to fail: each one is shown a page
// that breaks it (tests/browser/fixtures/) and must report exactly that.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ADMIN, ARTIFACTS, checkPage, launch, openPage, startDaemon, tabTo, tileServer, typeInto, views,
} from './harness.mjs';
import { call, eventually, getJSON } from './seed/common.mjs';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript' };

// fixtures/nocsp/ is served here, with no CSP at all, for the one page the
// daemon could never serve: a service worker whose own script lets it ask
// a foreign host (the daemon's CSP says connect-src 'self').  Allowed by
// openPage's `allow` for that test only.
async function noCspServer() {
  const srv = createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.slice(1);
    const file = join(FIXTURES, 'nocsp', name);
    if (!/^[\w-]+\.\w+$/.test(name) || !existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(name)], 'Cache-Control': 'no-cache' });
    res.end(readFileSync(file));
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${srv.address().port}`;
  return { url, close: () => new Promise((ok) => srv.close(ok)) };
}

let browser;
let daemon;
let nocsp;
const open = (name, opts = {}) => openPage(browser, `${daemon.url}/fixtures/${name}`, { daemon, ...opts });

before(async () => {
  [browser, daemon, nocsp] = await Promise.all([
    launch(),
    startDaemon({ plugins: [{ use: join(FIXTURES, 'fixtures.lua'), name: 'fixtures' }] }),
    noCspServer(),
  ]);
});

after(async () => {
  await browser?.close();
  await nocsp?.close();
  await daemon?.stop();
});

test('a clean page passes and leaves its screenshot at the width asked for', async () => {
  const page = await open('good.html', { width: 320, lang: 'en' });
  const { screenshot } = await checkPage(page, 'harness-good-320');
  assert.equal(screenshot, join(ARTIFACTS, 'harness-good-320.png'));
  const png = readFileSync(screenshot);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 320, 'the screenshot is as wide as the view');
  assert.ok(statSync(screenshot).size > 1000);
  assert.equal(await page.evaluate(() => localStorage.getItem('mestys.lang')), 'en');
  await page.close();
});

test('axe-core violations are reported with their rule, help and element', async () => {
  const page = await open('bad.html');
  await assert.rejects(checkPage(page, 'harness-bad'), (err) => {
    assert.match(err.message, /axe image-alt \(critical\): Images must have alternative text\n\s+at img/);
    assert.match(err.message, /axe label \(critical\): Form elements must have labels\n\s+at #unnamed/);
    return true;
  });
  assert.ok(existsSync(join(ARTIFACTS, 'harness-bad.png')), 'the screenshot is saved even when the check fails');
  await page.close();
});

test('a request to a foreign origin is blocked and reported', async () => {
  const page = await open('foreign.html');
  assert.deepEqual(page.mestys.blocked, ['GET https://tile.openstreetmap.org/0/0/0.png']);
  await assert.rejects(checkPage(page, 'harness-foreign'),
    /blocked request \(only .*\): GET https:\/\/tile\.openstreetmap\.org\/0\/0\/0\.png/);
  await page.close();
});

test("a service worker's request to a foreign host is refused by the offline proxy and reported", async () => {
  const page = await openPage(browser, `${nocsp.url}/sw.html`, { allow: [nocsp.url] });
  await page.waitForFunction(() => document.getElementById('out').textContent.startsWith('Service worker:'));
  assert.equal(await page.$eval('#out', (e) => e.textContent), 'Service worker: failed: Failed to fetch');
  assert.deepEqual(page.mestys.blocked, [], 'the page itself asked for nothing foreign');
  await assert.rejects(checkPage(page, 'harness-sw'),
    /refused by the offline proxy: GET http:\/\/sw-foreign\.example\/ping/);
  await page.close();
});

test('console errors and uncaught errors are reported', async () => {
  const page = await open('console.html');
  await page.waitForFunction(() => document.getElementById('out').textContent === 'Script ran.');
  await assert.rejects(checkPage(page, 'harness-console'), (err) => {
    assert.match(err.message, /console error: fixture: something went wrong/);
    assert.match(err.message, /page error: Error: fixture: uncaught/);
    return true;
  });
  // ... unless the test says it expects that console line
  await assert.rejects(checkPage(page, 'harness-console', { allowConsole: [/something went wrong/] }),
    (err) => !/console error/.test(err.message) && /page error/.test(err.message));
  await page.close();
});

test("a page is checked under the daemon's CSP: an inline style it refuses is reported", async () => {
  const page = await open('csp.html');
  await assert.rejects(checkPage(page, 'harness-csp'),
    /console error: Applying inline style violates the following Content Security Policy directive .style-src .self../);
  await page.close();
});

test('a page wider than the view is reported with what sticks out', async () => {
  const page = await open('wide.html', { width: 320 });
  await assert.rejects(checkPage(page, 'harness-wide-320'),
    /the page scrolls sideways: \d+ px wide in a 320 px view, past its right edge: table#prices\.wide \(to \d+ px\)/);
  await checkPage(page, 'harness-wide-320', { allowOverflow: true });
  await page.close();
});

test('tabTo reaches the button by keyboard, typeInto types into the focused field', async () => {
  const page = await open('good.html');
  await tabTo(page, '#jmeno');
  await typeInto(page, 'Žofie Nováková');
  assert.equal(await page.$eval('#jmeno', (e) => e.value), 'Žofie Nováková');
  const button = await tabTo(page, 'button#send');
  assert.equal(await button.evaluate((e) => e.textContent), 'Odeslat');
  await assert.rejects(tabTo(page, '#nothing-has-this-id', { max: 5 }),
    /5 presses of Tab never reached #nothing-has-this-id; focus went through:\n\s+button#send "Odeslat"/);
  await page.close();
});

test('the tile stand-in answers tiles from the allowed origin, and the daemon runs', async () => {
  const tiles = tileServer();
  const res = await fetch(tiles.url.replace('{z}/{x}/{y}', '3/4/2'));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.ok(tiles.requests().includes('/3/4/2.png'));
  const health = await fetch(`${daemon.url}/health`);
  assert.equal(health.status, 200);
  assert.equal(views.length, 4);
});

test('startDaemon fails with the daemon\'s own words when it refuses its config', async () => {
  await assert.rejects(startDaemon({ plugins: [{ use: 'no-such-plugin', name: 'x' }] }),
    /mestysd exited with 2 before answering \/health:[^]*cannot load plugin "no-such-plugin"/);
});

test('stop() fails when the daemon did not exit cleanly', async () => {
  const d = await startDaemon();
  process.kill(d.pid, 'SIGKILL');
  await assert.rejects(d.stop(), /mestysd exited SIGKILL, expected 0/);
});

test('seed/common: calls on the daemon with a token, failing with its answer', async () => {
  const plugins = await getJSON(daemon, '/api/admin/plugins', { token: ADMIN });
  assert.ok(JSON.stringify(plugins).includes('fixtures'));
  await assert.rejects(call(daemon, 'GET', '/api/admin/plugins'), /GET \/api\/admin\/plugins answered 401: /);
  const refused = await call(daemon, 'GET', '/api/admin/plugins', { expect: 401 });
  assert.equal(refused.status, 401);
});

test('seed/common: eventually retries until the check holds, and gives up with its last error', async () => {
  let n = 0;
  assert.equal(await eventually(() => {
    n += 1;
    assert.ok(n >= 3, `only ${n}`);
    return n;
  }, { every: 1 }), 3);
  await assert.rejects(eventually(() => assert.fail('never'), { timeout: 50, every: 10 }), /never/);
});
