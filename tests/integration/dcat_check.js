// Checks LKOD records the way NKOD's harvester would: each record is
// validated against the DCAT-AP-CZ JSON Schema (ajv, draft 2019-09) and
// expanded as JSON-LD (jsonld) with the interface's context, all offline
// from the reference folder.
//
//   node dcat_check.js <reference-dir> <record.json>...
//
// Prints one JSON object per record: {file, schema, valid, errors, types, triples}.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv2019 = require('ajv/dist/2019');
const addFormats = require('ajv-formats');
const jsonld = require('jsonld');

const [ref, ...files] = process.argv.slice(2);
const read = (name) => JSON.parse(fs.readFileSync(path.join(ref, name), 'utf8'));

// the schemas escape ':' and '.' in patterns, valid ECMA-262 only without the u flag
const ajv = new Ajv2019({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
// "iri" is not a format ajv-formats knows: an IRI is what WHATWG URL parsing accepts, absolute.
ajv.addFormat('iri', (s) => {
  try { return new URL(s).protocol.length > 1; } catch (e) { return false; }
});
// ajv resolves a $ref to its percent-encoded form: register the base types under that IRI
for (const name of ['schema-text.json', 'schema-více-textů.json']) {
  const schema = read(name);
  schema.$id = encodeURI(schema.$id);
  ajv.addSchema(schema);
}
const validators = {
  'Katalog': ajv.compile(read('schema-katalog.json')),
  'Datová sada': ajv.compile(read('schema-datová-sada.json')),
};

const context = read('context-rozhraní-katalogů-otevřených-dat.jsonld');
const CONTEXT_URL = 'https://ofn.gov.cz/rozhraní-katalogů-otevřených-dat/2021-01-11/kontexty/rozhraní-katalogů-otevřených-dat.jsonld';
const documentLoader = async (url) => {
  if (url === CONTEXT_URL || url === encodeURI(CONTEXT_URL)) {
    return { contextUrl: null, documentUrl: url, document: context };
  }
  throw new Error('offline: refusing to fetch ' + url);
};

(async () => {
  for (const file of files) {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const kind = Array.isArray(doc.typ) ? doc.typ[0] : doc.typ;
    const validate = validators[kind];
    const out = { file, schema: kind, valid: false, errors: [], types: [], triples: 0 };
    if (!validate) {
      out.errors.push('unknown typ ' + JSON.stringify(doc.typ));
    } else {
      out.valid = validate(doc);
      out.errors = (validate.errors || []).map((e) => e.instancePath + ' ' + e.message);
    }
    try {
      const expanded = await jsonld.expand(doc, { documentLoader, safe: true });
      for (const node of expanded) out.types.push(...(node['@type'] || []));
      const nquads = await jsonld.toRDF(doc, { format: 'application/n-quads', documentLoader, safe: true });
      out.triples = nquads.split('\n').filter(Boolean).length;
    } catch (e) {
      out.errors.push('JSON-LD: ' + e.message);
      out.valid = false;
    }
    console.log(JSON.stringify(out));
  }
})().catch((e) => { console.error(e); process.exit(1); });
