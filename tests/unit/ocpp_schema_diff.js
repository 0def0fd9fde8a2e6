#!/usr/bin/env node
// ocpp_schema_diff.js - the charging plugin's OCPP 1.6 validator (ocpp_schema.c, through the
// ocpp_validate filter) against ajv on a generated corpus: for every one of the 78 schemas, valid
// payloads generated from the schema and mutations of them (a required property dropped, an unknown
// one added, a wrong type, a string one character too long, a bad enum value, tricky date-times and
// URIs, a non-multiple of 0.1, an empty array where one item is needed).  Every payload must get the
// same verdict (valid or not) from both; where ajv (allErrors) finds exactly one error, its keyword
// must map to the OCPP-J code ours gives (the table in ocpp_schema.h).
//
// Then the text itself: frames of that corpus with a few bytes changed, against json_strict.c (what
// stands before cJSON, which is more lenient): it must accept exactly what JSON.parse accepts from
// well-formed UTF-8, less what json_strict.h refuses besides (a string holding U+0000 or a lone
// surrogate, nesting deeper than 32).
//
// ajv is the pinned ajv 8 + ajv-formats 3 of tests/integration, configured as ocpp-rpc configures it
// (lib/validator.js: strictSchema off, multipleOf with a 1e-6 tolerance), with allErrors on.
//   node ocpp_schema_diff.js path/to/ocpp_validate [seed]
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const modules = path.join(__dirname, '..', 'integration', 'node_modules');
const Ajv = require(path.join(modules, 'ajv'));
const addFormats = require(path.join(modules, 'ajv-formats'));

const validator = process.argv[2];
const seed = Number(process.argv[3] || 20261127);
if (!validator) {
    console.error('usage: ocpp_schema_diff.js path/to/ocpp_validate [seed]');
    process.exit(2);
}
const schemas = JSON.parse(fs.readFileSync(
    path.join(__dirname, '..', '..', 'plugins', 'charging', 'schemas', 'ocpp1_6.json'), 'utf8'));

function makeAjv() {
    const ajv = new Ajv({ strictSchema: false, allErrors: true });
    addFormats(ajv);
    ajv.removeKeyword('multipleOf');
    ajv.addKeyword({
        keyword: 'multipleOf', type: 'number', errors: false, metaSchema: { type: 'number' },
        compile: (m) => (data) => { const q = data / m; return Math.abs(Math.round(q) - q) < 1e-6; },
    });
    // each schema compiled alone, without its $id: ajv 8.17's URI library refuses "urn:Authorize.req"
    // (ocpp-rpc's older ajv took it); every $ref is local to its schema, so nothing else changes
    const compiled = {};
    for (const { $id, ...schema } of schemas) compiled[$id] = ajv.compile(schema);
    return { ajv, compiled };
}

