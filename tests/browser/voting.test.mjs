// The participatory budget's citizen pages in Chromium against the real
// daemon: every page in the four views (no console error, no axe-core
// violation, a screenshot each); a citizen votes with the code from their
// letter by keyboard alone and checks the receipt after counting; a second
// vote with the same code is refused in the page with the server's
// sentence; the ballot rules are enforced in the page (approval's maximum,
// the knapsack bar that stops at the budget, points over the limit); the
// results page shows the winners the reference implementations compute
// for the Dieppe 2018 election (seed/election.mjs).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { checkPage, launch, openPage, startDaemon, tabTo, typeInto, views, webPlugin } from './harness.mjs';
import { count, seedElection, votingPlugin } from './seed/election.mjs';

let daemon;
let browser;
let seed;
let receipt;

before(async () => {
  daemon = await startDaemon({ plugins: [webPlugin(), votingPlugin()] });
  seed = await seedElection(daemon);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
});

// 'load', not network idle: the service worker's first caching keeps the
// network busy, and every page here waits for its own content instead
const open = (path, view = { width: 320, lang: 'cs' }) =>
  openPage(browser, `${daemon.url}/voting/${path}`, { ...view, daemon, wait: 'load' });

async function ready(page) {
  await page.waitForSelector('#page > *');
  return page;
}

async function textOf(page, selector) {
  return page.$eval(selector, (n) => n.textContent.replace(/\s+/g, ' ').trim());
}

// Pages in the four views: one browser context per view (its language
// stays), each page loaded in it and checked.
async function everyView(pages, list = views) {
  for (const view of list) {
    let page = null;
    for (const [name, path] of pages) {
      if (!page) page = await open(path, view);
      else await page.goto(`${daemon.url}/voting/${path}`, { waitUntil: 'load' });
      await ready(page);
      await checkPage(page, `voting-${name}-${view.width}-${view.lang}`);
    }
    await page.close();
  }
}

test('every page before counting, in the four views', async () => {
  await everyView([
    ['budgets', ''],
    ['proposals-map', 'budget.html?b=lhota-2027'],
    ['ballot-approval', 'vote.html?b=lhota-2027'],
    ['ballot-knapsack', 'vote.html?b=hriste'],
    ['ballot-points', 'vote.html?b=skoly'],
  ]);
  // the same pages in the other phases: what they say before their time
  await everyView([
    ['proposals-phase', 'budget.html?b=zelen'],
    ['receipt-before', 'receipt.html?b=lhota-2027'],
    ['results-before', 'results.html?b=lhota-2027'],
  ], [views[0], views[3]]);
});

test('each page says the phase and what comes next', async () => {
  const page = await ready(await open(''));
  const cards = await page.$$eval('.budget', (list) => list.map((n) => n.textContent.replace(/\s+/g, ' ')));
  assert.equal(cards.length, 4);
  assert.match(cards[0], /Hlasování probíhá\..*Hlasovat můžete do/);
  assert.match(cards[3], /Sbíráme návrhy projektů\..*Návrhy přijímáme do/);
  await page.close();
});

test('the map shows the projects that have a place, the list every project', async () => {
  const page = await ready(await open('budget.html?b=lhota-2027', { width: 1280, lang: 'en' }));
  const markers = await page.$$eval('[data-marker-id]', (n) => n.length);
  const items = await page.$$eval('.proposal', (n) => n.length);
  const placed = Object.keys(seed.lhota.idOf).length - Math.floor(Object.keys(seed.lhota.idOf).length / 3);
  assert.equal(items, 16);
  assert.equal(markers, placed);
  // a marker reached by keyboard opens its project in the list
  await tabTo(page, '[data-marker-id]', { max: 80 });
  const id = await page.evaluate(() => document.activeElement.dataset.markerId);
  await page.keyboard.press('Enter');
  await page.waitForFunction((pid) => document.activeElement?.id === `p-${pid}`, {}, id);
  await page.close();
});

