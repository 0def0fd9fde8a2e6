// The register of voters and their codes: import the register (a CSV file,
// sent as is: the server says which line is wrong), make every voter
// without a code one, once, as letters to print (one A4 page per voter,
// admin.css's print rules), and a new code for a lost letter.  The codes
// live only in this page's memory: the server keeps their hashes.
import { start, api, el, t, fmt, townName, announce, onLangChange, showError } from '/lib/app.js';
import { downloadText } from '/lib/download.js';
import { API, clear, manage, loadStatus, budgetOf, adminHeader, confirmAction, statusLine, say } from './admin.js';

const page = document.getElementById('page');
let b = null;
let letters = null; // {rows: [{voter, name, address, code}], csv} once codes are made
const said = {}; // the last sentence of each status line, kept across a re-render

/** RFC 4180 text (as the codes route writes it) as objects keyed by the header row. */
function parseCSV(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += text[++i];
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (c !== '\r') field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((k, i) => [k, r[i] ?? ''])));
}

function tell(id, text, kind, ...after) {
  said[id] = [text, kind, after];
  const line = document.getElementById(id);
  if (line) say(line, text, kind, ...after);
}

function line(id) {
  const l = statusLine(id);
  if (said[id]) say(l, said[id][0], said[id][1], ...(said[id][2] || []));
  return l;
}

async function refresh() {
  b = await loadStatus(b.id);
}

function importSection() {
  const file = el('input', { id: 'register-file', type: 'file', accept: '.csv,text/csv', 'aria-describedby': 'register-hint' });
  const form = el('form', { 'aria-labelledby': 'import-title' },
    el('div', { class: 'field' }, el('label', { for: 'register-file' }, t('adm.vot.file')),
      el('p', { class: 'hint', id: 'register-hint' }, t('adm.vot.import_hint')), file),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'register-upload' }, t('adm.vot.upload'))),
    line('import-status'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) {
      tell('import-status', t('adm.vot.no_file'), 'error');
      file.focus();
      return;
    }
    try {
      const text = await chosen.text();
      const r = await api(manage(b.id, 'register'), {
        method: 'POST', body: text, auth: true, headers: { 'Content-Type': 'text/csv; charset=utf-8' },
      });
      await refresh();
      const sentence = t('adm.vot.imported', { imported: r.imported, already: r.already_there });
      said['import-status'] = [sentence];
      render();
      announce(sentence);
    } catch (err) {
      tell('import-status', t('adm.vot.refused', { message: err.message }), 'error');
    }
  });
  return el('section', { class: 'card', 'aria-labelledby': 'import-title' },
    el('h2', { id: 'import-title' }, t('adm.vot.import')), form);
}

function codesSection() {
  const missing = b.register.voters - b.register.with_code;
  return el('section', { class: 'card', 'aria-labelledby': 'codes-title' },
    el('h2', { id: 'codes-title' }, t('adm.vot.codes')),
    missing > 0 ? [
      el('p', {}, t('adm.vot.codes_once')),
      el('div', { class: 'actions' }, el('button', {
        type: 'button', class: 'primary', id: 'codes-make', on: { click: () => makeCodes(missing) },
      }, t('adm.vot.codes_make', { n: missing })))]
      : el('p', {}, t('adm.vot.codes_none')),
    line('codes-status'));
}

async function makeCodes(missing) {
  const ok = await confirmAction({
    title: t('adm.vot.codes_confirm', { n: missing }),
    text: [t('adm.vot.codes_once')],
    yes: t('adm.vot.codes_make', { n: missing }),
  });
  if (!ok) return;
  try {
    const csv = await api(manage(b.id, 'codes'), { method: 'POST', auth: true, raw: 'text' });
    await showLetters(csv, t('adm.vot.made', { n: parseCSV(csv).length }));
  } catch (err) {
    tell('codes-status', t('adm.server', { message: err.message }), 'error');
  }
}

async function showLetters(csv, sentence, extra) {
  const rows = parseCSV(csv).map((r) => ({ ...r, ...extra }));
  letters = { rows, csv };
  await refresh();
  render();
  announce(sentence);
  document.getElementById('letters-title').focus();
}