// --- a seeded generator ------------------------------------------------------------------------
let state = seed >>> 0;
function rand() { // mulberry32
    state = (state + 0x6D2B79F5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
const pick = (list) => list[int(list.length)];

const DATE_TIMES = {
    valid: ['2026-11-27T10:00:00Z', '2026-11-27t10:00:00z', '2026-11-27 10:00:00Z', '2026-11-27T10:00:00.1Z',
        '2026-11-27T10:00:00.123456789+01:00', '2026-11-27T10:00:00-0130', '2026-11-27T10:00:00+05',
        '2024-02-29T00:00:00Z', '2000-02-29T23:59:59Z', '2026-06-30T23:59:60Z', '2026-06-30T00:59:60+01:00',
        '2026-06-30T22:29:60-01:30', '2026-11-27\u00a010:00:00Z', '2026-11-27\u300010:00:00Z',
        '2026-11-27T23:59:59.99999999999999999Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z'],
    invalid: ['2026-11-27T10:00:00', '2026-11-27T10:00Z', '2026-11-27T10:00:00.Z', '2026-11-27T24:00:00Z',
        '2026-11-27T10:60:00Z', '2026-11-27T10:00:60Z', '2026-11-27T23:59:60+01:00', '2026-11-27T10:00:00+24:00',
        '2026-11-27T10:00:00+01:60', '2026-11-27T10:00:00+1', '2026-13-01T10:00:00Z', '2026-02-29T10:00:00Z',
        '1900-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '26-11-27T10:00:00Z', '2026-11-27TT10:00:00Z',
        '2026-11-27T10:00:00Zt', '2026-11-27X10:00:00Z', '2026-11-27T10:00:59.99999999999999999Z',
        '\uff12026-11-27T10:00:00Z', '', 'yesterday', '2026-11-27', '2026-11-27T10:00:00 Z',
        '2026-11-27T10:00:00\u00a0'],
};
const URIS = {
    valid: ['ftp://fw.example.com/cp/1.2.bin', 'https://user:pw@example.com:8443/a/b?c=d&e#f', 'HTTP://EXAMPLE.COM',
        'urn:isbn:0451450523', 'mailto:a@b.cz', 'file:///tmp/x', 'http://[::1]:80/', 'http://[2001:db8::7]/c=GB',
        'http://[::ffff:192.0.2.1]/', 'http://[v1.fe80::a+en1]/', 'http:/[::1]/x', 'http://ex%41mple.com/%7e',
        'a+b-c.d:x', 'http://h:/', 'http://h?', 'http://h#', 'http://h/?a/?b#c/?d', 'http://h:8o/',
        'http://[1:2:3:4:5:6:7:8]/', 'http://[1::]/', 'http://[::]/', 'http://[1:2:3:4:5:6:1.2.3.4]/'],
    invalid: ['fw.example.com/cp/1.2.bin', '/relative/path', '1http://x', 'http://exa mple.com',
        'http://example.com/%zz', 'http://example.com/%4', 'http://[::1/', 'http://[:::1]/',
        'http://[1:2:3:4:5:6:7:8:9]/', 'http://[1::2::3]/', 'http://[::256.0.0.1]/', 'http://h/a#b#c',
        'http://h/\u00e9', 'http://h/a\\b', 'http://h/<', '', 'http', 'x:', 'http:?x', 'http://[vz.x]/',
        'http://[1:2:3:4:5:6:7:8:1.2.3.4]/', 'http://[1:2:3:4:5:6:7]/'],
};
const CHARS = ['a', 'Z', '0', ' ', '-', '_', '"', '\\', '/', '\n', '\t', 'č', 'ř', 'ž', 'ß', '€', '中', '😀', '\u2028'];

function resolve(root, s) {
    while (s && s.$ref) s = root.definitions[s.$ref.replace('#/definitions/', '')];
    return s;
}

function genString(s) {
    if (s.enum) return pick(s.enum);
    if (s.format === 'date-time') return pick(DATE_TIMES.valid);
    if (s.format === 'uri') return pick(URIS.valid);
    const max = s.maxLength !== undefined ? s.maxLength : 30;
    const n = rand() < 0.2 ? max : int(max + 1);
    let out = '';
    for (let i = 0; i < n; i++) out += pick(CHARS);
    return out;
}

function genNumber(s, integer) {
    if (integer) return pick([0, 1, -1, 7, 300, 65535, 2147483647, -2147483648, 9007199254740991, int(100000)]);
    if (s.multipleOf) return int(100000) / 10;
    return pick([0, 1.5, -3.25, 1e-7, 123456.789, 1e300, int(1000)]);
}

function gen(root, schema, depth) {
    const s = resolve(root, schema);
    const t = s.type;
    if (t === 'object' || s.properties) {
        const o = {};
        for (const [k, v] of Object.entries(s.properties || {}))
            if ((s.required || []).includes(k) || rand() < 0.5) o[k] = gen(root, v, depth + 1);
        return o;
    }
    if (t === 'array') {
        const n = (s.minItems || 0) + int(3);
        const a = [];
        for (let i = 0; i < n; i++) a.push(gen(root, s.items || {}, depth + 1));
        return a;
    }
    if (t === 'string') return genString(s);
    if (t === 'integer') return genNumber(s, true);
    if (t === 'number') return genNumber(s, false);
    if (t === 'boolean') return rand() < 0.5;
    return null;
}

// Every place in a payload with the schema that governs it: [container, key, schema].
function places(root, schema, value, out) {
    const s = resolve(root, schema);
    if (Array.isArray(value)) {
        value.forEach((v, i) => { out.push([value, i, s.items || {}]); places(root, s.items || {}, v, out); });
    } else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
            const ps = (s.properties || {})[k] || {};
            out.push([value, k, ps]);
            places(root, ps, v, out);
        }
    }
    return out;
}
// Every object in a payload with its schema.
function objects(root, schema, value, out) {
    const s = resolve(root, schema);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
        out.push([value, s]);
        for (const [k, v] of Object.entries(value)) objects(root, (s.properties || {})[k] || {}, v, out);
    } else if (Array.isArray(value)) {
        value.forEach((v) => objects(root, s.items || {}, v, out));
    }
    return out;
}

