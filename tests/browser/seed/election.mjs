// An election with known winners for the voting pages: the Dieppe 2018
// participatory budget from pabulib (16 projects, 378 approval ballots),
// read in place from the shared reference folder (MESTYS_PABULIB_DIR), with
// the winners two independent implementations computed for it
// (expected.md: "MES + add1", and greedy by votes for the comparison).
// Every ballot but one is cast through the API; the last is the citizen's,
// cast in the browser, so the counted election is exactly the reference's.
// Beside it: a knapsack budget and a points budget in voting, and a budget
// still taking proposals, so every page has a phase to show.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { call, eventually } from './common.mjs';

export const PABULIB = process.env.MESTYS_PABULIB_DIR || '/work/shared/reference/pabulib';
const DIEPPE = 'Canada_Stanford_Dataset_PB_Dieppe_2018_vote_approvals.pb';

// Names and places for the pabulib projects (the file has only ids, costs
// and categories): a Czech town's proposals, so the pages read as they would.
const NAMES = {
  777: 'Nové osvětlení náměstí', 778: 'Rekonstrukce hasičské zbrojnice', 779: 'Komunitní zahrada za školou',
  780: 'Dětské hřiště v parku', 781: 'Chodník k nádraží', 782: 'Stojany na kola u úřadu',
  783: 'Bezbariérová zastávka', 784: 'Workoutové hřiště', 785: 'Obnova aleje u rybníka',
  786: 'Lavičky podél řeky', 787: 'Venkovní klubovna pro mládež', 788: 'Knihobudka na náměstí',
  789: 'Pítko v parku', 790: 'Naučná stezka lesem', 791: 'Skatepark u sokolovny', 792: 'Kryté pódium v parku',
};
const CENTRE = { lat: 49.5938, lon: 17.2509 };

export function readPb(file) {
  const lines = readFileSync(path.join(PABULIB, file), 'utf8').split(/\r?\n/);
  const section = (name) => {
    const at = lines.indexOf(name);
    const head = lines[at + 1].split(';');
    const rows = [];
    for (const line of lines.slice(at + 2)) {
      if (!line || /^[A-Z]+$/.test(line)) break;
      const f = line.split(';');
      rows.push(Object.fromEntries(head.map((h, i) => [h, f[i]])));
    }
    return rows;
  };
  const meta = Object.fromEntries(section('META').map((r) => [r.key, r.value]));
  return { meta, projects: section('PROJECTS'), votes: section('VOTES') };
}

// The selected project ids of one row of expected.md's table for an instance.
export function expectedRow(instance, rule, implementation) {
  const text = readFileSync(path.join(PABULIB, 'expected.md'), 'utf8');
  const part = text.slice(text.indexOf(`## ${instance}`));
  const section = part.slice(0, part.indexOf('\n## ', 3) > 0 ? part.indexOf('\n## ', 3) : undefined);
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells[1] === rule && cells[2].startsWith(implementation)) return cells[3].split(',').map((s) => s.trim());
  }
  throw new Error(`expected.md has no row "${rule}" / "${implementation}" for ${instance}`);
}

