// What every citizen page of a budget shares: where its API is, the budget
// named in the address (?b=<id>), the phase and what comes next, and the
// links between the budget's pages.
import { api, el, fmt, t, lang } from '/lib/app.js';
import './strings.js';

// The instance is the first segment of the page's path (/voting/…): its API
// is /api/<instance>/ (plan §2), so a second voting instance works as is.
export const instance = location.pathname.split('/')[1] || 'voting';
export const API = `/api/${instance}/`;

export const PHASES = ['proposals', 'review', 'voting', 'counting', 'results'];

export function tp(key, n, vars = {}) {
  const form = new Intl.PluralRules(lang()).select(n);
  const full = `${key}.${form}`;
  const text = t(full, { n, ...vars });
  // a language without that form (English "few") falls back to "other"
  return text === full ? t(`${key}.other`, { n, ...vars }) : text;
}

// Whole amounts without decimals ("450 000 Kč"): budgets and costs are whole
// units; a share of the budget per voter keeps its two.
export function money(amount, b) {
  if (!Number.isInteger(amount)) return fmt.money(amount, b.currency || 'CZK');
  return new Intl.NumberFormat(lang(), { style: 'currency', currency: b.currency || 'CZK', maximumFractionDigits: 0,
    minimumFractionDigits: 0 }).format(amount);
}

export function budgetId() {
  return new URLSearchParams(location.search).get('b');
}

export function pageUrl(page, id) {
  return `${page}?b=${encodeURIComponent(id)}`;
}

export async function loadBudgets() {
  return (await api(`${API}budgets`)).budgets;
}

export async function loadBudget(id) {
  return api(`${API}budgets/${encodeURIComponent(id)}`);
}

export async function loadProposals(id) {
  return (await api(`${API}budgets/${encodeURIComponent(id)}/proposals`)).proposals;
}

// What is happening now and what comes next, with the date the budget's
// config gives for the next phase (null: the town hall decides).  compact:
// the phase's name as a badge (a list of budgets); otherwise the five
// phases as steps, the current one marked.
export function phaseBox(b, { compact = false } = {}) {
  const next = { proposals: 'review', review: 'voting', voting: 'counting' }[b.phase];
  const date = next && b.dates ? b.dates[next] : null;
  const nextKey = `voting.next.${b.phase}${date ? '.date' : ''}`;
  const nextLine = el('p', { class: 'phase-next' }, el('strong', {}, `${t('voting.next')}: `),
    t(nextKey, { date: date ? fmt.dateTime(date) : '' }));
  if (compact) {
    return el('div', { class: 'phase-box compact' },
      el('p', { class: 'phase-now' }, el('span', { class: `badge ${phaseClass(b.phase)}` }, t(`voting.ph.${b.phase}`)),
        ' ', t(`voting.now.${b.phase}`)), nextLine);
  }
  return el('section', { class: 'card phase-box', 'aria-label': t('voting.phase_label') },
    phaseSteps(b.phase),
    el('p', { class: 'phase-now' }, el('strong', {}, `${t('voting.now')}: `), t(`voting.now.${b.phase}`)),
    nextLine);
}

function phaseClass(phase) {
  return { voting: 'st-ok', results: 'st-ok', counting: 'st-busy' }[phase] || 'st-unknown';
}

// The five phases as an ordered list, the current one marked for screen
// readers too (aria-current), so "what comes next" is visible at a glance.
function phaseSteps(current) {
  const at = PHASES.indexOf(current);
  return el('ol', { class: 'phase-steps' }, ...PHASES.map((p, i) =>
    el('li', { class: i < at ? 'done' : i === at ? 'current' : 'later', ...(i === at ? { 'aria-current': 'step' } : {}) },
      t(`voting.ph.${p}`))));
}

// Links to this budget's other pages, only those that make sense in its
// phase; `here` is the page showing them (null: the list of budgets).
export function budgetLinks(b, here) {
  const links = [['budget.html', 'voting.link.proposals']];
  if (b.phase === 'voting') links.push(['vote.html', 'voting.link.vote']);
  if (b.phase === 'results') {
    links.push(['results.html', 'voting.link.results']);
    links.push(['receipt.html', 'voting.link.receipt']);
  }
  const link = ([page, key]) => el('li', {}, el('a', {
    href: pageUrl(page, b.id), 'aria-current': page === here ? 'page' : null,
    class: page === 'vote.html' && page !== here ? 'button' : null }, t(key)));
  return el('nav', { class: 'budget-links', 'aria-label': t('voting.budget_nav', { name: b.name || b.id }) },
    el('ul', {}, ...links.map(link), ...(here ? [el('li', { class: 'back' }, el('a', { href: './' }, t('voting.back')))] : [])));
}

// A page opened without ?b=: the budgets to choose from, as links to the
// same page (or the only one, directly).
export async function pickBudget(container, page, filter = () => true) {
  const id = budgetId();
  if (id) return id;
  const all = await loadBudgets();
  const fit = all.filter(filter);
  if (fit.length === 1) {
    history.replaceState(null, '', pageUrl(page, fit[0].id));
    return fit[0].id;
  }
  container.append(el('h2', {}, t('voting.pick')),
    fit.length ? el('ul', { class: 'budget-pick' }, ...fit.map((b) =>
      el('li', {}, el('a', { href: pageUrl(page, b.id) }, b.name || b.id))))
      : el('p', {}, t('voting.none')));
  return null;
}

// The page's <h1> and the window's title, which say the same.
export function setHeading(text) {
  document.getElementById('title').textContent = text;
  document.title = text;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}
