// The shell every page of městys runs: header and footer, navigation built
// from the plugins' pages, Czech/English strings, the daemon's API with the
// clerk's token, formatting with Intl, and the stale banner when the page
// comes from the service worker's cache.  docs/web.md describes it; the
// pages import it as /lib/app.js.
import { shellStrings } from '/lib/i18n.js';

const LANGS = ['cs', 'en'];
const LANG_KEY = 'mestys.lang';
const TOKEN_KEY = 'mestys.token';
// the service worker marks a copy it serves from its cache with this header
const CACHED_HEADER = 'X-Mestys-Cached-At';

const strings = { cs: {}, en: {} };
const langListeners = [];
let currentLang = 'cs';
let siteConfig = defaultConfig();
let siteAudience = 'citizen';
let sitePages = [];
let staleSince = null; // ms of the oldest cached copy shown, or null
let backOnline = false; // the browser said "online" after the page was shown
let tokenPrompt = null; // the pending token form's promise
const authUrls = new Set(); // what was fetched with the token: never offered to the worker's cache

addStrings(shellStrings);

function defaultConfig() {
  return {
    town: { name: { cs: '', en: '' } },
    colors: {},
    logo: null,
    tiles: {
      url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
      attribution: '© OpenStreetMap contributors',
      attribution_url: 'https://www.openstreetmap.org/copyright',
      max_zoom: 19,
    },
    default_lang: 'cs',
    languages: LANGS,
  };
}

// --- strings -------------------------------------------------------------

/** Adds a page's strings: {cs: {"ns.key": "…"}, en: {…}}; call before start(). */
export function addStrings(table) {
  for (const l of Object.keys(table)) {
    strings[l] = Object.assign(strings[l] || {}, table[l]);
  }
}

/** The string for key in the current language, {name} filled from vars. */
export function t(key, vars) {
  let s = strings[currentLang]?.[key] ?? strings.cs[key] ?? key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }
  return s;
}

/** The current language: "cs" or "en". */
export function lang() {
  return currentLang;
}

/** fn(lang) runs after every language switch (the page is not reloaded). */
export function onLangChange(fn) {
  langListeners.push(fn);
}

/** The web plugin's config as /api/web/config gave it (defaults before start()). */
export function config() {
  return siteConfig;
}

/** A {cs, en} text (or a plain string) in the current language. */
export function localized(text) {
  if (text == null) return '';
  if (typeof text === 'string') return text;
  return text[currentLang] || text.cs || text.en || '';
}

function initialLang() {
  let stored = null;
  try {
    stored = localStorage.getItem(LANG_KEY);
  } catch {
    /* storage disabled: the town's default */
  }
  if (LANGS.includes(stored)) return stored;
  return LANGS.includes(siteConfig.default_lang) ? siteConfig.default_lang : 'cs';
}

/** Fills [data-i18n] (textContent) and [data-i18n-attr="attr:key;…"] under root. */
export function applyStrings(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const node of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of node.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) node.setAttribute(attr, t(key));
    }
  }
}

/** Switches the language in place and remembers it for the next visit. */
export function setLang(l) {
  if (!LANGS.includes(l) || l === currentLang) return;
  currentLang = l;
  try {
    localStorage.setItem(LANG_KEY, l);
  } catch {
    /* not remembered, still switched */
  }
  document.documentElement.lang = l;
  applyStrings();
  renderHeaderText();
  renderNav();
  renderFooter();
  renderStale();
  for (const fn of langListeners) fn(l);
}

// --- DOM -----------------------------------------------------------------

/**
 * Builds an element: el('a', {href: '/', class: 'x', text: 'Home', on: {click: fn}}, child, …).
 * Strings and numbers become text nodes; null, undefined and false are skipped;
 * arrays are flattened.  An attribute true is set empty, false/null left out.
 */
export function el(tag, attrs, ...children) {
  const node = tag.includes(':')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.split(':')[1])
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else if (k === 'class') node.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'value' && 'value' in node) node.value = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else if (c instanceof Node) node.appendChild(c);
    else node.appendChild(document.createTextNode(String(c)));
  }
}

