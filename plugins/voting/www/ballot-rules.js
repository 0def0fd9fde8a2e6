// A budget's ballot rules, as the page enforces them before anything is
// sent (plugins/voting/ballot.c enforces the same on the server):
// approval (min..max projects), knapsack (projects within the amount, and
// at least min_share of it) and cumulative (points, at most max_points on
// one project).  Pure functions over {rules, projects, choice}: choice maps
// a project id to 1 (chosen) or its points.

// Why adding `id` (or raising it to `value` points) must be refused, or null.
export function refusal(rules, projects, choice, id, value = 1) {
  const chosen = Object.keys(choice).filter((k) => choice[k] > 0 && String(k) !== String(id));
  if (rules.max_projects > 0 && value > 0 && chosen.length + 1 > rules.max_projects) {
    return { key: 'vote.too_many', vars: { max: rules.max_projects } };
  }
  if (rules.type === 'knapsack') {
    const cost = projects.find((p) => String(p.id) === String(id)).cost;
    const spent = spentOn(projects, choice, id);
    if (spent + cost > rules.amount) {
      return { key: 'vote.over_budget', vars: { cost, left: rules.amount - spent } };
    }
  }
  if (rules.type === 'cumulative') {
    if (rules.max_points > 0 && value > rules.max_points) {
      return { key: 'vote.over_max_points', vars: { max: rules.max_points } };
    }
    if (pointsGiven(choice, id) + value > rules.points) {
      return { key: 'vote.over_points', vars: { points: rules.points } };
    }
  }
  return null;
}

// Money the choice spends, leaving out `except`.
export function spentOn(projects, choice, except = null) {
  return projects.reduce((sum, p) => (choice[p.id] > 0 && String(p.id) !== String(except) ? sum + p.cost : sum), 0);
}

export function pointsGiven(choice, except = null) {
  return Object.keys(choice).reduce((sum, k) => (String(k) !== String(except) ? sum + (choice[k] || 0) : sum), 0);
}

export function count(choice) {
  return Object.keys(choice).filter((k) => choice[k] > 0).length;
}

// What still keeps the ballot from being sent: [{key, vars, plural}], empty when it is valid.
export function missing(rules, projects, choice) {
  const out = [];
  const n = count(choice);
  if (n < rules.min_projects) out.push({ key: 'vote.need_more', n: rules.min_projects - n });
  if (rules.type === 'knapsack' && rules.min_share > 0) {
    const min = Math.ceil(rules.min_share * rules.amount);
    if (spentOn(projects, choice) < min) out.push({ key: 'vote.need_cost', vars: { min } });
  }
  return out;
}

// The body of POST budgets/<id>/ballots for this choice.
export function ballotBody(rules, choice) {
  const ids = Object.keys(choice).filter((k) => choice[k] > 0).map(Number).sort((a, b) => a - b);
  if (rules.type === 'cumulative') {
    return { points: Object.fromEntries(ids.map((id) => [String(id), choice[id]])) };
  }
  return { projects: ids };
}

// A code or receipt as the server reads it (plugins/voting/code.c): Crockford
// base32, upper case, I and L read as 1, O as 0, dashes and spaces ignored;
// null unless it is 25 symbols.
export function normaliseCode(text) {
  const s = String(text || '').toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  return /^[0-9A-HJKMNP-TV-Z]{25}$/.test(s) ? s : null;
}

export function groupCode(s) {
  return s.match(/.{1,5}/g).join('-');
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// A code's last symbol checks the 24 before it (a polynomial over GF(32),
// plugins/voting/code.c): one mistyped symbol or two neighbours swapped is
// told here as a typing mistake, before anything is sent.
export function codeChecks(s) {
  let c = 0;
  for (let i = 0; i < 24; i++) {
    c = (c ^ ALPHABET.indexOf(s[i])) << 1;
    if (c & 32) c ^= 0x25;
  }
  return ALPHABET[c] === s[24];
}
