import { addStrings, api, showError, start } from '/lib/app.js';

addStrings({ cs: { 'notes.title': 'Poznámky úřadu' }, en: { 'notes.title': 'Office notes' } });
await start({ audience: 'clerk' });
try {
  const { note } = await api('/api/pagesdemo/secret', { auth: true });
  document.getElementById('note').textContent = note;
} catch (err) {
  showError(document.getElementById('main'), err);
}
