// The clerk's pages of the participatory budget (plugins/voting/www/admin/)
// in Debian's chromium against the real daemon: every page in the four
// views, and the clerk's whole task with the keyboard alone, from proposals
// through review and voting (register, codes and their letters, paper
// ballots entered twice, agreeing and not) to counting and the results link.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  ADMIN, ARTIFACTS, OPERATOR, PUBLIC, checkPage, launch, openPage, operatorLogin, startDaemon, tabTo, typeInto, views, webPlugin,
} from './harness.mjs';
import { call, eventually, getJSON, postJSON } from './seed/common.mjs';
import { BUDGET, VOTERS, propose, registerFiles, votingPlugin } from './seed/budget-admin.mjs';

const CLERK2 = 'second-clerk-token-0123456789';
const PAGES = ['index', 'projects', 'voters', 'paper'];
const ADMIN_URL = (name) => `/voting/admin/${name}.html?b=${BUDGET.id}`;

let browser;
let daemon;
let ids;
let files;

before(async () => {
  [browser, daemon] = await Promise.all([launch(), startDaemon({
    plugins: [webPlugin({ town: { name: { cs: 'Dolní Lhota', en: 'Dolní Lhota' } } }), votingPlugin()],
    config: {
      tokens: [{ name: 'it', token: ADMIN, role: 'admin' }, { name: 'clerk', token: OPERATOR, role: 'operator' },
        { name: 'clerk2', token: CLERK2, role: 'operator' }, { name: 'kiosk', token: PUBLIC, role: 'public' }],
    },
  })]);
  ids = await propose(daemon);
  files = registerFiles(mkdtempSync(join(tmpdir(), 'mestys-register-')));
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
});

/** A clerk's page, logged in with token (each page has its own browser context, so its own session). */
async function clerkPage(name, { width = 1280, lang = 'cs', token = OPERATOR } = {}) {
  const page = await openPage(browser, `${daemon.url}${ADMIN_URL(name)}`, { width, lang, daemon });
  await operatorLogin(page, token);
  await page.waitForSelector('.admin-links');
  return page;
}

// Each view logs in once (the token lives in the tab's session) and visits the pages.
async function fourViews(tag, pages = PAGES) {
  for (const v of views) {
    const page = await clerkPage(pages[0], v);
    for (const name of pages) {
      if (name !== pages[0]) {
        await page.goto(`${daemon.url}${ADMIN_URL(name)}`, { waitUntil: 'networkidle0' });
        await page.waitForSelector('.admin-links');
      }
      await checkPage(page, `voting-admin-${name}-${tag}-${v.width}-${v.lang}`);
    }
    await page.close();
  }
}

