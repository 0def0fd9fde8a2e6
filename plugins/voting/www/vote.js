// The ballot: the projects as the budget's rules allow choosing them, the
// code from the letter, and then the receipt.  The page refuses what the
// rules forbid as it is chosen (and says why); the server checks the same
// again and its refusal is shown in words a voter can act on.
import { start, api, el, t, onLangChange, showError, announce } from '/lib/app.js';
import { downloadText } from '/lib/download.js';
import { API, loadBudget, loadProposals, phaseBox, budgetLinks, money, pickBudget, clear, setHeading, tp, pageUrl } from './common.js';
import { refusal, spentOn, pointsGiven, count, missing, ballotBody, normaliseCode, codeChecks, groupCode } from './ballot-rules.js';

const page = document.getElementById('page');

const state = {
  budget: null,
  projects: [],     // the feasible proposals: what is on the ballot
  choice: {},       // project id → 1 (chosen) or points
  code: '',
  oldReceipt: '',
  refused: null,    // the last choice the page refused: {key, vars}
  problems: null,   // why the ballot cannot be sent yet (after a try)
  error: null,      // the server's refusal
  sending: false,
  receipt: null,    // the answer once the ballot is stored
};

const rules = () => state.budget.ballot;
const fmtMoney = (v) => money(v, state.budget);

function ruleSentences() {
  const r = rules();
  const out = [];
  const min = r.min_projects;
  const max = r.max_projects;
  if (max > 0 && min === max) out.push(tp('vote.choose.exact', max));
  else if (max > 0) out.push(tp('vote.choose.range', max, { min, max }));
  else if (min > 0) out.push(tp('vote.choose.atleast', min));
  else out.push(t('vote.choose.any'));
  if (r.type === 'knapsack') {
    out.push(t('vote.knapsack', { amount: fmtMoney(r.amount) }));
    if (r.min_share > 0) out.push(t('vote.knapsack.min', { min: fmtMoney(Math.ceil(r.min_share * r.amount)) }));
  }
  if (r.type === 'cumulative') {
    out.push(t('vote.points', { points: r.points }));
    if (r.max_points > 0) out.push(t('vote.points.max', { max: r.max_points }));
  }
  if (r.replace) out.push(t('vote.replace'));
  return out;
}

function refusalText(ref) {
  const vars = { ...ref.vars };
  if ('cost' in vars) vars.cost = fmtMoney(vars.cost);
  if ('left' in vars) vars.left = fmtMoney(vars.left);
  return t(ref.key, vars);
}

// What the voter has chosen so far: a count, the budget bar, or the points.
function tally() {
  const r = rules();
  const n = count(state.choice);
  const parts = [el('p', { class: 'tally-count' }, tp('vote.selected', n),
    r.max_projects > 0 ? ` ${t('vote.of_max', { max: r.max_projects })}` : '')];
  if (r.type === 'knapsack') {
    const spent = spentOn(state.projects, state.choice);
    parts.push(el('p', { id: 'bar-text' }, t('vote.spent', { spent: fmtMoney(spent), amount: fmtMoney(r.amount) }),
      ' · ', el('strong', {}, t('vote.left', { left: fmtMoney(r.amount - spent) }))),
    bar(spent, r.amount));
  }
  if (r.type === 'cumulative') {
    parts.push(el('p', {}, t('vote.points_used', { used: pointsGiven(state.choice), points: r.points })));
  }
  return parts;
}

// The bar is drawn for the eye; the sentence above it says the same in words.
function bar(spent, amount) {
  const fill = el('span', { class: 'fill' });
  fill.style.width = `${Math.min(100, (100 * spent) / amount)}%`; // CSSOM: the CSP allows it, unlike style=""
  return el('div', { class: 'budget-bar', 'aria-hidden': 'true' }, fill);
}

function tallyText() {
  return [...document.querySelectorAll('#tally p')].map((p) => p.textContent).join(' ');
}

function refreshTally(refused) {
  state.refused = refused;
  document.getElementById('tally').replaceChildren(...tally());
  const box = document.getElementById('refused');
  box.replaceChildren(...(refused ? [el('p', {}, refusalText(refused))] : []));
  box.hidden = !refused;
  markUnaffordable();
  announce(refused ? refusalText(refused) : tallyText());
}

// Knapsack: the projects that no longer fit say so (in words, not colour alone).
function markUnaffordable() {
  if (rules().type !== 'knapsack') return;
  const spent = spentOn(state.projects, state.choice);
  for (const p of state.projects) {
    const tag = document.getElementById(`fit-${p.id}`);
    if (tag) tag.hidden = state.choice[p.id] > 0 || spent + p.cost <= rules().amount;
  }
}