function lostSection() {
  const f = (id, key, extra) => el('div', { class: 'field' }, el('label', { for: id }, t(key)),
    el('input', { id, name: id, type: 'text', autocomplete: 'off', ...extra }));
  const form = el('form', { 'aria-labelledby': 'lost-title' },
    el('p', { class: 'hint' }, t('adm.vot.lost_hint')),
    f('lost-voter', 'adm.vot.voter', { required: true }),
    f('lost-name', 'adm.vot.name'),
    f('lost-address', 'adm.vot.address'),
    el('div', { class: 'actions' }, el('button', { type: 'submit', id: 'lost-reissue' }, t('adm.vot.reissue'))),
    line('lost-status'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = (id) => form.querySelector(`#${id}`).value.trim();
    const voter = value('lost-voter');
    if (!voter) {
      form.querySelector('#lost-voter').focus();
      return;
    }
    try {
      const csv = await api(manage(b.id, `codes?voter=${encodeURIComponent(voter)}`), { method: 'POST', auth: true, raw: 'text' });
      await showLetters(csv, t('adm.vot.reissued', { voter }), { name: value('lost-name'), address: value('lost-address') });
    } catch (err) {
      tell('lost-status', t('adm.server', { message: err.message }), 'error');
    }
  });
  return el('section', { class: 'card', 'aria-labelledby': 'lost-title' },
    el('h2', { id: 'lost-title' }, t('adm.vot.lost')), form);
}

// Registers list people as "Surname, Given names"; a letter is addressed
// "Given names Surname".
function personName(name) {
  const m = /^([^,]+),\s*([^,]+)$/.exec(name || '');
  return m ? `${m[2]} ${m[1]}` : name || '';
}

function letter(r) {
  const url = `${location.origin}${API.replace(/^\/api/, '')}vote.html?b=${encodeURIComponent(b.id)}`;
  return el('article', { class: 'letter', 'aria-label': t('adm.letter.label', { voter: r.voter }) },
    el('p', { class: 'letter-town' }, townName()),
    el('p', { class: 'letter-to' }, [personName(r.name), ...r.address.split(/,\s*/)].filter(Boolean).join('\n')),
    el('h3', { class: 'letter-title' }, b.name || b.id),
    el('p', {}, t('adm.letter.about')),
    el('p', { class: 'letter-code-label' }, t('adm.letter.code')),
    el('p', { class: 'letter-code' }, r.code),
    el('p', { class: 'letter-url' }, t('adm.letter.how', { url })),
    b.dates.counting ? el('p', {}, t('adm.letter.until', { date: fmt.dateTime(b.dates.counting) })) : null,
    el('p', {}, t('adm.letter.once')),
    el('p', { class: 'letter-voter' }, t('adm.letter.voter', { voter: r.voter })));
}

function lettersSection() {
  return el('section', { class: 'letters', id: 'letters', 'aria-labelledby': 'letters-title' },
    el('h2', { id: 'letters-title', tabindex: '-1' }, t('adm.vot.letters', { n: letters.rows.length })),
    el('p', { class: 'notice no-print' }, t('adm.vot.letters_warn')),
    el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'primary', id: 'letters-print', on: { click: () => window.print() } },
        t('adm.vot.print')),
      el('button', {
        type: 'button', id: 'letters-csv', on: { click: () => downloadText(`kody-${b.id}.csv`, 'text/csv', letters.csv) },
      }, t('adm.vot.download'))),
    ...letters.rows.map(letter));
}

function render() {
  clear(page);
  document.title = t('adm.vot.title');
  document.getElementById('title').textContent = t('adm.vot.title');
  page.append(...adminHeader(b, 'voters.html'));
  if (b.ballot.eligibility !== 'codes') {
    page.append(el('p', { class: 'notice' }, t('adm.summary.no_codes')));
    return;
  }
  page.append(el('p', { id: 'register-summary' }, t('adm.summary.voters', { n: b.register.voters, codes: b.register.with_code })));
  if (letters) page.append(lettersSection());
  if (b.phase === 'counting' || b.phase === 'results') {
    page.append(el('p', { class: 'notice' }, t('adm.vot.closed')));
    return;
  }
  page.append(importSection(), codesSection(), lostSection());
}

start({ audience: 'clerk' }).then(async () => {
  try {
    b = await budgetOf(page, 'voters.html');
    if (!b) return;
    render();
    onLangChange(render);
  } catch (err) {
    showError(page, err);
  }
});