function liveRegion() {
  let region = document.getElementById('mestys-live');
  if (!region) {
    region = el('div', { id: 'mestys-live', class: 'visually-hidden', 'aria-live': 'polite', role: 'status' });
    document.body.appendChild(region);
  }
  return region;
}

/** Tells screen readers something happened (polite, not interrupting). */
export function announce(message) {
  const region = liveRegion();
  region.textContent = '';
  // a new text node after a tick: the same sentence twice is read twice
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** The sentence to show for an error (an ApiError carries the server's). */
export function errorText(err) {
  if (err instanceof ApiError && err.status === 0) return t('shell.error_network');
  return (err && err.message) || String(err);
}

/** Shows err at the top of container, visibly and announced; returns the element. */
export function showError(container, err) {
  clearError(container);
  const box = el('div', { class: 'error', role: 'alert', 'data-mestys-error': true },
    t('shell.error', { message: errorText(err) }));
  container.prepend(box);
  return box;
}

/** Removes what showError put in container. */
export function clearError(container) {
  for (const old of container.querySelectorAll(':scope > [data-mestys-error]')) old.remove();
}

// --- the daemon's API ----------------------------------------------------

/** A refused or failed request: status (0: no answer at all) and the server's sentence. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

/** The operator token of this browser session, or null. */
export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage disabled: asked again next time */
  }
}

function isPlainBody(body) {
  return typeof body === 'string' || body instanceof Blob || body instanceof FormData ||
    body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof URLSearchParams;
}

/**
 * Calls the daemon.  opts: method, body (an object is sent as JSON, a string
 * as is), headers (override), auth (adds the operator token; a 401/403 asks
 * for it again and retries once), raw (true: the Response; 'text': the text).
 * Resolves with the parsed JSON (text for other types, null for 204);
 * rejects with ApiError.
 */
export async function api(path, opts = {}) {
  const { method = 'GET', body, auth = false, raw = false, headers = {}, signal } = opts;
  const h = new Headers();
  let payload = body;
  if (body !== undefined && body !== null && !isPlainBody(body)) {
    payload = JSON.stringify(body);
    h.set('Content-Type', 'application/json');
  }
  if (auth && token()) {
    h.set('Authorization', 'Bearer ' + token());
    authUrls.add(new URL(path, location.href).href);
  }
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  let res;
  try {
    res = await fetch(path, { method, body: payload, headers: h, signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, t('shell.error_network'));
  }
  noteCached(res);
  if (auth && (res.status === 401 || res.status === 403) && !opts.retried) {
    setToken(null);
    await askToken(t('shell.token_again'));
    return api(path, { ...opts, retried: true });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let message = '';
    let parsed;
    try {
      parsed = JSON.parse(text);
      message = parsed.error || '';
    } catch {
      message = text.length < 300 ? text.trim() : '';
    }
    throw new ApiError(res.status, message || t('shell.error_status', { status: res.status }), parsed);
  }
  if (raw === true || raw === 'response') return res;
  if (raw === 'text') return res.text();
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  if (/json/.test(type)) return res.json();
  return res.text();
}

// --- stale banner --------------------------------------------------------

function noteCached(res) {
  const at = res.headers.get(CACHED_HEADER);
  if (at) markStale(Date.parse(at));
}

/** Shows the stale banner: what is on screen is a cached copy from `when` (ms, or NaN if unknown). */
export function markStale(when) {
  const ms = Number.isFinite(when) ? when : NaN;
  if (staleSince === null || (Number.isFinite(ms) && (!Number.isFinite(staleSince) || ms < staleSince))) {
    staleSince = ms;
  }
  renderStale();
}

/** True when something on the page came from the cache. */
export function isStale() {
  return staleSince !== null;
}

function renderStale() {
  if (staleSince === null) return;
  let banner = document.getElementById('mestys-stale');
  if (!banner) {
    banner = el('div', { id: 'mestys-stale', class: 'stale-banner', role: 'status' });
    const header = document.getElementById('site-header');
    if (header) header.after(banner);
    else document.body.prepend(banner);
  }
  const text = Number.isFinite(staleSince)
    ? t('shell.stale', { time: staleTime(staleSince) })
    : t('shell.stale_unknown');
  // back online: the fresh page is one press away
  const reload = navigator.onLine && backOnline
    ? el('button', { type: 'button', class: 'link', on: { click: () => location.reload() } }, t('shell.reload'))
    : null;
  banner.replaceChildren(el('p', {}, text, reload ? ' ' : null, reload));
}

// today: the time; an older copy: date and time
function staleTime(ms) {
  const d = new Date(ms);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) {
    return new Intl.DateTimeFormat(currentLang, { hour: '2-digit', minute: '2-digit' }).format(d);
  }
  return fmt.dateTime(ms);
}