function onCheck(p, input) {
  if (!input.checked) {
    delete state.choice[p.id];
    refreshTally(null);
    return;
  }
  const ref = refusal(rules(), state.projects, state.choice, p.id, 1);
  if (ref) {
    input.checked = false;
    refreshTally({ ...ref, vars: { ...ref.vars, title: p.title } });
    return;
  }
  state.choice[p.id] = 1;
  refreshTally(null);
}

function onPoints(p, input) {
  let value = Number.parseInt(input.value, 10);
  if (!Number.isFinite(value) || value < 0) value = 0;
  let ref = value > 0 ? refusal(rules(), state.projects, state.choice, p.id, value) : null;
  if (ref) {
    // keep the most this project may still have
    const r = rules();
    const room = r.points - pointsGiven(state.choice, p.id);
    value = Math.max(0, Math.min(value, room, r.max_points > 0 ? r.max_points : value));
    if (refusal(rules(), state.projects, state.choice, p.id, value)) value = state.choice[p.id] || 0;
    input.value = String(value);
  }
  if (value > 0) state.choice[p.id] = value;
  else delete state.choice[p.id];
  refreshTally(ref ? { ...ref, vars: { ...ref.vars, title: p.title } } : null);
}

function projectRow(p) {
  const r = rules();
  const facts = el('span', { class: 'choice-cost' }, fmtMoney(p.cost));
  if (r.type === 'cumulative') {
    const input = el('input', { type: 'number', id: `pp-${p.id}`, min: '0', step: '1', inputmode: 'numeric',
      max: String(r.max_points > 0 ? Math.min(r.max_points, r.points) : r.points), value: String(state.choice[p.id] || 0),
      on: { change: (e) => onPoints(p, e.target) } });
    return el('li', { class: 'choice choice-points' },
      el('label', { for: `pp-${p.id}` }, el('span', { class: 'choice-title' }, p.title), ' ', facts,
        el('span', { class: 'visually-hidden' }, t('vote.points_suffix'))), input);
  }
  const input = el('input', { type: 'checkbox', id: `pc-${p.id}`, 'data-project': String(p.id),
    on: { change: (e) => onCheck(p, e.target) } });
  input.checked = state.choice[p.id] > 0;
  return el('li', { class: 'choice' }, input,
    el('label', { for: `pc-${p.id}` }, el('span', { class: 'choice-title' }, p.title), ' ', facts,
      ...(r.type === 'knapsack' ? [' ', el('span', { class: 'badge st-warn', id: `fit-${p.id}`, hidden: '' },
        t('vote.doesnt_fit'))] : [])));
}

// The server's refusal in words a voter can act on, with its own sentence.
function serverError(err) {
  const m = String(err.message || '');
  let key = 'vote.err.other';
  if (err.status === 409 && /already voted/.test(m)) key = rules().replace ? 'vote.err.used_replace' : 'vote.err.used';
  else if (err.status === 409) key = 'vote.err.phase';
  else if (err.status === 400 && /voting code/.test(m)) key = 'vote.err.code';
  else if (err.status === 400 && /receipt/.test(m)) key = 'vote.err.receipt';
  else if (err.status === 400) key = 'vote.err.ballot';
  else if (err.status === 403 && /receipt/.test(m)) key = 'vote.err.receipt';
  else if (err.status === 403) key = 'vote.err.unknown';
  else if (err.status === 503) key = 'vote.err.busy';
  return { key, message: m };
}

async function submit(ev) {
  ev.preventDefault();
  if (state.sending) return;
  state.error = null;
  const problems = missing(rules(), state.projects, state.choice).map((p) =>
    (p.n !== undefined ? tp(p.key, p.n) : t(p.key, { min: fmtMoney(p.vars.min) })));
  const code = normaliseCode(state.code);
  if (!code) problems.push(t('vote.code_bad'));
  else if (!codeChecks(code)) problems.push(t('vote.err.code'));
  state.problems = problems.length ? problems : null;
  if (problems.length) {
    render();
    document.getElementById('problems').focus();
    return;
  }
  state.sending = true;
  announce(t('vote.sending'));
  const body = { code: groupCode(code), ...ballotBody(rules(), state.choice) };
  if (rules().replace && state.oldReceipt.trim()) body.receipt = state.oldReceipt.trim();
  try {
    state.receipt = await api(`${API}budgets/${encodeURIComponent(state.budget.id)}/ballots`, { method: 'POST', body });
    state.code = '';
    state.oldReceipt = '';
  } catch (err) {
    state.error = err && err.status ? serverError(err) : { key: 'vote.err.other', message: String(err.message || err) };
  }
  state.sending = false;
  render();
  const focus = document.getElementById(state.receipt ? 'receipt-heading' : 'vote-error');
  if (focus) focus.focus();
}

