// Paper ballots entered twice: each clerk types the ballot's code and what
// the voter marked; the server keeps the first entry and casts the ballot
// when a second clerk (another token) enters the same.  When they differ,
// neither counts: the clerk looks at the paper and discards the entries.
import { start, api, el, t, token, announce, onLangChange, showError } from '/lib/app.js';
import { money, clear, manage, loadStatus, budgetOf, adminHeader, confirmAction, statusLine, say } from './admin.js';

const page = document.getElementById('page');
let b = null;
let projects = [];
let said = null; // [text, kind, code of a disagreement]

// This page sends the token itself, not with api()'s auth: the paper route
// answers 403 for a code that is not this budget's, which is not a reason
// to ask the clerk for their token again.
function post(body) {
  return api(manage(b.id, 'paper'), { method: 'POST', body, headers: { Authorization: `Bearer ${token()}` } });
}

async function refresh() {
  b = await loadStatus(b.id);
}

// What makes the paper valid, said without declining a number.
function validity(r) {
  if (r.type === 'cumulative') return t('adm.pap.rules.points', { points: r.points });
  return r.max_projects ? t('adm.pap.rules.range', { min: r.min_projects, max: r.max_projects })
    : t('adm.pap.rules.min', { min: r.min_projects });
}

function choice(p) {
  const id = `choice-${p.id}`;
  const label = `${p.id}. ${p.title} (${money(p.cost, b)})`;
  if (b.ballot.type === 'cumulative') {
    return el('div', { class: 'choice choice-points' },
      el('label', { for: id }, label),
      el('input', { id, type: 'number', min: 0, step: 1, value: 0, inputmode: 'numeric', 'data-project': p.id }));
  }
  return el('div', { class: 'choice' },
    el('input', { id, type: 'checkbox', 'data-project': p.id }),
    el('label', { for: id }, label));
}

function ballotOf(form) {
  const code = form.querySelector('#paper-code').value.trim();
  const inputs = [...form.querySelectorAll('[data-project]')];
  if (b.ballot.type === 'cumulative') {
    const points = {};
    for (const i of inputs) if (Number(i.value) > 0) points[i.dataset.project] = Number(i.value);
    return { code, points };
  }
  return { code, projects: inputs.filter((i) => i.checked).map((i) => Number(i.dataset.project)) };
}

async function discard(code) {
  const ok = await confirmAction({
    title: t('adm.pap.discard_confirm', { code }),
    text: [t('adm.pap.discard_what')],
    yes: t('adm.pap.discard'),
  });
  if (!ok) return;
  try {
    await post({ code, discard: true });
    said = [t('adm.pap.discarded'), 'ok'];
  } catch (err) {
    said = [t('adm.server', { message: err.message }), 'error'];
  }
  await done();
}

// After an answer: figures again, the form empty for the next paper, the
// sentence read out.
async function done() {
  await refresh().catch(() => {});
  render();
  announce(said[0]);
  document.getElementById('paper-code').focus();
}

function entryForm() {
  const r = b.ballot;
  const form = el('form', { id: 'paper-form', 'aria-labelledby': 'paper-title', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'paper-code' }, t('adm.pap.code')),
      el('p', { class: 'hint', id: 'paper-code-hint' }, t('adm.pap.code_hint')),
      el('input', {
        id: 'paper-code', type: 'text', class: 'code-input', autocomplete: 'off', spellcheck: 'false', required: true,
        'aria-describedby': 'paper-code-hint',
      })),
    el('fieldset', { class: 'paper-choices' }, el('legend', {}, t('adm.pap.choices')),
      el('p', { class: 'hint' }, validity(r)),
      ...projects.map(choice)),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'paper-enter' }, t('adm.pap.enter'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ballot = ballotOf(form);
    // the form is emptied for the next paper: the answer names the one it was about
    const which = t('adm.pap.which', { code: ballot.code.toUpperCase() });
    if (!ballot.code) {
      form.querySelector('#paper-code').focus();
      return;
    }
    try {
      const answer = await post(ballot);
      said = [`${which} ${answer.receipt ? t('adm.pap.counted', { receipt: answer.receipt }) : t('adm.pap.waiting')}`, 'ok'];
    } catch (err) {
      const state = err.body && err.body.paper;
      if (state === 'disagreement') said = [`${which} ${t('adm.pap.disagree')}`, 'error', ballot.code];
      else if (state === 'waiting') said = [`${which} ${t('adm.pap.mine')}`, 'error'];
      else said = [`${which} ${t('adm.server', { message: err.message })}`, 'error'];
    }
    await done();
  });
  return form;
}

function discardForm() {
  const form = el('form', { 'aria-labelledby': 'discard-title' },
    el('p', { class: 'hint' }, t('adm.pap.discard_hint')),
    el('div', { class: 'field' }, el('label', { for: 'discard-code' }, t('adm.pap.code')),
      el('input', { id: 'discard-code', type: 'text', class: 'code-input', autocomplete: 'off', spellcheck: 'false' })),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'danger' }, t('adm.pap.discard_by_code'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const code = form.querySelector('#discard-code').value.trim();
    if (code) discard(code);
  });
  return el('section', { class: 'card', 'aria-labelledby': 'discard-title' },
    el('h2', { id: 'discard-title' }, t('adm.pap.discard_title')), form);
}

function render() {
  clear(page);
  document.title = t('adm.pap.title');
  document.getElementById('title').textContent = t('adm.pap.title');
  page.append(...adminHeader(b, 'paper.html'));
  if (b.ballot.eligibility !== 'codes') {
    page.append(el('p', { class: 'notice' }, t('adm.summary.no_codes')));
    return;
  }
  if (b.phase !== 'voting') {
    page.append(el('p', { class: 'notice' }, t('adm.pap.closed')));
    return;
  }
  const line = statusLine('paper-status');
  if (said) {
    const [text, kind, code] = said;
    say(line, text, kind, code ? el('div', { class: 'actions' }, el('button', {
      type: 'button', class: 'danger', id: 'paper-discard', on: { click: () => discard(code) },
    }, t('adm.pap.discard'))) : null);
  }
  page.append(el('p', {}, t('adm.pap.intro')),
    el('p', { id: 'paper-summary' }, t('adm.summary.paper', b.paper)),
    el('section', { class: 'card', 'aria-labelledby': 'paper-title' },
      el('h2', { id: 'paper-title' }, t('adm.pap.enter')), line, entryForm()),
    discardForm());
}

start({ audience: 'clerk' }).then(async () => {
  try {
    b = await budgetOf(page, 'paper.html');
    if (!b) return;
    projects = (await api(manage(b.id, 'proposals'), { auth: true })).proposals.filter((p) => p.feasible === true);
    render();
    onLangChange(render);
  } catch (err) {
    showError(page, err);
  }
});
