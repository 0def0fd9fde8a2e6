// The budget's proposals for the clerk: each with its cost, district and
// the author's (private) contact; before voting, edited (PUT: every field,
// then reviewed again) and reviewed (feasible or not, with a public reason).
import { start, api, el, t, announce, onLangChange, showError, clearError } from '/lib/app.js';
import { money, clear, manage, budgetOf, adminHeader, statusLine, say } from './admin.js';

const page = document.getElementById('page');
let b = null;
let proposals = [];
let open = null; // {id, mode: 'edit' | 'review'}: the form shown
let last = ''; // the last sentence said, kept across a re-render

async function load() {
  proposals = (await api(manage(b.id, 'proposals'), { auth: true })).proposals;
}

function editable() {
  return b.phase === 'proposals' || b.phase === 'review';
}

function verdict(p) {
  if (p.feasible === true) return ['st-ok', t('adm.proj.feasible')];
  if (p.feasible === false) return ['st-off', t('adm.proj.infeasible')];
  return ['st-unknown', t('adm.proj.pending')];
}

function field(id, label, input, hint) {
  return el('div', { class: 'field' }, el('label', { for: id }, label), hint || null, input);
}

function input(id, value, extra = {}) {
  return el('input', { id, name: id, type: 'text', value: value ?? '', ...extra });
}