function form() {
  const r = rules();
  const rows = state.projects.map(projectRow);
  const code = el('input', { id: 'code', name: 'code', type: 'text', autocomplete: 'off', autocapitalize: 'characters',
    spellcheck: 'false', 'aria-describedby': 'code-hint', value: state.code, class: 'code-input',
    on: { input: (e) => { state.code = e.target.value; } } });
  const fields = [el('label', { for: 'code' }, t('vote.code')), el('p', { id: 'code-hint', class: 'hint' }, t('vote.code_hint')), code];
  if (r.replace) {
    fields.push(el('label', { for: 'old-receipt' }, t('vote.old_receipt')),
      el('input', { id: 'old-receipt', type: 'text', autocomplete: 'off', spellcheck: 'false', class: 'code-input',
        value: state.oldReceipt, on: { input: (e) => { state.oldReceipt = e.target.value; } } }));
  }
  return el('form', { id: 'ballot', novalidate: '', on: { submit } },
    el('fieldset', { class: 'ballot-projects' }, el('legend', {}, t(r.type === 'cumulative' ? 'vote.points_step' : 'vote.step1')),
      el('div', { id: 'tally', class: 'tally' }, ...tally()),
      state.refused ? el('div', { id: 'refused', class: 'error' }, el('p', {}, refusalText(state.refused)))
        : el('div', { id: 'refused', class: 'error', hidden: '' }),
      el('ul', { class: 'choices' }, ...rows)),
    el('fieldset', {}, el('legend', {}, t('vote.step2')), el('div', { class: 'field' }, ...fields)),
    el('fieldset', {}, el('legend', {}, t('vote.step3')),
      ...(state.problems ? [el('div', { id: 'problems', class: 'error', tabindex: '-1' },
        el('p', {}, t('vote.check_first')), el('ul', {}, ...state.problems.map((p) => el('li', {}, p))))] : []),
      ...(state.error ? [el('div', { id: 'vote-error', class: 'error', tabindex: '-1', role: 'alert' },
        el('p', {}, t(state.error.key)),
        ...(state.error.message ? [el('p', { class: 'server-said' }, t('vote.server_said', { message: state.error.message }))] : []))] : []),
      el('button', { type: 'submit', class: 'primary' }, t('vote.submit'))));
}

function receiptView() {
  const rc = state.receipt;
  const name = state.budget.name || state.budget.id;
  const checkUrl = new URL(pageUrl('receipt.html', state.budget.id), location.href).href;
  const save = () => downloadText(`uctenka-${state.budget.id}.txt`, 'text/plain;charset=utf-8',
    `${t('receipt.file_title', { name })}\n\n${rc.receipt}\n\n${t('receipt.file_check', { url: checkUrl })}\n`);
  return el('section', { class: 'card receipt', 'aria-labelledby': 'receipt-heading' },
    el('h2', { id: 'receipt-heading', tabindex: '-1' }, t('receipt.done')),
    ...(rc.replaced ? [el('p', {}, t('receipt.replaced'))] : []),
    el('p', { class: 'receipt-label', id: 'receipt-label' }, t('receipt.yours')),
    el('p', { class: 'receipt-code', id: 'receipt-code', 'aria-labelledby': 'receipt-label' }, rc.receipt),
    el('p', {}, t('receipt.keep')),
    el('p', {}, el('strong', {}, t('receipt.secret'))),
    el('p', { class: 'actions' },
      el('button', { type: 'button', class: 'primary', on: { click: save } }, t('receipt.download')), ' ',
      el('button', { type: 'button', on: { click: () => window.print() } }, t('receipt.print'))),
    el('h3', {}, t('receipt.check_later')),
    el('p', {}, t('receipt.check_how'), ' ', el('a', { href: pageUrl('receipt.html', state.budget.id) }, t('check.title')), '.'),
    el('p', {}, el('a', { href: './' }, t('voting.back'))));
}

function render() {
  clear(page);
  const b = state.budget;
  setHeading(t('vote.title', { name: b.name || b.id }));
  if (state.receipt) {
    page.append(receiptView());
    return;
  }
  page.append(phaseBox(b), budgetLinks(b, 'vote.html'));
  if (b.phase !== 'voting') {
    page.append(el('p', { class: 'notice' }, t('vote.closed')));
    return;
  }
  if (b.ballot.eligibility !== 'codes') {
    page.append(el('p', { class: 'notice' }, t('vote.not_codes')));
    return;
  }
  page.append(el('section', { class: 'card rules', 'aria-labelledby': 'rules-heading' },
    el('h2', { id: 'rules-heading' }, t('vote.rules')),
    el('ul', {}, ...ruleSentences().map((s) => el('li', {}, s)))), form());
  markUnaffordable();
}

start({ audience: 'citizen' }).then(async () => {
  try {
    const id = await pickBudget(page, 'vote.html');
    if (!id) return;
    const [budget, proposals] = await Promise.all([loadBudget(id), loadProposals(id)]);
    state.budget = budget;
    state.projects = proposals.filter((p) => p.feasible === true);
    render();
    onLangChange(render);
  } catch (err) {
    showError(page, err);
  }
});