// asks the service worker whether it answered this page itself, and since when
function askWorkerAboutPage() {
  const sw = navigator.serviceWorker;
  if (!sw || !sw.controller) return;
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => {
    if (e.data && e.data.cachedAt) markStale(Date.parse(e.data.cachedAt));
  };
  sw.controller.postMessage({ type: 'page-source', url: location.href }, [channel.port2]);
}

// hands the worker what this page loaded before it controlled the page, so
// even a first visit comes back offline; what needed the token stays out
function offerPageToWorker() {
  const sw = navigator.serviceWorker;
  if (!sw || sw.controller) return; // a controlled page is kept as it loads
  sw.ready.then((reg) => {
    const urls = [location.href];
    for (const entry of performance.getEntriesByType('resource')) {
      if (entry.name.startsWith(location.origin) && !authUrls.has(entry.name)) urls.push(entry.name);
    }
    if (reg.active) reg.active.postMessage({ type: 'keep', urls });
  }).catch(() => {});
}

function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js').then(() => {
    askWorkerAboutPage();
    // once now, and once more when the visitor leaves: what the page fetched meanwhile
    offerPageToWorker();
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') offerPageToWorker();
    });
  }).catch(() => {
    /* no worker (private mode, an old browser): the pages work without the cache */
  });
  window.addEventListener('offline', () => {
    backOnline = false;
    announce(t('shell.offline_now'));
  });
  window.addEventListener('online', () => {
    backOnline = true;
    renderStale();
    announce(t('shell.online_again'));
  });
}

// --- clerk token ---------------------------------------------------------

/** Shows the token form in <main> (once, however many ask) and resolves once a token is accepted. */
export function askToken(message) {
  if (!tokenPrompt) {
    tokenPrompt = tokenForm(message).finally(() => {
      tokenPrompt = null;
    });
  }
  return tokenPrompt;
}

async function checkToken(candidate) {
  let res;
  try {
    res = await fetch('/api/web/session', { headers: { Authorization: 'Bearer ' + candidate } });
  } catch {
    return t('shell.error_network');
  }
  if (res.ok) return null;
  if (res.status === 401) return t('shell.token_wrong');
  if (res.status === 403) return t('shell.token_role');
  return t('shell.error_status', { status: res.status });
}

function tokenForm(message) {
  const main = document.getElementById('main') || document.body;
  // the page's heading stays; the rest waits behind the form
  const hidden = [...main.children].filter((c) => !c.hidden && !(c.tagName === 'H1'));
  for (const c of hidden) c.hidden = true;
  return new Promise((resolve) => {
    const error = el('p', { class: 'error', id: 'mestys-token-error', role: 'alert', hidden: true });
    const input = el('input', {
      id: 'mestys-token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
      required: true, 'aria-describedby': 'mestys-token-intro',
    });
    const submit = el('button', { type: 'submit', class: 'primary', 'data-i18n': 'shell.token_submit' },
      t('shell.token_submit'));
    const form = el('form', { class: 'token-form card', id: 'mestys-token-form', 'aria-labelledby': 'mestys-token-title' },
      el('h2', { id: 'mestys-token-title', 'data-i18n': 'shell.token_title' }, t('shell.token_title')),
      message ? el('p', { class: 'notice' }, message) : null,
      el('p', { id: 'mestys-token-intro', 'data-i18n': 'shell.token_intro' }, t('shell.token_intro')),
      el('div', { class: 'field' },
        el('label', { for: 'mestys-token', 'data-i18n': 'shell.token_label' }, t('shell.token_label')),
        input),
      error,
      el('div', { class: 'actions' }, submit));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const candidate = input.value.trim();
      const fail = (text) => {
        error.textContent = text;
        error.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', 'mestys-token-intro mestys-token-error');
        input.focus();
      };
      if (!candidate) return fail(t('shell.token_empty'));
      submit.disabled = true;
      announce(t('shell.token_checking'));
      const problem = await checkToken(candidate);
      submit.disabled = false;
      if (problem) return fail(problem);
      setToken(candidate);
      form.remove();
      for (const c of hidden) c.hidden = false;
      renderNav();
      announce(t('shell.token_ok'));
      // on to the page the form stood in front of
      if (main.id === 'main') main.focus();
      resolve(candidate);
    });
    const heading = main.querySelector(':scope > h1');
    if (heading) heading.after(form);
    else main.prepend(form);
    input.focus();
  });
}