function editForm(p) {
  const f = `edit-${p.id}`;
  const form = el('form', { class: 'proposal-form', id: f, 'aria-labelledby': `${f}-title`, novalidate: true },
    el('h4', { id: `${f}-title` }, t('adm.proj.edit_title', { id: p.id })),
    field(`${f}-t`, t('adm.proj.f.title'), input(`${f}-t`, p.title, { required: true, maxlength: 200 })),
    field(`${f}-d`, t('adm.proj.f.description'),
      el('textarea', { id: `${f}-d`, name: 'description', rows: 5, required: true }, p.description)),
    field(`${f}-c`, t('adm.proj.f.cost', { currency: b.currency }),
      input(`${f}-c`, p.cost, { inputmode: 'numeric', required: true })),
    field(`${f}-di`, t('adm.proj.f.district'), input(`${f}-di`, p.district)),
    field(`${f}-la`, t('adm.proj.f.lat'), input(`${f}-la`, p.location?.lat, { inputmode: 'decimal' })),
    field(`${f}-lo`, t('adm.proj.f.lon'), input(`${f}-lo`, p.location?.lon, { inputmode: 'decimal' })),
    field(`${f}-p`, t('adm.proj.f.photo'), input(`${f}-p`, p.photo, { type: 'url' })),
    field(`${f}-co`, t('adm.proj.f.contact'), input(`${f}-co`, p.contact, { required: true })),
    el('div', { class: 'actions' },
      el('button', { type: 'submit', class: 'primary' }, t('adm.proj.f.save')),
      el('button', { type: 'button', on: { click: () => show(null) } }, t('adm.cancel'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (s) => form.querySelector(`#${f}-${s}`).value.trim();
    const lat = v('la');
    const lon = v('lo');
    const body = {
      title: v('t'), description: v('d'), cost: Number(v('c').replace(/\s/g, '')), district: v('di'),
      photo: v('p'), contact: v('co'),
      location: lat !== '' && lon !== '' ? { lat: Number(lat.replace(',', '.')), lon: Number(lon.replace(',', '.')) } : null,
    };
    await save(form, () => api(manage(b.id, `proposals/${p.id}`), { method: 'PUT', body, auth: true }),
      t('adm.proj.edited', { id: p.id }), p.id);
  });
  return form;
}

function reviewForm(p) {
  const f = `review-${p.id}`;
  const radio = (value, label, checked) => el('div', { class: 'field inline' },
    el('input', { type: 'radio', id: `${f}-${value}`, name: `${f}-verdict`, value, checked }),
    el('label', { for: `${f}-${value}` }, label));
  const reasonError = el('p', { class: 'error', id: `${f}-err`, hidden: true });
  const reason = el('textarea', { id: `${f}-r`, rows: 3, maxlength: 2000 }, p.reason);
  const form = el('form', { class: 'proposal-form', id: f, 'aria-labelledby': `${f}-title`, novalidate: true },
    el('h4', { id: `${f}-title` }, t('adm.proj.review_title', { id: p.id })),
    el('fieldset', {}, el('legend', {}, t('adm.proj.f.verdict')),
      radio('yes', t('adm.proj.f.yes'), p.feasible !== false),
      radio('no', t('adm.proj.f.no'), p.feasible === false)),
    field(`${f}-r`, t('adm.proj.f.reason'), reason),
    reasonError,
    el('div', { class: 'actions' },
      el('button', { type: 'submit', class: 'primary' }, t('adm.proj.f.save_review')),
      el('button', { type: 'button', on: { click: () => show(null) } }, t('adm.cancel'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ok = form.querySelector(`#${f}-yes`).checked;
    const why = reason.value.trim();
    if (!ok && !why) { // the server refuses it too: say it here, at the field
      reasonError.textContent = t('adm.proj.reason_needed');
      reasonError.hidden = false;
      reason.setAttribute('aria-invalid', 'true');
      reason.setAttribute('aria-describedby', reasonError.id);
      reason.focus();
      return;
    }
    await save(form, () => api(manage(b.id, `review/${p.id}`), { method: 'POST', body: { feasible: ok, reason: why }, auth: true }),
      t('adm.proj.reviewed', { id: p.id, verdict: t(ok ? 'adm.proj.feasible' : 'adm.proj.infeasible') }), p.id);
  });
  return form;
}

// Sends a form's change; on success reloads and says so at the proposal.
async function save(form, send, sentence, id) {
  clearError(form);
  try {
    await send();
    await load();
    open = null;
    last = sentence;
    render();
    announce(sentence);
    document.getElementById(`proposal-${id}`).focus();
  } catch (err) {
    showError(form, err);
  }
}

function show(next) {
  const back = open && `proposal-${open.id}`;
  open = next;
  render();
  if (next) document.querySelector(`#${next.mode}-${next.id} :is(input, textarea)`).focus();
  else if (back) document.getElementById(back).focus();
}

function card(p) {
  const [cls, text] = verdict(p);
  const isOpen = (mode) => Boolean(open && open.id === p.id && open.mode === mode);
  const toggle = (mode, label) => el('button', {
    type: 'button', id: `${mode}-${p.id}-open`, 'aria-expanded': String(isOpen(mode)), 'aria-describedby': `proposal-${p.id}`,
    on: { click: () => show(isOpen(mode) ? null : { id: p.id, mode }) },
  }, label);
  return el('li', { class: 'card proposal' },
    el('h3', { id: `proposal-${p.id}`, tabindex: '-1' }, p.title),
    el('p', { class: 'proposal-facts' }, t('adm.proj.number', { id: p.id }), ' · ',
      el('span', { class: `badge ${cls}` }, text)),
    el('p', { class: 'proposal-facts' }, t('adm.proj.cost', { cost: money(p.cost, b) }),
      p.district ? ` · ${t('adm.proj.district', { district: p.district })}` : ''),
    el('p', { class: 'proposal-text' }, p.description),
    p.reason ? el('p', {}, t('adm.proj.reason', { reason: p.reason })) : null,
    el('p', { class: 'muted' }, t('adm.proj.contact', { contact: p.contact })),
    editable() ? el('div', { class: 'actions' },
      toggle('review', t('adm.proj.review')), toggle('edit', t('adm.proj.edit'))) : null,
    isOpen('edit') ? editForm(p) : null,
    isOpen('review') ? reviewForm(p) : null);
}

function render() {
  clear(page);
  document.title = t('adm.proj.title');
  document.getElementById('title').textContent = t('adm.proj.title');
  const ok = proposals.filter((p) => p.feasible === true).length;
  const no = proposals.filter((p) => p.feasible === false).length;
  const line = statusLine('projects-status');
  if (last) say(line, last);
  page.append(...adminHeader(b, 'projects.html'),
    el('p', { class: editable() ? '' : 'notice' }, t(editable() ? 'adm.proj.intro' : 'adm.proj.locked')),
    el('h2', {}, t('adm.proj.list')),
    el('p', {}, t('adm.proj.counts', { n: proposals.length, ok, no, pending: proposals.length - ok - no })),
    line,
    proposals.length ? el('ul', { class: 'proposal-list' }, ...proposals.map(card)) : el('p', {}, t('adm.proj.none')));
}

start({ audience: 'clerk' }).then(async () => {
  try {
    b = await budgetOf(page, 'projects.html');
    if (!b) return;
    await load();
    render();
    onLangChange(render);
  } catch (err) {
    showError(page, err);
  }
});
