// The browser tests' harness: the real mestysd on a temp state dir, Debian's
// chromium driven by puppeteer-core, axe-core injected into each page, and an
// allow list that keeps every test offline.  See README.md beside this file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const SOURCE = process.env.MESTYS_SOURCE_DIR || resolve(here, '../..');
export const BUILD = process.env.MESTYS_BUILD || process.env.MESTYS_BUILD_DIR || join(SOURCE, 'build');
export const MESTYSD = process.env.MESTYSD || join(BUILD, 'mestysd');
export const ARTIFACTS = process.env.MESTYS_ARTIFACTS || join(BUILD, 'browser-artifacts');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TEST_PLUGINS = process.env.MESTYS_TEST_PLUGIN_DIR || join(BUILD, 'tests/plugins');

// The same tokens as tests/integration/harness.py.
export const ADMIN = 'admin-token-0123456789';
export const OPERATOR = 'operator-token-0123456789';
export const PUBLIC = 'public-token-0123456789';

// Under ASan the daemon starts and answers several times slower: waits are
// generous, and they are deadlines, never expectations.
const HEALTH_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;
const SANITIZER_MARKS = ['AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'UndefinedBehaviorSanitizer'];

export const views = Object.freeze([
  Object.freeze({ width: 320, lang: 'cs' }),
  Object.freeze({ width: 320, lang: 'en' }),
  Object.freeze({ width: 1280, lang: 'cs' }),
  Object.freeze({ width: 1280, lang: 'en' }),
]);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// What a test started and did not stop (a test that threw before its
// stop(), or forgot it) is killed when the test file's process ends, and
// the file fails: no mestysd or chromium outlives its test.
const running = new Set();
const browsers = new Set();
process.on('exit', () => {
  if (!running.size && !browsers.size) return;
  console.error(`harness: ${running.size} mestysd and ${browsers.size} chromium still running at exit: `
    + 'every startDaemon() needs its stop() and every launch() its close()');
  for (const child of running) child.kill('SIGKILL');
  for (const b of browsers) b.process()?.kill('SIGKILL');
  process.exitCode = 1;
});
// ... and when the test process is told to stop (ctest's timeout, ^C).
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) process.once(sig, () => process.exit(128 + n));

async function freePort() {
  const srv = createServer();
  await new Promise((ok, fail) => srv.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Objects merged key by key (node.http stays whole when a test adds one key).
function merge(base, extra) {
  const out = { ...base };
  for (const [k, v] of Object.entries(extra || {})) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k], v) : v;
  return out;
}