test('a citizen votes with the code from the letter, by keyboard alone, and gets a receipt', async () => {
  const page = await ready(await open('vote.html?b=lhota-2027'));
  for (const id of [...seed.lhota.myBallot].sort((a, b) => a - b)) {
    await tabTo(page, `#pc-${id}`, { max: 80 });
    await page.keyboard.press('Space');
  }
  assert.match(await textOf(page, '#tally'), /Vybrány 4 projekty/);
  await tabTo(page, '#code', { max: 80 });
  await typeInto(page, seed.lhota.myCode.toLowerCase()); // as people type it: case does not matter
  await page.keyboard.press('Enter');
  await page.waitForSelector('#receipt-code');
  receipt = await textOf(page, '#receipt-code');
  assert.match(receipt, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'receipt-heading');
  await checkPage(page, 'voting-receipt-320-cs');
  await page.close();
});

test('a second vote with the same code is refused in the page, with the server\'s sentence', async () => {
  assert.ok(receipt, 'the first vote went through');
  for (const lang of ['cs', 'en']) {
    const page = await ready(await open('vote.html?b=lhota-2027', { width: 320, lang }));
    await tabTo(page, `#pc-${seed.lhota.myBallot[0]}`, { max: 80 });
    await page.keyboard.press('Space');
    await tabTo(page, '#code', { max: 80 });
    await typeInto(page, seed.lhota.myCode);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#vote-error');
    const said = await textOf(page, '#vote-error');
    assert.match(said, lang === 'cs' ? /S tímto kódem už někdo hlasoval/ : /This code has already been used/);
    assert.match(said, /this code has already voted/);
    assert.equal(await page.$('#receipt-code'), null);
    // the browser logs the refused request itself; the page handled it
    await checkPage(page, `voting-refused-320-${lang}`, { allowConsole: [/status of 409 \(Conflict\).*\/ballots/] });
    await page.close();
  }
});

test('the page enforces the ballot rules', async () => {
  // approval: at most four projects; a fifth is refused and stays unchosen
  let page = await ready(await open('vote.html?b=lhota-2027'));
  const ids = Object.values(seed.lhota.idOf).sort((a, b) => a - b);
  for (const id of ids.slice(0, 5)) {
    await tabTo(page, `#pc-${id}`, { max: 80 });
    await page.keyboard.press('Space');
  }
  assert.equal(await page.$eval(`#pc-${ids[4]}`, (n) => n.checked), false);
  assert.match(await textOf(page, '#refused'), /nejvýše 4/);
  await page.close();

  // knapsack: the bar stops at the budget (500 000): 250 000 + 200 000 fit, 150 000 more does not
  page = await ready(await open('vote.html?b=hriste', { width: 1280, lang: 'cs' }));
  const [hall, track, gym] = seed.hriste.ids;
  for (const id of [hall, track, gym]) {
    await tabTo(page, `#pc-${id}`, { max: 80 });
    await page.keyboard.press('Space');
  }
  assert.equal(await page.$eval(`#pc-${gym}`, (n) => n.checked), false);
  assert.match(await textOf(page, '#refused'), /se už do rozpočtu nevejde/);
  const bar = await textOf(page, '#tally');
  assert.match(bar, /Vybrané projekty stojí 450\s000\sKč z 500\s000\sKč/);
  assert.match(bar, /Zbývá 50\s000\sKč/);
  assert.equal(await page.$eval(`#fit-${gym}`, (n) => n.hidden), false, 'the project that no longer fits says so');
  const width = await page.$eval('.budget-bar .fill', (n) => n.style.width);
  assert.equal(width, '90%');
  // and with nothing chosen the ballot cannot be sent
  for (const id of [track, hall]) {
    await tabTo(page, `#pc-${id}`, { max: 80, shift: true });
    await page.keyboard.press('Space');
  }
  await tabTo(page, 'button[type="submit"]', { max: 80 });
  await page.keyboard.press('Enter');
  await page.waitForSelector('#problems');
  assert.match(await textOf(page, '#problems'), /Vyberte ještě aspoň 1 projekt/);
  await page.close();

  // points: at most 5 on one project, 10 in all
  page = await ready(await open('vote.html?b=skoly', { width: 320, lang: 'en' }));
  const [a, b, c] = seed.skoly.ids;
  for (const [id, points] of [[a, 7], [b, 5], [c, 4]]) {
    await tabTo(page, `#pp-${id}`, { max: 80 });
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await typeInto(page, String(points));
    await page.keyboard.press('Tab');
  }
  assert.deepEqual(await page.$$eval('.choice-points input', (n) => n.map((i) => i.value)), ['5', '5', '0', '0']);
  assert.match(await textOf(page, '#tally'), /10 of 10 points given/);
  assert.match(await textOf(page, '#refused'), /You have no more points/);
  await page.close();
});

