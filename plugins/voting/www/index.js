// The budgets: each with its phase, what comes next, and the pages that
// make sense in that phase.
import { start, el, t, onLangChange, showError } from '/lib/app.js';
import { loadBudgets, phaseBox, budgetLinks, money, clear } from './common.js';

const page = document.getElementById('page');
let budgets = null;

function render() {
  clear(page);
  document.title = t('voting.title');
  page.append(el('p', { class: 'lead' }, t('voting.intro')));
  if (!budgets.length) {
    page.append(el('p', {}, t('voting.none')));
    return;
  }
  page.append(el('h2', {}, t('voting.budgets')),
    el('ul', { class: 'budget-list' }, ...budgets.map((b) => el('li', { class: 'card budget' },
      el('h3', {}, b.name || b.id),
      el('p', { class: 'budget-facts' }, t('voting.amount', { amount: money(b.amount, b) }),
        ...(b.district ? [el('br'), t('voting.district', { district: b.district })] : [])),
      phaseBox(b, { compact: true }),
      budgetLinks(b, null)))));
}

start({ audience: 'citizen' }).then(async () => {
  try {
    budgets = await loadBudgets();
    render();
    onLangChange(render);
  } catch (err) {
    showError(page, err);
  }
});
