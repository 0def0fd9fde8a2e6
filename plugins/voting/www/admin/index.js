// The clerk's overview of a budget: its phase and the step to the next one
// (confirmed, saying what that phase changes), the ballot rules and whether
// they are locked, and how far the register and the paper ballots are.
import { start, api, el, t, fmt, announce, onLangChange, showError } from '/lib/app.js';
import {
  PHASES, money, pageUrl, clear, manage, loadStatus, budgetOf, adminHeader, phaseSteps, confirmAction,
} from './admin.js';

const page = document.getElementById('page');
let b = null; // the budget's status (GET manage/<id>)
let feasible = 0; // proposals reviewed as feasible: voting needs one
let polling = null;

const NEXT = { proposals: 'review', review: 'voting', voting: 'counting' };

async function refresh() {
  b = await loadStatus(b.id);
  const list = (await api(manage(b.id, 'proposals'), { auth: true })).proposals;
  feasible = list.filter((p) => p.feasible === true).length;
}

async function moveTo(next) {
  const ok = await confirmAction({
    title: t('adm.phase.confirm', { phase: t(`voting.ph.${next}`) }),
    text: [t(`adm.phase.what.${next}`), t('adm.phase.back')],
    yes: t('adm.phase.next', { phase: t(`voting.ph.${next}`) }),
  });
  if (!ok) return;
  try {
    await api(manage(b.id, 'phase'), { method: 'POST', body: { phase: next }, auth: true });
    await refresh();
    render();
    announce(t('adm.phase.moved', { phase: t(`voting.ph.${b.phase}`) }));
    document.getElementById('phase-title').focus();
  } catch (err) {
    showError(document.getElementById('phase'), err);
  }
}

// While counting runs on the server, look again every second until results.
function pollCounting() {
  if (polling || b.phase !== 'counting') return;
  polling = setInterval(async () => {
    try {
      b = await loadStatus(b.id);
    } catch {
      return; // the next look may work
    }
    if (b.phase !== 'counting') {
      clearInterval(polling);
      polling = null;
      render();
      announce(t('adm.phase.moved', { phase: t(`voting.ph.${b.phase}`) }));
    }
  }, 1000);
}

function phaseSection() {
  const next = NEXT[b.phase];
  const section = el('section', { class: 'card', id: 'phase', 'aria-labelledby': 'phase-title' },
    el('h2', { id: 'phase-title', tabindex: '-1' }, t('adm.phase.title')),
    phaseSteps(b.phase),
    el('p', { class: 'phase-now' }, el('strong', {}, t('adm.phase.now', { phase: t(`voting.ph.${b.phase}`) })), ' ',
      t(`voting.now.${b.phase}`)));
  for (const p of PHASES.slice(1, 4)) {
    if (b.dates[p] && PHASES.indexOf(p) > PHASES.indexOf(b.phase)) {
      section.append(el('p', {}, t('adm.phase.date', { phase: t(`voting.ph.${p}`), date: fmt.dateTime(b.dates[p]) })));
    }
  }
  if (next === 'voting' && feasible === 0) {
    section.append(el('p', { class: 'notice' }, t('adm.phase.none_feasible')),
      el('p', {}, el('a', { href: pageUrl('projects.html', b.id) }, t('adm.nav.projects'))));
  } else if (next) {
    section.append(el('p', {}, el('strong', {}, t('adm.phase.after', { phase: t(`voting.ph.${next}`) })), ' ',
      t(`adm.phase.what.${next}`)),
      el('div', { class: 'actions' }, el('button', {
        type: 'button', class: 'primary', id: 'phase-next', on: { click: () => moveTo(next) },
      }, t('adm.phase.next', { phase: t(`voting.ph.${next}`) }))));
  } else if (b.phase === 'counting') {
    section.append(el('p', {}, t('adm.phase.counting')));
    pollCounting();
  } else {
    section.append(el('p', {}, t('adm.phase.results')),
      el('p', {}, el('a', { href: `../${pageUrl('results.html', b.id)}`, id: 'results-link', class: 'button primary' },
        t('adm.phase.results_link'))));
  }
  return section;
}

function range(r) {
  return r.max_projects ? t('adm.rules.range', { min: r.min_projects, max: r.max_projects })
    : t('adm.rules.from', { min: r.min_projects });
}

function rulesSection() {
  const r = b.ballot;
  const rows = [
    ['adm.rules.amount', money(r.amount, b)],
    ['adm.rules.type', t(`adm.rules.type.${r.type}`)],
  ];
  if (r.type === 'cumulative') {
    rows.push(['adm.rules.points', r.max_points
      ? `${r.points}, ${t('adm.rules.max_points', { n: r.max_points })}` : String(r.points)]);
  }
  rows.push(['adm.rules.projects', range(r)]);
  if (r.type === 'knapsack' && r.min_share > 0) {
    rows.push(['adm.rules.min_share', `${money(Math.ceil(r.min_share * r.amount), b)} (${fmt.number(r.min_share * 100, 0)} %)`]);
  }
  rows.push(['adm.rules.rule', t(`rule.${r.rule}`)],
    ['adm.rules.replace', t(r.replace ? 'adm.rules.replace.yes' : 'adm.rules.replace.no')],
    ['adm.rules.eligibility', t(`adm.rules.elig.${r.eligibility}`)]);
  return el('section', { class: 'card', id: 'rules', 'aria-labelledby': 'rules-title' },
    el('h2', { id: 'rules-title' }, t('adm.rules.title'), ' ',
      el('span', { class: `badge ${b.rules_locked ? 'st-off' : 'st-ok'}` },
        t(b.rules_locked ? 'adm.rules.locked_badge' : 'adm.rules.open_badge'))),
    el('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [el('dt', {}, t(k)), el('dd', {}, v)])),
    el('p', { class: b.rules_locked ? 'notice' : '' },
      b.rules_locked ? t('adm.rules.locked') : t('adm.rules.open', { key: b.config_key })));
}

function summarySection() {
  const codes = b.ballot.eligibility === 'codes';
  return el('section', { class: 'card', 'aria-labelledby': 'summary-title' },
    el('h2', { id: 'summary-title' }, t('adm.summary.title')),
    codes ? el('p', {}, t('adm.summary.voters', { n: b.register.voters, codes: b.register.with_code }), ' ',
      el('a', { href: pageUrl('voters.html', b.id) }, t('adm.nav.voters')))
      : el('p', {}, t('adm.summary.no_codes')),
    codes ? el('p', {}, t('adm.summary.paper', b.paper), ' ',
      el('a', { href: pageUrl('paper.html', b.id) }, t('adm.nav.paper'))) : null);
}

function render() {
  clear(page);
  document.title = t('adm.title');
  document.getElementById('title').textContent = t('adm.title');
  page.append(...adminHeader(b, 'index.html'), phaseSection(), rulesSection(), summarySection());
}

start({ audience: 'clerk' }).then(async () => {
  try {
    b = await budgetOf(page, 'index.html');
    if (!b) return;
    await refresh();
    render();
    onLangChange(render);
  } catch (err) {
    showError(page, err);
  }
});