const clone = (v) => JSON.parse(JSON.stringify(v));
const WRONG = [1, 1.5, 's', true, null, [], {}];

// One mutation of a copy of payload; null when this kind has no place to apply.
const MUTATIONS = {
    drop_required(root, schema, p) {
        const obs = objects(root, schema, p, []).filter(([o, s]) => (s.required || []).some((k) => k in o));
        if (!obs.length) return null;
        const [o, s] = pick(obs);
        delete o[pick((s.required || []).filter((k) => k in o))];
        return p;
    },
    unknown_property(root, schema, p) {
        const [o] = pick(objects(root, schema, p, []));
        o[pick(['x', 'Extra', 'idtag', 'connectorid', '$ref'])] = pick(WRONG);
        return p;
    },
    wrong_type(root, schema, p) {
        const ps = places(root, schema, p, []);
        if (!ps.length) return null;
        const [c, k] = pick(ps);
        c[k] = pick(WRONG);
        return p;
    },
    too_long(root, schema, p) {
        const ps = places(root, schema, p, []).filter(([, , s]) => resolve(root, s).maxLength !== undefined);
        if (!ps.length) return null;
        const [c, k, s] = pick(ps);
        const max = resolve(root, s).maxLength, ch = pick(CHARS);
        c[k] = ch.repeat(max + (rand() < 0.5 ? 1 : 0)); // at the limit or one over, in code points
        return p;
    },
    bad_enum(root, schema, p) {
        const ps = places(root, schema, p, []).filter(([, , s]) => resolve(root, s).enum);
        if (!ps.length) return null;
        const [c, k, s] = pick(ps);
        const e = pick(resolve(root, s).enum);
        c[k] = pick([e.toLowerCase(), e.toUpperCase(), e + ' ', 'Bogus', '', e]);
        return p;
    },
    date_time(root, schema, p) {
        const ps = places(root, schema, p, []).filter(([, , s]) => resolve(root, s).format === 'date-time');
        if (!ps.length) return null;
        const [c, k] = pick(ps);
        c[k] = pick(rand() < 0.5 ? DATE_TIMES.valid : DATE_TIMES.invalid);
        return p;
    },
    uri(root, schema, p) {
        const ps = places(root, schema, p, []).filter(([, , s]) => resolve(root, s).format === 'uri');
        if (!ps.length) return null;
        const [c, k] = pick(ps);
        c[k] = pick(rand() < 0.5 ? URIS.valid : URIS.invalid);
        return p;
    },
    not_multiple(root, schema, p) {
        const ps = places(root, schema, p, []).filter(([, , s]) => resolve(root, s).multipleOf);
        if (!ps.length) return null;
        const [c, k] = pick(ps);
        // within ocpp-rpc's 1e-6 of a multiple, or just outside it
        c[k] = pick([int(10000) / 100, 0.3, 0.7, 1.1, 2.45, -0.1, 1e-7, 16.000001, 0.1000000005, 7.00000002]);
        return p;
    },
    empty_array(root, schema, p) {
        const ps = places(root, schema, p, []).filter(([c, k]) => Array.isArray(c[k]));
        if (!ps.length) return null;
        const [c, k] = pick(ps);
        c[k] = [];
        return p;
    },
    integer_as_float(root, schema, p) {
        const ps = places(root, schema, p, []).filter(([, , s]) => resolve(root, s).type === 'integer');
        if (!ps.length) return null;
        const [c, k] = pick(ps);
        c[k] = pick([1.5, -0.5, 1e21, 2 ** 53 + 2, 1e-9]);
        return p;
    },
};

