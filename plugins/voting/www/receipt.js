// Checking a receipt once the results are out.  Where the browser can hash
// (a secure context), the page downloads the whole published ballot list
// and looks for SHA-256 of the receipt in it, so the server never learns
// which ballot is the voter's; elsewhere (or for a receipt not found, to
// tell a typing mistake) it asks GET budgets/<id>/receipt.
import { start, api, el, t, onLangChange, showError, announce } from '/lib/app.js';
import { API, loadBudget, loadProposals, phaseBox, budgetLinks, pickBudget, clear, setHeading } from './common.js';
import { normaliseCode, groupCode } from './ballot-rules.js';

const page = document.getElementById('page');
const state = { budget: null, proposals: [], typed: '', verdict: null, busy: false };

async function sha256hex(text) {
  const md = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(md)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// The VOTES row whose voter_id is `hash` in a published .pb file, as
// {projects: [ids], points: [n] | null}, or null.
export function findInPb(text, hash) {
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex((l) => l.trim() === 'VOTES');
  if (at < 0) return null;
  const head = lines[at + 1].split(';');
  const col = (name) => head.indexOf(name);
  for (const line of lines.slice(at + 2)) {
    const f = line.split(';');
    if (f[col('voter_id')] !== hash) continue;
    const list = (s) => (s ? s.replace(/"/g, '').split(',').filter(Boolean) : []);
    return { projects: list(f[col('vote')]), points: col('points') >= 0 ? list(f[col('points')]).map(Number) : null };
  }
  return null;
}

// The server's sealed line "<hash>;<ids>[;<points>]" read the same way.
function fromSealed(sealed) {
  const f = sealed.split(';');
  const list = (s) => (s ? s.split(',').filter(Boolean) : []);
  return { projects: list(f[1]), points: f.length > 2 ? list(f[2]).map(Number) : null };
}

async function check(ev) {
  ev.preventDefault();
  const receipt = normaliseCode(state.typed);
  if (!receipt) {
    state.verdict = { kind: 'bad' };
    render(true);
    return;
  }
  state.busy = true;
  announce(t('check.checking'));
  const base = `${API}budgets/${encodeURIComponent(state.budget.id)}/`;
  try {
    let ballot = null;
    let hash = null;
    if (globalThis.crypto && crypto.subtle) {
      hash = await sha256hex(receipt);
      ballot = findInPb(await api(`${base}ballots.pb`, { raw: 'text' }), hash);
    }
    if (!ballot) {
      // not found here (or no hashing): the server tells a typing mistake from a missing ballot
      try {
        const answer = await api(`${base}receipt?receipt=${encodeURIComponent(groupCode(receipt))}`);
        hash = answer.receipt_hash;
        ballot = fromSealed(answer.sealed);
      } catch (err) {
        if (err.status !== 404) throw err;
      }
    }
    state.verdict = ballot ? { kind: 'found', hash, ballot } : { kind: 'missing' };
  } catch (err) {
    state.verdict = { kind: err.status === 400 ? 'typo' : 'error', err };
  }
  state.busy = false;
  render(true);
}

function verdictView() {
  const v = state.verdict;
  if (v.kind === 'error') {
    const box = el('div', { id: 'verdict', tabindex: '-1' });
    showError(box, v.err);
    return box;
  }
  if (v.kind === 'found') {
    const names = new Map(state.proposals.map((p) => [String(p.id), p.title]));
    const items = v.ballot.projects.map((id, i) => el('li', {}, v.ballot.points
      ? t('check.points', { title: names.get(id) || id, points: v.ballot.points[i] }) : names.get(id) || id));
    return el('section', { id: 'verdict', class: 'card verdict found', tabindex: '-1', 'aria-labelledby': 'verdict-h' },
      el('h2', { id: 'verdict-h' }, el('span', { class: 'badge st-ok' }, '✓'), ' ', t('check.found')),
      el('p', { class: 'hash' }, t('check.found_text', { hash: v.hash })),
      el('p', {}, t('check.voted_for')), el('ul', { class: 'voted-for' }, ...items));
  }
  const key = { missing: 'check.not_found', bad: 'check.bad', typo: 'check.typo' }[v.kind];
  return el('section', { id: 'verdict', class: 'card verdict error', tabindex: '-1', 'aria-labelledby': 'verdict-h' },
    el('h2', { id: 'verdict-h' }, t(key)), ...(v.kind === 'missing' ? [el('p', {}, t('check.not_found_text'))] : []));
}

function render(focusVerdict = false) {
  clear(page);
  const b = state.budget;
  setHeading(`${t('check.title')}: ${b.name || b.id}`);
  page.append(el('p', { class: 'lead' }, t('check.intro')));
  if (b.phase !== 'results') {
    page.append(phaseBox(b), el('p', { class: 'notice' }, t('check.not_yet')), budgetLinks(b, 'receipt.html'));
    return;
  }
  page.append(el('form', { id: 'check', novalidate: '', on: { submit: check } },
    el('div', { class: 'field' },
      el('label', { for: 'receipt' }, t('check.receipt')),
      el('p', { id: 'receipt-hint', class: 'hint' }, t('check.hint')),
      el('input', { id: 'receipt', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters',
        class: 'code-input', 'aria-describedby': 'receipt-hint', value: state.typed,
        on: { input: (e) => { state.typed = e.target.value; } } })),
    el('button', { type: 'submit', class: 'primary' }, t('check.submit')),
    ...(globalThis.crypto && crypto.subtle ? [el('p', { class: 'hint' }, t('check.private'))] : [])));
  if (state.verdict) page.append(verdictView());
  page.append(budgetLinks(b, 'receipt.html'));
  if (focusVerdict && state.verdict) {
    document.getElementById('verdict').focus();
    announce(document.getElementById('verdict').textContent);
  }
}

start({ audience: 'citizen' }).then(async () => {
  try {
    const id = await pickBudget(page, 'receipt.html');
    if (!id) return;
    [state.budget, state.proposals] = await Promise.all([loadBudget(id), loadProposals(id)]);
    render();
    onLangChange(() => render());
  } catch (err) {
    showError(page, err);
  }
});
