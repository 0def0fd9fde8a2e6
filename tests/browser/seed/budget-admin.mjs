// The budget the clerk's pages are tried on (voting-admin.test.mjs): a
// town's participatory budget in its proposals phase, four proposals from
// citizens (sent as citizens do, without a token), and a register of
// voters as the town's records office would export it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postJSON } from './common.mjs';

export const BUDGET = {
  id: 'lhota-2027',
  name: 'Participativní rozpočet Dolní Lhoty 2027',
  district: '',
  amount: 500000,
  currency: 'CZK',
  ballot: { type: 'approval', min_projects: 1, max_projects: 2 },
  rule: 'mes+add1+greedy',
  dates: { counting: '2099-06-01T18:00:00+02:00' },
};

export const PROPOSALS = [
  { title: 'Lavičky v parku', description: 'Deset laviček podél cesty k rybníku.', cost: 120000, district: 'Centrum',
    location: { lat: 49.5938, lon: 17.2509 }, contact: 'jana.novakova@example.org' },
  { title: 'Dětské hřiště u školy', description: 'Houpačky, skluzavka a pískoviště s dopadovou plochou.',
    cost: 280000, district: 'Za Školou', contact: '+420 601 234 567' },
  { title: 'Knihobudka na návsi', description: 'Stará telefonní budka jako knihovna pro všechny.', cost: 40000,
    district: 'Náves', contact: 'petr.dvorak@example.org' },
  { title: 'Lávka přes potok', description: 'Nová dřevěná lávka na místě té, kterou vzala povodeň.', cost: 450000,
    district: 'Dolní konec', contact: 'spolek@example.org' },
];

// voter,name,address: the voter's number in the records, name and address for the letter
export const VOTERS = [
  ['00417', 'Nováková, Jana', 'Husova 12, 783 01 Dolní Lhota'],
  ['00418', 'Dvořák, Petr', 'Na Návsi 3, 783 01 Dolní Lhota'],
  ['00419', 'Svobodová, Marie', 'Polní 27, 783 01 Dolní Lhota'],
  ['00420', 'Černý, Tomáš', 'U Potoka 5, 783 01 Dolní Lhota'],
  ['00421', 'Procházková, Eva', 'Školní 8, 783 01 Dolní Lhota'],
];

const quote = (s) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Writes the register (and a malformed copy: a row with an open quote) into dir; their paths. */
export function registerFiles(dir) {
  const good = join(dir, 'volici.csv');
  const bad = join(dir, 'volici-chybny.csv');
  const rows = VOTERS.map((r) => r.map(quote).join(','));
  writeFileSync(good, `\ufeffvoter,name,address\r\n${rows.join('\r\n')}\r\n`);
  writeFileSync(bad, `voter,name,address\r\n${rows[0]}\r\n00500,"Kovář, Jan,Lipová 1\r\n`);
  return { good, bad };
}

/** The voting plugin's entry for the daemon's config. */
export function votingPlugin() {
  return { use: 'voting', config: { budgets: [BUDGET] } };
}

/** Sends the proposals as citizens (no token); their ids. */
export async function propose(daemon) {
  const ids = [];
  for (const p of PROPOSALS) {
    ids.push((await postJSON(daemon, `/api/voting/budgets/${BUDGET.id}/proposals`, p, { token: false })).id);
  }
  return ids;
}