// --- the corpus ----------------------------------------------------------------------------------
const corpus = [];
for (const schema of schemas) {
    const [, action, dir] = /^urn:(.*)\.(req|conf)$/.exec(schema.$id);
    for (let i = 0; i < 8; i++) {
        const valid = gen(schema, schema, 0);
        corpus.push({ action, dir, id: schema.$id, kind: 'generated', payload: valid });
        for (const [kind, mutate] of Object.entries(MUTATIONS)) {
            for (let j = 0; j < 3; j++) {
                const p = mutate(schema, schema, clone(valid));
                if (p) corpus.push({ action, dir, id: schema.$id, kind, payload: p });
            }
        }
    }
}

// --- texts: frames with bytes changed --------------------------------------------------------------
const EDITS = ['0', '1', '9', '.', 'e', 'E', '-', '+', '"', '\\', 'u', '/', 'b', 'n', 't', ',', ':', '[', ']', '{',
    '}', ' ', '\t', '\n', '\r', '\x01', '\x7f', 'é', 'x', 'null', 'true', '\\u0000', '\\ud800', '\\udc00',
    '\\ud83d\\ude00', '\\u00e9', '\\U0041', '1e999', '-0', '0.5e-3', '\u00a0', '\ufeff'];
const BYTE_EDITS = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbb, 0xbf]];
function mutateText(text) {
    let buf = Buffer.from(text, 'utf8');
    for (let k = 1 + int(3); k > 0; k--) {
        const at = int(buf.length + 1);
        const ins = rand() < 0.15 ? Buffer.from(pick(BYTE_EDITS)) : Buffer.from(pick(EDITS), 'utf8');
        const del = pick([0, 0, 1, 2]);
        buf = Buffer.concat([buf.subarray(0, at), ins, buf.subarray(Math.min(buf.length, at + del))]);
    }
    return buf;
}
function depthOk(v, depth) {
    if (typeof v === 'string') return !v.includes('\0') && v.isWellFormed();
    if (v === null || typeof v !== 'object') return true;
    if (depth > 32) return false;
    if (Array.isArray(v)) return v.every((x) => depthOk(x, depth + 1));
    return Object.entries(v).every(([k, x]) => !k.includes('\0') && k.isWellFormed() && depthOk(x, depth + 1));
}
function strictOk(buf) {
    let text;
    try {
        text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
    } catch (e) {
        return false;
    }
    try {
        return depthOk(JSON.parse(text), 1);
    } catch (e) {
        return false;
    }
}
const texts = [];
for (let i = 0; i < 6000; i++) {
    const c = corpus[int(corpus.length)];
    const frame = JSON.stringify(c.dir === 'conf' ? [3, 'x', c.payload] : [2, 'x', c.action, c.payload]);
    texts.push(rand() < 0.1 ? Buffer.from(frame) : mutateText(frame));
}
// every token the grammar decides on, alone in an array and as a member's value
const TOKENS = ['0', '01', '00', '-0', '-01', '1.', '.5', '1.5', '1e5', '1E+5', '1e', '1e+', '-', '+1', '0x1', '1.5e-3',
    '1_0', 'Infinity', 'NaN', '1e999', '-1e-999', '0.0', '00.1', '1.0e0', '9'.repeat(100), '- 1', '"\\u00e9"',
    '"\\uD83D\\uDE00"', '"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', '"\\x41"', '"\\/"', '"\t"', '"\\a"', '"\u0001"',
    '"\u007f"', '"\\u12"', '"\\u12g4"', '"\\"', "'a'", 'true', 'tru', 'nul', 'TRUE', 'false ', ' null', '[]', '{}', '[,]',
    '{"a"}', '{"a":}', '{1:2}', '[1,]', '[1 2]', '""', '"\u2028"'];
