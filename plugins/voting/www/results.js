// The results once counting has ended: the winners, every project with the
// reason it won or not (the count's own explanation, GET budgets/<id>/results),
// what greedy by votes would have chosen instead, and the files to recount.
import { start, api, el, t, fmt, onLangChange, showError } from '/lib/app.js';
import { downloadText, toCSV } from '/lib/download.js';
import { API, loadBudget, phaseBox, budgetLinks, money, pickBudget, clear, setHeading } from './common.js';

const page = document.getElementById('page');
const state = { budget: null, result: null };

const fmtMoney = (v) => money(v, state.budget);
const ruleName = () => t(`rule.${state.budget.ballot.rule}`);
const verdict = (selected) => el('span', { class: `badge ${selected ? 'st-ok' : 'st-off'}` },
  t(selected ? 'results.yes' : 'results.no'));

function projects() {
  return [...state.result.explanation.projects].sort((a, b) =>
    (b.selected - a.selected) || (b.votes - a.votes) || (a.cost - b.cost));
}

function summary(ex) {
  const winners = projects().filter((p) => p.selected);
  const mes = ex.rule === 'mes';
  return el('section', { class: 'card', 'aria-labelledby': 'summary-h' },
    el('h2', { id: 'summary-h' }, t('results.summary')),
    el('p', {}, t('results.ballots', { n: fmt.number(state.result.ballots) })),
    el('p', {}, t('results.rule', { rule: ruleName() })),
    el('p', { class: 'hint' }, t(mes ? 'rule.explain.mes' : 'rule.explain.greedy'),
      ...(mes && ex.per_voter_budget ? [' ', t('results.per_voter', { share: fmtMoney(ex.budget / ex.voters) })] : [])),
    el('p', {}, t('results.spent', { spent: fmtMoney(ex.total_cost), amount: fmtMoney(state.budget.amount) })),
    el('h3', {}, t('results.winners')),
    winners.length ? el('ol', { class: 'winners', id: 'winners' }, ...winners.map((p) =>
      el('li', { 'data-project': p.id }, el('strong', {}, p.name || p.id), ` (${fmtMoney(p.cost)})`)))
      : el('p', {}, t('results.none_won')));
}

function table() {
  const cols = ['project', 'cost', 'votes', 'selected', 'why', 'greedy'];
  return el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'table-caption' },
    el('table', { class: 'data results-table' },
      el('caption', { id: 'table-caption' }, t('results.table')),
      el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', { scope: 'col' }, t(`results.col.${c}`))))),
      el('tbody', {}, ...projects().map((p) => {
        // data-label: on a phone each row is a card and every cell says what it is
        const cell = (col, cls, ...content) => el('td', { class: cls, 'data-label': t(`results.col.${col}`) }, ...content);
        return el('tr', { 'data-project': p.id, class: p.selected ? 'won' : '' },
          el('th', { scope: 'row' }, p.name || p.id),
          cell('cost', 'num', fmtMoney(p.cost)),
          cell('votes', 'num', fmt.number(p.votes)),
          cell('selected', null, verdict(p.selected)),
          cell('why', null, t(`why.${p.reason}`)),
          cell('greedy', null, verdict(p.greedy && p.greedy.selected)));
      }))));
}

function comparison(ex) {
  const all = projects();
  const onlyRule = all.filter((p) => p.selected && !(p.greedy && p.greedy.selected));
  const onlyGreedy = all.filter((p) => !p.selected && p.greedy && p.greedy.selected);
  const names = (list) => el('ul', {}, ...list.map((p) => el('li', {}, `${p.name || p.id} (${fmtMoney(p.cost)})`)));
  const parts = [el('h2', { id: 'compare-h' }, t('results.compare'))];
  if (ex.rule === 'greedy') return null;
  parts.push(el('p', {}, t('results.compare_intro')));
  if (!onlyRule.length && !onlyGreedy.length) parts.push(el('p', {}, t('results.same')));
  if (onlyRule.length) parts.push(el('p', {}, t('results.only_rule', { rule: ruleName() })), names(onlyRule));
  if (onlyGreedy.length) parts.push(el('p', {}, t('results.only_greedy', { rule: ruleName() })), names(onlyGreedy));
  if (ex.voters_without) {
    parts.push(el('p', {}, t('results.without', { rule: fmt.number(ex.voters_without.rule),
      greedy: fmt.number(ex.voters_without.greedy) })));
  }
  return el('section', { class: 'card', id: 'compare', 'aria-labelledby': 'compare-h' }, ...parts);
}

function csv() {
  const columns = ['project', 'name', 'cost', 'votes', 'selected', 'reason', 'selected_by_greedy']
    .map((key) => ({ key, label: key }));
  const rows = projects().map((p) => ({ project: p.id, name: p.name || '', cost: p.cost, votes: p.votes,
    selected: p.selected ? 1 : 0, reason: p.reason, selected_by_greedy: p.greedy && p.greedy.selected ? 1 : 0 }));
  downloadText(`${state.budget.id}-results.csv`, 'text/csv;charset=utf-8', toCSV(columns, rows));
}

function downloads() {
  const base = `${API}budgets/${encodeURIComponent(state.budget.id)}/`;
  return el('section', { class: 'card', 'aria-labelledby': 'dl-h' },
    el('h2', { id: 'dl-h' }, t('results.downloads')),
    el('ul', { class: 'downloads' },
      el('li', {}, el('a', { href: `${base}ballots.pb`, download: `${state.budget.id}.pb` }, t('results.dl.pb'))),
      el('li', {}, el('button', { type: 'button', class: 'link', id: 'csv', on: { click: csv } }, t('results.dl.csv'))),
      el('li', {}, el('a', { href: `${base}audit`, download: `${state.budget.id}-audit.txt` }, t('results.dl.audit'))),
      el('li', {}, el('a', { href: `${base}results`, download: `${state.budget.id}-results.json` }, t('results.dl.json')))),
    el('p', { class: 'hint' }, t('results.recount')));
}

function render() {
  clear(page);
  const b = state.budget;
  setHeading(t('results.title', { name: b.name || b.id }));
  if (!state.result) {
    page.append(phaseBox(b), el('p', { class: 'notice' }, t('results.not_yet')), budgetLinks(b, 'results.html'));
    return;
  }
  const ex = state.result.explanation;
  page.append(phaseBox(b, { compact: true }), budgetLinks(b, 'results.html'), summary(ex), table());
  const cmp = comparison(ex);
  if (cmp) page.append(cmp);
  page.append(downloads());
}

start({ audience: 'citizen' }).then(async () => {
  try {
    const id = await pickBudget(page, 'results.html');
    if (!id) return;
    state.budget = await loadBudget(id);
    if (state.budget.phase === 'results') state.result = await api(`${API}budgets/${encodeURIComponent(id)}/results`);
    render();
    onLangChange(render);
  } catch (err) {
    showError(page, err);
  }
});