/** Waits until the text of selector matches re; fails showing the text it had. */
async function waitText(page, sel, re, timeout = 30_000) {
  try {
    await page.waitForFunction((s, src) => new RegExp(src).test(document.querySelector(s)?.textContent || ''),
      { timeout }, sel, re.source);
  } catch {
    const now = await page.$eval(sel, (e) => e.textContent).catch(() => '(no such element)');
    assert.fail(`${sel} never matched ${re}; it says: ${now}`);
  }
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
const press = async (page, sel, key = 'Enter') => {
  await tabTo(page, sel);
  await page.keyboard.press(key);
};

// Confirms the open dialog from the keyboard: focus starts on Cancel.
async function confirm(page, expectTitle) {
  await page.waitForSelector('dialog.confirm[open]');
  assert.match(await text(page, '#confirm-title'), expectTitle);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Zrušit');
  await press(page, '#confirm-yes');
  await page.waitForSelector('dialog.confirm', { hidden: true });
}

async function nextPhase(page, phase, what) {
  await press(page, '#phase-next');
  await page.waitForSelector('dialog.confirm[open]');
  assert.match(await text(page, '#confirm-text'), what);
  await confirm(page, new RegExp(phase));
  await waitText(page, '.phase-now', new RegExp(phase));
}

test('every clerk page in the four views, before anything is done', async () => {
  await fourViews('proposals');
});

test('the clerk runs a budget from proposals to published results with the keyboard alone', async () => {
  // 1. proposals → review
  let page = await clerkPage('index');
  assert.match(await text(page, '#rules'), /lze ještě změnit/);
  await nextPhase(page, 'Posuzování návrhů', /Občané už nebudou moci podávat návrhy/);
  await page.close();

  // 2. review: three feasible, the footbridge not (a reason is required), one cost edited
  page = await clerkPage('projects');
  for (const id of ids.slice(0, 3)) {
    await press(page, `#review-${id}-open`);
    await press(page, `#review-${id} button[type="submit"]`);
    await waitText(page, '#projects-status', new RegExp(`č. ${id}`));
  }
  const bridge = ids[3];
  await press(page, `#review-${bridge}-open`);
  assert.equal(await page.evaluate(() => document.activeElement.id), `review-${bridge}-yes`);
  await page.keyboard.press('ArrowDown'); // the radio group: "Ne"
  await press(page, `#review-${bridge} button[type="submit"]`);
  assert.match(await text(page, `#review-${bridge}-err`), /Napište, proč/);
  assert.equal(await page.evaluate(() => document.activeElement.id), `review-${bridge}-r`);
  await typeInto(page, 'Pozemek pod lávkou není obecní.');
  await press(page, `#review-${bridge} button[type="submit"]`);
  await waitText(page, '#projects-status', new RegExp(`č. ${bridge}: nelze`));
  await press(page, `#edit-${ids[1]}-open`);
  await tabTo(page, `#edit-${ids[1]}-c`);
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await typeInto(page, '250000');
  await press(page, `#edit-${ids[1]} button[type="submit"]`);
  await waitText(page, '#projects-status', /nové posouzení/);
  await press(page, `#review-${ids[1]}-open`);
  await press(page, `#review-${ids[1]} button[type="submit"]`);
  await waitText(page, '#page', /lze uskutečnit: 3; nelze: 1; čeká na posouzení: 0/);
  await checkPage(page, 'voting-admin-walk-reviewed');
  await page.close();
  const listed = (await getJSON(daemon, `/api/voting/budgets/${BUDGET.id}/proposals`)).proposals;
  assert.deepEqual(listed.map((p) => [p.cost, p.feasible]), [[120000, true], [250000, true], [40000, true], [450000, false]]);
  assert.equal(listed[3].reason, 'Pozemek pod lávkou není obecní.');

  // 3. review → voting: the rules lock, on the page and on the server
  page = await clerkPage('index');
  await nextPhase(page, 'Hlasování', /pravidla hlasování se zamknou/);
  assert.match(await text(page, '#rules'), /zamčeno/);
  await checkPage(page, 'voting-admin-walk-voting');
  await page.close();
  const refused = await call(daemon, 'PUT', `/api/voting/manage/${BUDGET.id}/proposals/${ids[0]}`, {
    token: true, expect: 409, body: { ...listed[0], contact: 'x@example.org', cost: 1 },
  });
  assert.match(refused.body.error, /cannot change once voting has started/);

  // 4. the register: a malformed file is refused with the server's sentence, then the right one
  page = await clerkPage('voters');
  for (const [file, expect] of [[files.bad, /Seznam se nenahrál.*line 3/], [files.good, /Nahráno voličů: 5; už v seznamu bylo: 0/]]) {
    await tabTo(page, '#register-file');
    const [chooser] = await Promise.all([page.waitForFileChooser(), page.keyboard.press('Space')]);
    await chooser.accept([file]);
    await press(page, '#register-upload');
    await waitText(page, '#import-status', expect);
  }
  // 5. codes, once, as letters; the print view is one A4 page per voter
  await press(page, '#codes-make');
  await confirm(page, /Vytvořit kódy pro 5 voličů/);
  await page.waitForSelector('.letter');
  const letters = await page.$$eval('.letter', (ls) => ls.map((l) => ({
    to: l.querySelector('.letter-to').textContent, code: l.querySelector('.letter-code').textContent,
  })));
  assert.equal(letters.length, VOTERS.length);
  for (const l of letters) assert.match(l.code, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/);
  assert.equal(letters[0].to, 'Jana Nováková\nHusova 12\n783 01 Dolní Lhota');
  assert.match(await text(page, '#register-summary'), /s kódem: 5/);
  await checkPage(page, 'voting-admin-walk-letters', { allowConsole: [/status of 400/] });
  await page.setViewport({ width: 794, height: 1123 }); // A4 at 96 dpi
  await page.emulateMediaType('print');
  assert.equal(await page.$eval('#site-header', (e) => getComputedStyle(e).display), 'none');
  assert.equal(await page.$eval('#letters-print', (e) => getComputedStyle(e).display), 'none');
  await page.screenshot({ path: join(ARTIFACTS, 'voting-admin-print.png'), fullPage: true });
  const pdf = Buffer.from(await page.pdf({ format: 'A4', preferCSSPageSize: true, path: join(ARTIFACTS, 'voting-admin-print.pdf') }));
  assert.equal((pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length, VOTERS.length, 'one A4 page per letter');
  await page.emulateMediaType(null);
  await page.setViewport({ width: 1280, height: 900 });
  const codes = Object.fromEntries(letters.map((l, i) => [VOTERS[i][0], l.code]));
  // a lost letter: a new code, the old one no longer votes
  await tabTo(page, '#lost-voter');
  await typeInto(page, '00421');
  await tabTo(page, '#lost-name');
  await typeInto(page, 'Eva Procházková');
  await press(page, '#lost-reissue');
  await page.waitForFunction(() => document.querySelectorAll('.letter').length === 1);
  const reissued = await text(page, '.letter-code');
  assert.notEqual(reissued, codes['00421']);
  assert.match(await text(page, '.letter-to'), /Eva Procházková/);
  await call(daemon, 'POST', `/api/voting/budgets/${BUDGET.id}/ballots`,
    { body: { code: codes['00421'], projects: [ids[0]] }, expect: 403 });
  await page.close();

  // 6. paper ballots: two clerks agree; then two disagree, and the entries are discarded
  const enter = async (token, code, projectIds) => {
    const p = await clerkPage('paper', { token });
    await tabTo(p, '#paper-code');
    await typeInto(p, code.toLowerCase());
    for (const id of projectIds) await press(p, `#choice-${id}`, 'Space');
    await press(p, '#paper-enter');
    await waitText(p, '#paper-status', /./);
    return p;
  };
  page = await enter(OPERATOR, codes['00417'], [ids[0], ids[2]]);
  assert.match(await text(page, '#paper-status'), /: první zápis je uložený/);
  await page.close();
  page = await enter(OPERATOR, codes['00417'], [ids[0], ids[2]]);
  assert.match(await text(page, '#paper-status'), /už zapsali/);
  await page.close();
  page = await enter(CLERK2, codes['00417'], [ids[2], ids[0]]);
  assert.match(await text(page, '#paper-status'), /^Lístek [0-9A-Z-]{29}: oba zápisy se shodují, lístek je započítaný\. Účtenka pro voliče: [0-9A-Z-]{29}/);
  await checkPage(page, 'voting-admin-walk-paper-counted');
  await page.close();
  page = await enter(OPERATOR, codes['00418'], [ids[1]]);
  await page.close();
  page = await enter(CLERK2, codes['00418'], [ids[0]]);
  assert.match(await text(page, '#paper-status'), /zápisy se liší, proto se lístek nezapočítal/);
  assert.match(await text(page, '#paper-summary'), /rozdílnými zápisy: 1/);
  await checkPage(page, 'voting-admin-walk-paper-disagreement', { allowConsole: [/409/] });
  await press(page, '#paper-discard');
  await confirm(page, /Zahodit oba zápisy/);
  await waitText(page, '#paper-status', /zahozené/);
  assert.match(await text(page, '#paper-summary'), /druhý zápis: 0; lístky s rozdílnými zápisy: 0/);
  await page.close();
  // the discarded ballot's code still votes: nothing of it counted
  await postJSON(daemon, `/api/voting/budgets/${BUDGET.id}/ballots`, { code: codes['00418'], projects: [ids[1]] },
    { token: false });

  // 7. the pages that change most once voting is open, in the four views
  await fourViews('voting', ['index', 'paper']);

  // 8. voting → counting; results come by themselves; the link to the citizens' results
  page = await clerkPage('index');
  await nextPhase(page, 'Sčítání hlasů|Výsledky', /Hlasování skončí/); // a small count ends at once
  await page.waitForSelector('#results-link', { timeout: 30_000 });
  await checkPage(page, 'voting-admin-walk-results');
  await press(page, '#results-link');
  await page.waitForFunction(() => location.pathname === '/voting/results.html');
  assert.equal(new URL(page.url()).searchParams.get('b'), BUDGET.id);
  await page.close();
  const results = await eventually(() => getJSON(daemon, `/api/voting/budgets/${BUDGET.id}/results`));
  assert.equal(results.ballots, 2);
});