/** Forgets the token of this session and asks for it again. */
export function logout() {
  setToken(null);
  announce(t('shell.logged_out'));
  location.reload();
}

// --- header, navigation, footer ------------------------------------------

/** The town's name in the current language. */
export function townName() {
  return localized(siteConfig.town && siteConfig.town.name) || t('shell.town_default');
}

function pageHref(prefix, path) {
  let p = String(path || '').replace(/^\.?\//, '');
  p = p.replace(/(^|\/)index\.html$/, '$1');
  return prefix + p;
}

async function loadPages() {
  let mounts = [];
  try {
    mounts = (await api('/api/pages')).mounts || [];
  } catch {
    return [];
  }
  const lists = await Promise.all(mounts.map(async (m) => {
    try {
      const doc = await api(m.prefix + 'pages.json');
      return (doc.pages || []).map((p) => ({
        href: pageHref(m.prefix, p.path),
        title: p.title,
        description: p.description,
        audience: p.audience === 'clerk' ? 'clerk' : 'citizen',
        order: Number.isFinite(p.order) ? p.order : 100,
        instance: m.instance,
        plugin: m.plugin,
      }));
    } catch {
      return []; // a mount without pages.json adds nothing to the menu
    }
  }));
  return lists.flat().sort((a, b) => a.order - b.order || localized(a.title).localeCompare(localized(b.title)));
}

/** The pages of every mount (from /api/pages and each pages.json), in order; filled by start(). */
export function pages(audience) {
  return audience ? sitePages.filter((p) => p.audience === audience) : sitePages.slice();
}

function samePage(href) {
  const here = location.pathname.replace(/index\.html$/, '');
  return href === here;
}

function renderHeader() {
  const header = document.getElementById('site-header');
  if (!header) return;
  const logo = siteConfig.logo
    ? el('img', { class: 'logo', src: siteConfig.logo, alt: '', width: 40, height: 40 })
    : null;
  const langButtons = LANGS.map((l) => el('button', {
    type: 'button', lang: l, 'data-lang': l, 'aria-pressed': String(l === currentLang),
    on: { click: () => setLang(l) },
  }, t('shell.lang_' + l)));
  header.replaceChildren(
    el('div', { class: 'site-bar' },
      el('a', { class: 'brand', href: '/' }, logo, el('span', { class: 'town-name' }, townName())),
      el('div', { class: 'lang-switch', role: 'group', 'aria-label': t('shell.lang'), id: 'mestys-lang' }, langButtons)),
    el('nav', { class: 'site-nav', id: 'site-nav' }));
  renderNav();
}

function renderHeaderText() {
  const name = document.querySelector('#site-header .town-name');
  if (name) name.textContent = townName();
  const group = document.getElementById('mestys-lang');
  if (group) {
    group.setAttribute('aria-label', t('shell.lang'));
    for (const b of group.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.lang === currentLang));
  }
}

function renderNav() {
  const nav = document.getElementById('site-nav');
  if (!nav) return;
  const clerk = siteAudience === 'clerk';
  nav.setAttribute('aria-label', t(clerk ? 'shell.nav_clerk' : 'shell.nav'));
  const link = (href, text) => el('li', {},
    el('a', { href, 'aria-current': samePage(href) ? 'page' : null }, text));
  const items = [link('/', t('shell.home'))];
  for (const p of pages(clerk ? 'clerk' : 'citizen')) items.push(link(p.href, localized(p.title)));
  if (clerk && token()) {
    items.push(el('li', {}, el('button', { type: 'button', class: 'link', on: { click: logout } }, t('shell.logout'))));
  }
  nav.replaceChildren(el('ul', {}, items));
}

