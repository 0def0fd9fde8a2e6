// The home page: the town's name, a card for each citizen page, and the
// town office's pages apart.  Both lists come from the mounts' pages.json.
import { el, localized, onLangChange, pages, start, t, townName } from '/lib/app.js';

function render() {
  document.title = townName();
  document.getElementById('home-title').textContent = townName();
  const citizen = pages('citizen');
  document.getElementById('citizen-pages').replaceChildren(citizen.length
    ? el('ul', { class: 'grid', id: 'citizen-list' }, citizen.map((p) => el('li', { class: 'card linked' },
      el('h3', {}, el('a', { class: 'card-link', href: p.href }, localized(p.title))),
      p.description ? el('p', {}, localized(p.description)) : null)))
    : el('p', { class: 'muted' }, t('home.none')));
  const clerk = pages('clerk');
  document.getElementById('clerk-pages').replaceChildren(clerk.length
    ? el('ul', { class: 'link-list', id: 'clerk-list' }, clerk.map((p) => el('li', {},
      el('a', { href: p.href }, localized(p.title)),
      p.description ? el('span', { class: 'hint' }, ' – ', localized(p.description)) : null)))
    : el('p', { class: 'muted' }, t('home.none_clerk')));
}

await start({ audience: 'citizen' });
render();
onLangChange(render);