const inDays = (d) => new Date(Date.now() + d * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');

// The voting plugin's config entry for the daemon.
export function votingPlugin() {
  const { meta } = readPb(DIEPPE);
  return {
    use: 'voting',
    config: {
      budgets: [
        { id: 'lhota-2027', name: 'Participativní rozpočet 2027', amount: Number(meta.budget), currency: 'CZK',
          ballot: { type: 'approval', min_projects: 1, max_projects: 4 }, rule: 'mes+add1',
          dates: { counting: inDays(21) } },
        { id: 'hriste', name: 'Sportoviště a hřiště', district: 'Horní Lhota', amount: 500000, currency: 'CZK',
          ballot: { type: 'knapsack', min_projects: 1 }, rule: 'greedy' },
        { id: 'skoly', name: 'Školy a mládež', amount: 300000, currency: 'CZK',
          ballot: { type: 'cumulative', min_projects: 1, points: 10, max_points: 5 }, rule: 'greedy' },
        { id: 'zelen', name: 'Zeleň ve městě 2028', amount: 400000, currency: 'CZK',
          dates: { review: inDays(30), voting: inDays(60), counting: inDays(90) } },
      ],
    },
  };
}

// POST/GET on the voting API; the operator's token for manage/ routes.
const voting = (d, method, route, body, headers = {}) =>
  call(d, method, `/api/voting/${route}`, { body, token: route.startsWith('manage/'), headers });

async function propose(d, budget, list) {
  const ids = [];
  for (const p of list) {
    const r = await voting(d, 'POST', `budgets/${budget}/proposals`,
      { title: p.title, description: p.description || '', cost: p.cost, district: p.district || '',
        ...(p.location ? { location: p.location } : {}), contact: 'navrhovatel@example.org' });
    ids.push(r.body.id);
  }
  return ids;
}

async function codes(d, budget, n) {
  const csv = `voter\n${Array.from({ length: n }, (_, i) => `${budget}-${i}`).join('\n')}\n`;
  await voting(d, 'POST', `manage/${budget}/register`, csv, { 'Content-Type': 'text/csv' });
  const r = await voting(d, 'POST', `manage/${budget}/codes`);
  return r.body.trim().split(/\r?\n/).slice(1).map((line) => line.split(',').pop());
}

export const phase = (d, budget, to) => voting(d, 'POST', `manage/${budget}/phase`, { phase: to });

async function review(d, budget, ids, infeasible = {}) {
  await phase(d, budget, 'review');
  for (const id of ids) {
    const reason = infeasible[id];
    await voting(d, 'POST', `manage/${budget}/review/${id}`, { feasible: !reason, reason: reason || '' });
  }
}

// Seeds every budget; returns what the tests need to know.
export async function seedElection(d) {
  const pb = readPb(DIEPPE);
  // ascending pabulib ids get ascending server ids: the tie order (by id) is the reference's
  const order = [...pb.projects].sort((a, b) => Number(a.project_id) - Number(b.project_id));
  const ids = await propose(d, 'lhota-2027', order.map((p, i) => ({
    title: NAMES[p.project_id], cost: Number(p.cost),
    description: `Návrh občanů č. ${p.project_id}. Odhad nákladů připravil odbor investic.`,
    // every third one without a place; the others scattered over the town (fixed, not random)
    location: i % 3 === 2 ? undefined
      : { lat: CENTRE.lat + (((i * 37) % 17) / 17 - 0.5) * 0.012, lon: CENTRE.lon + (((i * 53) % 19) / 19 - 0.5) * 0.02 } })));
  const idOf = Object.fromEntries(order.map((p, i) => [p.project_id, ids[i]]));
  const pabulibOf = Object.fromEntries(order.map((p, i) => [ids[i], p.project_id]));
  await review(d, 'lhota-2027', ids);
  const lhotaCodes = await codes(d, 'lhota-2027', pb.votes.length);
  await phase(d, 'lhota-2027', 'voting');
  // the citizen's ballot: the first one that names four projects
  const mine = pb.votes.findIndex((v) => v.vote.split(',').length === 4);
  const ballots = pb.votes.map((v) => v.vote.split(',').filter(Boolean).map((p) => idOf[p]));
  const others = ballots.map((b, i) => [b, lhotaCodes[i]]).filter((_, i) => i !== mine);
  for (let i = 0; i < others.length; i += 25) {
    await Promise.all(others.slice(i, i + 25).map(([projects, code]) =>
      voting(d, 'POST', 'budgets/lhota-2027/ballots', { code, projects })));
  }

  const sport = await propose(d, 'hriste', [
    { title: 'Multifunkční hřiště u školy', cost: 250000, description: 'Umělý povrch pro fotbal, basketbal a volejbal, volně přístupné odpoledne.', location: { lat: 49.5961, lon: 17.2455 } },
    { title: 'Běžecká dráha v parku', cost: 200000, description: 'Okruh 400 m s pružným povrchem kolem louky.', location: { lat: 49.5925, lon: 17.2541 } },
    { title: 'Venkovní posilovna', cost: 150000, description: 'Osm strojů pro cvičení vlastní vahou u cyklostezky.', location: { lat: 49.5947, lon: 17.2588 } },
    { title: 'Stůl na stolní tenis', cost: 40000, description: 'Betonový stůl u dětského hřiště.' },
    { title: 'Lezecká stěna v tělocvičně', cost: 120000, description: 'Tělocvična patří kraji, ne městu.' },
  ]);
  await review(d, 'hriste', sport, { [sport[4]]: 'Tělocvična není v majetku města.' });
  const sportCodes = await codes(d, 'hriste', 3);
  await phase(d, 'hriste', 'voting');

  const school = await propose(d, 'skoly', [
    { title: 'Venkovní učebna', cost: 120000, description: 'Zastřešené lavice na školní zahradě.' },
    { title: 'Nové knihy do školní knihovny', cost: 30000, description: 'Knihy pro první stupeň.' },
    { title: 'Stojany na koloběžky', cost: 25000, description: 'Dvacet stojanů před školou.' },
    { title: 'Keramická pec pro kroužek', cost: 90000, description: 'Pec pro keramický kroužek domu dětí.' },
  ]);
  await review(d, 'skoly', school);
  const schoolCodes = await codes(d, 'skoly', 3);
  await phase(d, 'skoly', 'voting');

  await propose(d, 'zelen', [
    { title: 'Stromořadí v Nádražní ulici', cost: 180000, location: { lat: 49.5912, lon: 17.2497 },
      description: 'Dvacet lip podél chodníku od nádraží k náměstí.' },
    { title: 'Květnatá louka místo trávníku', cost: 60000, location: { lat: 49.5951, lon: 17.2531 },
      description: 'Sekat dvakrát ročně a vysít luční květiny.' },
    { title: 'Zelená střecha na zastávce', cost: 45000, description: 'Rozchodníky na střeše zastávky U Pošty.' },
  ]);

  const instance = 'Canada_Stanford_Dataset_PB_Dieppe_2018_vote_approvals.pb';
  return {
    lhota: { id: 'lhota-2027', idOf, pabulibOf, myBallot: ballots[mine], myCode: lhotaCodes[mine],
      winners: expectedRow(instance, 'MES + add1', 'equalshares tool'),
      greedy: expectedRow(instance, 'greedy by votes', 'pabutools'), titles: NAMES },
    hriste: { id: 'hriste', ids: sport, codes: sportCodes },
    skoly: { id: 'skoly', ids: school, codes: schoolCodes },
    zelen: { id: 'zelen' },
  };
}

// Voting closed and counted: waits for the results phase.
export async function count(d, budget) {
  await phase(d, budget, 'counting');
  await eventually(async () => {
    const b = (await voting(d, 'GET', `budgets/${budget}`)).body;
    if (b.phase !== 'results') throw new Error(`budget ${budget} is still in ${b.phase}`);
  });
}