// Resolves with what promise gives, or with `late` after ms; the timer is
// cleared either way, so it never keeps the test process alive.
function within(promise, ms, late = null) {
  let timer;
  const timeout = new Promise((ok) => { timer = setTimeout(ok, ms, late); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts mestysd on a config of its own (the shape of tests/integration/harness.py's).
 * plugins: the config's plugin entries; node: keys merged into its node
 * block; config: keys merged into the whole config.  Resolves once /health
 * answers 200 with {url, port, token (the operator's), stateDir, config,
 * dir, pid, stop(), logs()}.
 */
export async function startDaemon({ plugins = [], node = {}, config = {} } = {}) {
  // The free port is found by binding and closing it: another process may
  // take it before mestysd binds it.  Then mestysd says so and exits, and
  // the start is tried again on another port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), plugins, node, config);
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test(err.message)) throw err;
    }
  }
}

async function startOnce(port, plugins, node, extra) {
  const dir = mkdtempSync(join(tmpdir(), 'mestys-br-'));
  const stateDir = join(dir, 'state');
  const config = merge({
    node: merge({
      name: 'testtown', state_dir: stateDir, log_level: 'info',
      http: { listen: `127.0.0.1:${port}`, body_limit: 65536 },
    }, node),
    plugins,
    // the fixtures are unsigned test plugins: allowed here, as in
    // tests/integration/harness.py, never by the daemon's default
    trust: { require: 'any' },
    tokens: [{ name: 'it', token: ADMIN, role: 'admin' },
      { name: 'clerk', token: OPERATOR, role: 'operator' },
      { name: 'kiosk', token: PUBLIC, role: 'public' }],
  }, extra);
  const path = join(dir, 'mestys.json');
  const logPath = join(dir, 'mestysd.log');
  writeFileSync(path, JSON.stringify(config, null, 2));
  const env = {
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    ...process.env,
    MESTYS_PLUGIN_PATH: TEST_PLUGINS,
  };
  const log = [];
  const child = spawn(MESTYSD, ['-c', path], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.stdout.on('data', (b) => log.push(b));
  child.stderr.on('data', (b) => log.push(b));
  // 'close', not 'exit': LeakSanitizer writes its report as the process
  // ends, and 'close' comes once its output has been read to the end.
  let exit = null;
  const closed = new Promise((ok) => child.once('close', (code, signal) => {
    running.delete(child);
    exit = { code, signal };
    ok(exit);
  }));
  child.once('error', (err) => log.push(Buffer.from(`cannot run ${MESTYSD}: ${err.message}\n`)));
  const logs = () => Buffer.concat(log).toString('utf8');
  const url = `http://127.0.0.1:${port}`;

  // A daemon that never answered leaves nothing behind: its output is in
  // the failure's message.
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  for (;;) {
    let why = null;
    if (exit) why = `mestysd exited with ${exit.code ?? exit.signal} before answering /health`;
    else if (Date.now() > deadline) why = `mestysd did not answer /health in ${HEALTH_TIMEOUT_MS / 1000} s`;
    if (why) {
      child.kill('SIGKILL');
      await within(closed, STOP_TIMEOUT_MS);
      rmSync(dir, { recursive: true, force: true });
      assert.fail(`${why}:\n${logs()}`);
    }
    if (await healthy(url)) break;
    await sleep(50);
  }

  let stopped = null;
  // Stops the daemon (SIGTERM) and asserts exit status 0 and no sanitizer
  // report; resolves with its log.  Calling it again returns the same result.
  // A failing daemon's folder (config, state, mestysd.log) is kept.
  const stop = () => {
    stopped ||= (async () => {
      if (!exit) child.kill('SIGTERM');
      const how = await within(closed, STOP_TIMEOUT_MS);
      const out = logs();
      writeFileSync(logPath, out);
      if (!how) {
        child.kill('SIGKILL');
        assert.fail(`mestysd did not stop in ${STOP_TIMEOUT_MS / 1000} s (log: ${logPath}):\n${out}`);
      }
      const mark = SANITIZER_MARKS.find((m) => out.includes(m));
      if (mark) assert.fail(`sanitizer report (${mark}) from mestysd (log: ${logPath}):\n${out}`);
      if (how.code !== 0) assert.fail(`mestysd exited ${how.code ?? how.signal}, expected 0 (log: ${logPath}):\n${out}`);
      rmSync(dir, { recursive: true, force: true });
      return out;
    })();
    return stopped;
  };
  return { url, port, token: OPERATOR, stateDir, config, dir, pid: child.pid, stop, logs };
}

async function healthy(url) {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false; // not listening yet
  }
}

// --- the map tile stand-in --------------------------------------------------

// A 256x256 PNG of one light grey, made here (zlib from Node) rather than
// kept as a binary file.
function tilePng() {
  const { deflateSync } = require('node:zlib');
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const size = 256;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const row = Buffer.alloc(size + 1, 0xe8);
  row[0] = 0; // filter: none
  const raw = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

// One stand-in per test file, started when the harness is imported so that
// webPlugin() can name its URL synchronously; unref'd: it never keeps the
// test process alive.
const tiles = await (async () => {
  const png = tilePng();
  const requests = [];
  const srv = createServer((req, res) => {
    requests.push(req.url);
    if (req.method === 'GET' && /^\/\d+\/\d+\/\d+\.png$/.test(req.url)) {
      res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length,
        'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-cache' });
      res.end(png);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not a tile\n');
  });
  await new Promise((ok, fail) => srv.once('error', fail).listen(0, '127.0.0.1', ok));
  srv.unref();
  const origin = `http://127.0.0.1:${srv.address().port}`;
  return Object.freeze({
    origin,
    url: `${origin}/{z}/{x}/{y}.png`,
    requests: () => requests.slice(),
    server: srv,
  });
})();

/** The tile stand-in: {origin, url (a Leaflet template), requests()}. */
export function tileServer() {
  return tiles;
}

/**
 * The web plugin's config entry (docs/web.md): the town Zkušební Lhota (Test
 * Town in English), the map's tiles from the stand-in; extra is merged into
 * its config.
 */
export function webPlugin(extra = {}) {
  return {
    use: 'web', name: 'web',
    config: merge({
      town: { name: { cs: 'Zkušební Lhota', en: 'Test Town' } },
      tiles: { url: tiles.url, attribution: 'Test tiles', max_zoom: 18 },
    }, extra),
  };
}

// --- the browser ------------------------------------------------------------

export const CHROMIUM_ARGS = Object.freeze([
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
]);

// Every request that is not for a loopback address goes through this proxy
// (chromium sends loopback ones direct): it answers none and records each.
// A service worker's requests are not seen by a page's interception; they
// are here.  So is chromium's own chatter that no flag turns off (its
// component updater, its account check, the spelling dictionary it fetches
// from redirector.gvt1.com once a page's text field is typed in): that goes
// to Google's hosts only, is refused like the rest, and is not held against
// the page.
const BROWSER_OWN = /(^|\.)(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)$/;

async function blackhole() {
  const seen = [];
  const note = (line, host) => seen.push({ line, own: BROWSER_OWN.test(host) });
  const srv = createServer((req, res) => {
    note(`${req.method} ${req.url}`, safeHost(req.url));
    res.writeHead(403, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('the browser tests are offline\n');
  });
  srv.on('connect', (req, socket) => {
    note(`CONNECT ${req.url}`, req.url.replace(/:\d+$/, ''));
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
  });
  await new Promise((ok, fail) => srv.once('error', fail).listen(0, '127.0.0.1', ok));
  srv.unref();
  return { seen, url: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() };
}

function safeHost(url) {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/**
 * Debian's chromium with a fresh profile folder of our own, removed once the
 * browser's process has exited (puppeteer's own removal raced chromium's last writes:
 * ENOTEMPTY, seen on a loaded machine); one per test file: starting it costs
 * seconds.  Close it with browser.close().
 */
export async function launch() {
  const proxy = await blackhole();
  const profile = mkdtempSync(join(tmpdir(), 'mestys-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // (puppeteer merges --disable-features with its own list)
    args: [...CHROMIUM_ARGS, `--proxy-server=${proxy.url}`, '--disable-features=NetworkTimeServiceQuerying'],
    protocolTimeout: 120_000,
  });
  browser.mestysForeign = proxy.seen;
  browsers.add(browser);
  browser.once('disconnected', () => {
    browsers.delete(browser);
    proxy.close();
  });
  // chromium writes to its profile until its process exits, after the
  // disconnect; a folder left behind in /tmp harms nothing, so no error here
  browser.process().once('exit', () => {
    rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch(() => {});
  });
  return browser;
}

function originOf(url) {
  return new URL(url).origin;
}

/**
 * Opens url in a browser context of its own (storage, service workers and
 * cache are not shared with other pages; closed with the page), or in
 * options.context, at width x height (900) in lang.  Only the
 * daemon's origin (options.daemon.url, else url's), the tile stand-in and
 * options.allow origins may be requested; anything else is aborted and
 * recorded, as are console errors, page errors and failed requests.
 * page.mestys holds what was recorded; checkPage fails on it.
 */
export async function openPage(browser, url, { width = 1280, height = 900, lang = 'cs', daemon, allow = [],
  context, wait = 'networkidle0' } = {}) {
  const ctx = context || await browser.createBrowserContext();
  const page = await ctx.newPage();
  // a context made for this page goes with it (options.context: the test's own)
  if (!context) page.once('close', () => ctx.close().catch(() => {}));
  const allowed = new Set([originOf(daemon ? daemon.url : url), tiles.origin, ...allow.map(originOf)]);
  const record = { blocked: [], console: [], errors: [], failed: [], allowed,
    foreign: browser.mestysForeign, foreignFrom: browser.mestysForeign?.length ?? 0 };
  page.mestys = record;
  page.setDefaultTimeout(30_000);
  page.setDefaultNavigationTimeout(60_000);
  await page.setViewport({ width, height });
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.isInterceptResolutionHandled()) return;
    const u = req.url();
    if (u.startsWith('data:') || u.startsWith('blob:') || allowed.has(safeOrigin(u))) {
      req.continue();
      return;
    }
    record.blocked.push(`${req.method()} ${u}`);
    req.abort('blockedbyclient');
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url;
    record.console.push(where ? `${msg.text()} (${where})` : msg.text());
  });
  page.on('pageerror', (err) => record.errors.push(err?.stack || String(err)));
  page.on('requestfailed', (req) => {
    const reason = req.failure()?.errorText || 'failed';
    // a request we blocked is reported once, as blocked; a cancelled one
    // (a navigation, a map tile scrolled away) is not an error
    if (reason.startsWith('net::ERR_BLOCKED_BY_CLIENT') || reason === 'net::ERR_ABORTED') return;
    record.failed.push(`${req.method()} ${req.url()}: ${reason}`);
  });
  // The language is set for the first document only: the page's own switch
  // must still win after it.
  await page.evaluateOnNewDocument((l) => {
    try {
      if (!sessionStorage.getItem('mestys.test.lang')) {
        localStorage.setItem('mestys.lang', l);
        sessionStorage.setItem('mestys.test.lang', l);
      }
    } catch {
      // about:blank and opaque origins have no storage
    }
  }, lang);
  await page.goto(url, { waitUntil: wait });
  return page;
}

function safeOrigin(url) {
  try {
    return originOf(url);
  } catch {
    return url;
  }
}

// In the page: null when nothing sticks out on the right, else the
// document's and the view's widths and the first elements that stick out
// (the outermost ones: their children would only repeat them).
function sideways() {
  const root = document.documentElement;
  const view = root.clientWidth;
  if (root.scrollWidth <= view) return null;
  const culprits = [];
  const walk = (el) => {
    for (const child of el.children) {
      if (culprits.length >= 5) return;
      const r = child.getBoundingClientRect();
      if (r.width > 0 && r.right > view + 1) {
        const cls = typeof child.className === 'string' && child.className.trim()
          ? `.${child.className.trim().split(/\s+/).join('.')}` : '';
        culprits.push(`${child.tagName.toLowerCase()}${child.id ? `#${child.id}` : ''}${cls} (to ${Math.round(r.right)} px)`);
      } else {
        walk(child);
      }
    }
  };
  walk(document.body);
  return { scroll: root.scrollWidth, view, culprits };
}

function axeSource() {
  return readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
}

/**
 * Saves a full-page screenshot <name>.png to the artifacts folder, then
 * fails listing every blocked request, console error, page error, failed
 * request and axe-core violation (WCAG 2.0/2.1 A and AA) of the page.
 * allowConsole: regular expressions for console errors a test expects
 * (e.g. the browser's own line for a refused request the page handles);
 * allowFailed: the same for failed requests (the network cut on purpose).
 * It also fails when the page scrolls sideways (wider than the view: at
 * 320 px that is text cut off or a table pushing the layout), naming the
 * elements that stick out; allowOverflow: true turns that off.
 */
export async function checkPage(page, name, { allowConsole = [], allowFailed = [], allowOverflow = false } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  // The pages' CSP forbids inline scripts (page.addScriptTag would add one):
  // axe-core is evaluated through the DevTools protocol, which the CSP does
  // not govern, so the pages are checked under their real CSP.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource());
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
      summary: v.nodes[0]?.failureSummary || '',
    }));
  });
  const overflow = allowOverflow ? null : await page.evaluate(sideways);
  const r = page.mestys;
  const consoleErrors = r.console.filter((line) => !allowConsole.some((re) => re.test(line)));
  const problems = [
    ...r.blocked.map((x) => `blocked request (only ${[...r.allowed].join(', ')} allowed): ${x}`),
    ...(r.foreign || []).slice(r.foreignFrom).filter((x) => !x.own)
      .map((x) => `request to another host (a service worker's?), refused by the offline proxy: ${x.line}`),
    ...consoleErrors.map((x) => `console error: ${x}`),
    ...r.errors.map((x) => `page error: ${x}`),
    ...r.failed.filter((x) => !allowFailed.some((re) => re.test(x))).map((x) => `failed request: ${x}`),
    ...violations.map((v) => `axe ${v.id} (${v.impact}): ${v.help}\n      at ${v.targets.join('\n      at ')}`
      + (v.summary ? `\n      ${v.summary.replace(/\n/g, '\n      ')}` : '')),
    ...(overflow ? [`the page scrolls sideways: ${overflow.scroll} px wide in a ${overflow.view} px view, `
      + `past its right edge: ${overflow.culprits.join(', ')}`] : []),
  ];
  if (problems.length) assert.fail(`page ${name} (${page.url()}), screenshot ${file}:\n  ${problems.join('\n  ')}`);
  return { screenshot: file };
}

