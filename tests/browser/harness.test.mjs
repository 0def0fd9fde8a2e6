// The harness's own checks must be able to fail: each one is shown a page
// that breaks it (tests/browser/fixtures/) and must report exactly that.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ARTIFACTS, checkPage, launch, openPage, startDaemon, tabTo, tileServer, typeInto, views,
} from './harness.mjs';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
// The CSP every daemon page gets (docs/http.md), with the img-src origin a
// mount asking for the real tile server would add.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; "
  + "img-src 'self' data: blob: https://tile.openstreetmap.org; connect-src 'self'; font-src 'self'; "
  + "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; worker-src 'self'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript' };

// The fixtures on a server of their own: allowed by openPage's `allow` for
// this self-test only.
async function fixtureServer() {
  const srv = createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.slice(1);
    const file = join(FIXTURES, name);
    if (!/^[\w-]+\.\w+$/.test(name) || !existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(name)] || 'application/octet-stream',
      'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache' });
    res.end(readFileSync(file));
  });
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${srv.address().port}`;
  return { url, close: () => new Promise((ok) => srv.close(ok)) };
}

let browser;
let daemon;
let fixtures;
const open = (name, opts = {}) => openPage(browser, `${fixtures.url}/${name}`, { allow: [fixtures.url], ...opts });

before(async () => {
  [browser, daemon, fixtures] = await Promise.all([launch(), startDaemon(), fixtureServer()]);
});

after(async () => {
  await browser?.close();
  await fixtures?.close();
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