test('after counting: the winners the rule computes, each project explained, the receipt found', async () => {
  await count(daemon, seed.lhota.id);
  const page = await ready(await open('results.html?b=lhota-2027', { width: 1280, lang: 'cs' }));
  const winners = await page.$$eval('#winners li', (n) => n.map((li) => li.dataset.project));
  const asPabulib = (list) => list.map((id) => seed.lhota.pabulibOf[id]).sort();
  assert.deepEqual(asPabulib(winners), [...seed.lhota.winners].sort(), 'MES + add1 as expected.md gives it');
  const rows = await page.$$eval('.results-table tbody tr', (n) => n.map((tr) => ({
    id: tr.dataset.project, cells: [...tr.children].map((c) => c.textContent.trim()) })));
  assert.equal(rows.length, 16);
  for (const r of rows) assert.ok(r.cells[4].length > 10, `project ${r.id} has its reason`);
  const byGreedy = rows.filter((r) => r.cells[5] === 'vybrán').map((r) => r.id);
  assert.deepEqual(asPabulib(byGreedy), [...seed.lhota.greedy].sort(), 'greedy as expected.md gives it');
  assert.match(await textOf(page, '#compare'), /podle počtu hlasů by jich bylo/);
  const pb = await page.$eval('a[href$="ballots.pb"]', (a) => a.href);
  assert.match((await (await fetch(pb)).text()), /^META/);
  await page.close();

  await everyView([
    ['results', 'results.html?b=lhota-2027'],
    ['receipt-check', 'receipt.html?b=lhota-2027'],
  ]);

  // the receipt, checked by keyboard: found, with the four projects voted for
  const check = await ready(await open('receipt.html?b=lhota-2027'));
  await tabTo(check, '#receipt', { max: 80 });
  await typeInto(check, receipt);
  await check.keyboard.press('Enter');
  await check.waitForSelector('#verdict');
  assert.match(await textOf(check, '#verdict'), /Váš hlas je započítaný/);
  const votedFor = await check.$$eval('.voted-for li', (n) => n.map((li) => li.textContent));
  assert.deepEqual(votedFor.sort(), seed.lhota.myBallot.map((id) => seed.lhota.titles[seed.lhota.pabulibOf[id]]).sort());
  await checkPage(check, 'voting-receipt-found-320-cs');
  await check.close();

  // a receipt with a typing mistake is not found
  const wrong = await ready(await open('receipt.html?b=lhota-2027', { width: 320, lang: 'en' }));
  await tabTo(wrong, '#receipt', { max: 80 });
  await typeInto(wrong, receipt.slice(0, -1) + (receipt.endsWith('A') ? 'B' : 'A'));
  await wrong.keyboard.press('Enter');
  await wrong.waitForSelector('#verdict');
  assert.match(await textOf(wrong, '#verdict'), /not in the list of votes/);
  await wrong.close();
});