for (const t of TOKENS) texts.push(Buffer.from(`[${t}]`), Buffer.from(`{"a":${t}}`), Buffer.from(t));
for (const depth of [31, 32, 33, 40])
    texts.push(Buffer.from('['.repeat(depth) + ']'.repeat(depth)), Buffer.from('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));

// --- the verdicts --------------------------------------------------------------------------------
const CODE = {
    type: 'TypeConstraintViolation', required: 'OccurenceConstraintViolation',
    minItems: 'OccurenceConstraintViolation', additionalProperties: 'PropertyConstraintViolation',
    enum: 'PropertyConstraintViolation', maxLength: 'PropertyConstraintViolation',
    format: 'PropertyConstraintViolation', multipleOf: 'PropertyConstraintViolation',
};
const { ajv, compiled } = makeAjv();
const input = corpus.map((c) => `${c.action}\t${c.dir}\t${JSON.stringify(c.payload)}\n`).join('') +
    texts.map((t) => `text\t${t.toString('hex')}\n`).join('');
const run = spawnSync(validator, [], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
if (run.status !== 0) {
    console.error(`${validator} failed (${run.status}): ${run.stderr}`);
    process.exit(1);
}
const ours = run.stdout.split('\n').slice(0, -1);
if (ours.length !== corpus.length + texts.length) {
    console.error(`${ours.length} verdicts for ${corpus.length} payloads and ${texts.length} texts`);
    process.exit(1);
}

let disagree = 0, codesCompared = 0, valid = 0;
const byKind = {}, byCode = {};
corpus.forEach((c, i) => {
    const check = compiled[c.id];
    const ajvValid = check(c.payload);
    const [code, why] = ours[i].split('\t');
    const ourValid = code === 'OK';
    const k = (byKind[c.kind] = byKind[c.kind] || { valid: 0, invalid: 0 });
    k[ajvValid ? 'valid' : 'invalid']++;
    valid += ajvValid;
    byCode[code] = (byCode[code] || 0) + 1;
    let problem = null;
    if (ajvValid !== ourValid) {
        problem = `ajv says ${ajvValid ? 'valid' : 'invalid: ' + ajv.errorsText(check.errors)}, ours ${ours[i]}`;
    } else if (!ajvValid && check.errors.length === 1) {
        codesCompared++;
        const want = CODE[check.errors[0].keyword];
        if (want !== code)
            problem = `ajv's one error is ${check.errors[0].keyword} at ${check.errors[0].instancePath} (${want}), ours ${code}: ${why}`;
    }
    if (problem) {
        if (disagree++ < 25) console.log(`DIFFER ${c.id} (${c.kind}) ${JSON.stringify(c.payload)}\n  ${problem}`);
    }
});

let textValid = 0, textDisagree = 0;
texts.forEach((t, i) => {
    const line = ours[corpus.length + i], ourOk = line === 'OK', theirs = strictOk(t);
    textValid += theirs;
    if (ourOk !== theirs && textDisagree++ < 25)
        console.log(`DIFFER text ${JSON.stringify(t.toString('latin1'))}\n  JSON.parse: ${theirs ? 'valid' : 'invalid'}, ours: ${line}`);
});
disagree += textDisagree;
console.log(`texts: ${texts.length}, ${textValid} valid JSON for JSON.parse (+ json_strict.h's rules), ` +
            `${textDisagree} disagree`);
if (textValid < 500 || texts.length - textValid < 2000) {
    console.log('the texts do not cover both valid and invalid JSON enough');
    process.exit(1);
}
console.log(`seed ${seed}: ${corpus.length} payloads of ${schemas.length} schemas, ${valid} valid and ` +
            `${corpus.length - valid} invalid for ajv; ${codesCompared} single-error codes compared; ${disagree} disagree`);
for (const [kind, n] of Object.entries(byKind)) console.log(`  ${kind}: ${n.valid} valid, ${n.invalid} invalid`);
console.log('  our codes:', JSON.stringify(byCode));

// The corpus must exercise what it is for: a generator that made only valid (or only invalid)
// payloads, or never reached a kind of violation, would agree trivially.
const mustSee = ['OK', 'TypeConstraintViolation', 'OccurenceConstraintViolation', 'PropertyConstraintViolation'];
const missing = mustSee.filter((c) => !(byCode[c] > 20));
const idle = Object.entries(byKind).filter(([, n]) => n.invalid === 0 && n.valid === 0).map(([k]) => k);
if (missing.length || idle.length || Object.keys(byKind).length !== Object.keys(MUTATIONS).length + 1) {
    console.log(`the corpus does not cover: ${missing.concat(idle).join(', ') || 'every mutation kind'}`);
    process.exit(1);
}
process.exit(disagree ? 1 : 0);