function renderFooter() {
  const footer = document.getElementById('site-footer');
  if (!footer) return;
  const other = siteAudience === 'clerk'
    ? el('a', { href: '/' }, t('shell.footer_public'))
    : el('a', { href: '/#clerk' }, t('shell.footer_clerk'));
  footer.replaceChildren(el('p', {}, t('shell.footer', { town: townName() }), ' · ', other));
}

// --- start ---------------------------------------------------------------

/**
 * Sets the page up: config, language, header, navigation, footer, strings,
 * the service worker; for audience 'clerk' resolves only once the operator
 * token is known.  Resolves with {lang, config}.
 */
export async function start({ audience = 'citizen' } = {}) {
  siteAudience = audience === 'clerk' ? 'clerk' : 'citizen';
  const [conf, list] = await Promise.all([
    api('/api/web/config').catch(() => null),
    loadPages(),
  ]);
  if (conf) siteConfig = Object.assign(defaultConfig(), conf);
  sitePages = list;
  currentLang = initialLang();
  document.documentElement.lang = currentLang;
  liveRegion();
  renderHeader();
  renderFooter();
  applyStrings();
  renderStale();
  registerWorker();
  document.documentElement.dataset.shell = 'ready';
  if (siteAudience === 'clerk' && !token()) await askToken();
  return { lang: currentLang, config: siteConfig };
}

// --- formatting ----------------------------------------------------------

// UCUM codes the sensors send, as people write them
const UNITS = { Cel: '°C', '%RH': '%', 'kW.h': 'kWh', 'km/h': 'km/h', 'ug/m3': 'µg/m³', 'm3': 'm³' };

function toMs(v) {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') return Date.parse(v);
  return Number(v);
}

export const fmt = {
  /** A number with `digits` decimals (default: up to 2). */
  number(v, digits) {
    if (v === null || v === undefined || Number.isNaN(Number(v))) return '–';
    const o = digits === undefined ? { maximumFractionDigits: 2 } : { minimumFractionDigits: digits, maximumFractionDigits: digits };
    return new Intl.NumberFormat(currentLang, o).format(Number(v));
  },
  /** A unit as people write it: UCUM "Cel" -> "°C". */
  unitLabel(unit) {
    return UNITS[unit] || unit || '';
  },
  /** A value with its unit ("21,3 °C"). */
  unit(v, unit, digits) {
    const u = fmt.unitLabel(unit);
    const n = fmt.number(v, digits);
    return u ? n + '\u00a0' + u : n;
  },
  /** An amount of money ("1 234,50 Kč" / "CZK 1,234.50"). */
  money(amount, currency = 'CZK') {
    if (amount === null || amount === undefined) return '–';
    return new Intl.NumberFormat(currentLang, { style: 'currency', currency }).format(Number(amount));
  },
  /** A date (ms since 1970 or ISO 8601). */
  date(v) {
    const ms = toMs(v);
    if (!Number.isFinite(ms)) return '–';
    return new Intl.DateTimeFormat(currentLang, { dateStyle: 'medium' }).format(ms);
  },
  /** Date and time, to the minute. */
  dateTime(v) {
    const ms = toMs(v);
    if (!Number.isFinite(ms)) return '–';
    return new Intl.DateTimeFormat(currentLang, { dateStyle: 'medium', timeStyle: 'short' }).format(ms);
  },
  /**
   * How long ago: a time (ms since 1970 or ISO 8601) or, for a number below
   * 1e11 (about three years of ms), an age in ms.  "před 5 min" / "5 min ago".
   */
  age(v) {
    let ms = toMs(v);
    if (!Number.isFinite(ms)) return '–';
    if (typeof v !== 'number' || ms > 1e11) ms = Date.now() - ms;
    const s = Math.max(0, Math.round(ms / 1000));
    const rtf = new Intl.RelativeTimeFormat(currentLang, { numeric: 'always', style: 'short' });
    if (s < 60) return rtf.format(-s, 'second');
    if (s < 3600) return rtf.format(-Math.floor(s / 60), 'minute');
    if (s < 86400) return rtf.format(-Math.floor(s / 3600), 'hour');
    return rtf.format(-Math.floor(s / 86400), 'day');
  },
};
