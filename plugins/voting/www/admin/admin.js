// What every clerk's page of a budget shares: the budget's state for the
// clerk (GET manage/<id>), the links between the clerk's pages, and a
// confirmation that says what an action changes before it is done.
// The budget in the address (?b=<id>), the API's place and the budget
// picker are the citizen pages' (../common.js).
import { api, el, t } from '/lib/app.js';
import { API, PHASES, money, pageUrl, pickBudget, clear, loadProposals } from '../common.js';
import './strings.js';

export { API, PHASES, money, pageUrl, clear, loadProposals };

/** The path of an operator route of budget id: manage/<id>[/rest]. */
export function manage(id, rest) {
  return `${API}manage/${encodeURIComponent(id)}${rest ? '/' + rest : ''}`;
}

/** The budget as the clerk sees it: the public entry, dates, rules' lock, register and paper figures. */
export function loadStatus(id) {
  return api(manage(id), { auth: true });
}

/** The budget of this page (?b=, or the only one), with its status; null while the clerk picks one. */
export async function budgetOf(container, page) {
  const id = await pickBudget(container, page);
  return id ? loadStatus(id) : null;
}

const PAGES = [
  ['index.html', 'adm.nav.overview'],
  ['projects.html', 'adm.nav.projects'],
  ['voters.html', 'adm.nav.voters'],
  ['paper.html', 'adm.nav.paper'],
];

/** The budget's name and the links between the clerk's pages of it. */
export function adminHeader(b, here) {
  return [
    el('p', { class: 'lead budget-name' }, t('adm.budget', { name: b.name || b.id, amount: money(b.amount, b) })),
    el('nav', { class: 'budget-links admin-links', 'aria-label': t('adm.nav') },
      el('ul', {}, ...PAGES.map(([page, key]) => el('li', {},
        el('a', { href: pageUrl(page, b.id), 'aria-current': page === here ? 'page' : null }, t(key)))))),
  ];
}

/** The five phases in order, the current one marked (aria-current). */
export function phaseSteps(current) {
  const at = PHASES.indexOf(current);
  return el('ol', { class: 'phase-steps' }, ...PHASES.map((p, i) => el('li', {
    class: i < at ? 'done' : i === at ? 'current' : 'later',
    'aria-current': i === at ? 'step' : null,
  }, t(`voting.ph.${p}`))));
}

/**
 * Asks before an action that cannot be undone: a modal dialog with its
 * title, the sentences saying what happens, and the confirming button's
 * text.  Focus starts on Cancel (the harmless choice) and returns to where
 * it was.  Resolves true when confirmed.
 */
export function confirmAction({ title, text, yes }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const cancel = el('button', { type: 'button', autofocus: true, on: { click: () => close(false) } }, t('adm.cancel'));
    const dialog = el('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
      el('h2', { id: 'confirm-title' }, title),
      el('div', { id: 'confirm-text' }, ...text.map((s) => el('p', {}, s))),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'primary', id: 'confirm-yes', on: { click: () => close(true) } },
          yes || t('adm.yes')),
        cancel));
    function close(answer) {
      dialog.close();
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    }
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault(); // Escape: the same as Cancel
      close(false);
    });
    (document.getElementById('main') || document.body).append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** A status line whose changes are read out: role=status, or role=alert for a refusal. */
export function statusLine(id) {
  return el('div', { id, class: 'status-line', role: 'status', 'aria-live': 'polite' });
}

/** Writes a sentence (and optional nodes after it) into a status line; kind 'error' makes it an alert. */
export function say(line, text, kind, ...after) {
  line.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  line.className = `status-line ${kind || 'ok'}`;
  line.replaceChildren(el('p', {}, text), ...after.filter(Boolean));
}