// --- the keyboard -----------------------------------------------------------

/** Presses Tab until document.activeElement matches selector; fails after max presses. */
export async function tabTo(page, selector, { max = 60, shift = false } = {}) {
  const seen = [];
  for (let i = 0; i <= max; i++) {
    const where = await page.evaluate((sel) => {
      const a = document.activeElement;
      if (!a || a === document.body) return { match: false, what: 'body' };
      const text = (a.getAttribute('aria-label') || a.textContent || a.value || '').trim().slice(0, 30);
      const what = `${a.tagName.toLowerCase()}${a.id ? `#${a.id}` : ''}${text ? ` "${text}"` : ''}`;
      return { match: a.matches(sel), what };
    }, selector);
    if (where.match) return page.evaluateHandle(() => document.activeElement);
    seen.push(where.what);
    if (i < max) {
      if (shift) await page.keyboard.down('Shift');
      await page.keyboard.press('Tab');
      if (shift) await page.keyboard.up('Shift');
    }
  }
  assert.fail(`${max} presses of Tab never reached ${selector}; focus went through:\n  ${seen.join('\n  ')}`);
}

/** Types text into the focused element, key by key. */
export async function typeInto(page, text) {
  await page.keyboard.type(String(text));
}

/**
 * Fills the shell's operator token form (plugins/web/www/lib/app.js:
 * #mestys-token in #mestys-token-form) with the keyboard and waits until the
 * shell has accepted the token and removed the form; fails with the form's
 * own error when it refused it.
 */
export async function operatorLogin(page, token = OPERATOR) {
  const field = await page.waitForSelector('#mestys-token-form #mestys-token', { visible: true });
  await field.focus();
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  const outcome = await page.waitForFunction(() => {
    if (!document.getElementById('mestys-token-form')) return 'ok';
    const err = document.getElementById('mestys-token-error');
    return err && !err.hidden && err.textContent ? err.textContent : false;
  });
  const what = await outcome.jsonValue();
  if (what !== 'ok') assert.fail(`the shell refused the operator token: ${what}`);
}
