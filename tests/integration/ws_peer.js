// ws_peer.js SPEC_JSON: one WebSocket client (the npm `ws` package, an
// independent implementation) driven by a spec, for the handshake hook and
// connection-limit tests.  Prints one JSON line with what happened:
//   {refused, body} when the upgrade was answered with an HTTP status,
//   {opened, protocol, got: [...], code, reason} otherwise, or {error}.
// SPEC: {url, protocol?, headers?, ca?, cert?, key?, send?: [text...],
//        autoPong?: bool, closeAfter?: n messages, waitMs?: ms}
// With "readyFile", the file is written once the first message came: the
// test starts the next client only then.
const fs = require("fs");
const WebSocket = require("ws");
const spec = JSON.parse(process.argv[2]);
const opts = { headers: spec.headers || {}, autoPong: spec.autoPong !== false };
for (const k of ["ca", "cert", "key"]) if (spec[k]) opts[k] = fs.readFileSync(spec[k]);
const ws = spec.protocol ? new WebSocket(spec.url, spec.protocol, opts) : new WebSocket(spec.url, opts);
const got = [];
let opened = false;
const done = (result) => { console.log(JSON.stringify(result)); process.exit(0); };
setTimeout(() => done({ error: "timeout", opened, got }), spec.waitMs || 10000);
ws.on("unexpected-response", (req, res) => {
  let body = "";
  res.on("data", (d) => (body += d));
  res.on("end", () => done({ refused: res.statusCode, type: res.headers["content-type"],
                             challenge: res.headers["www-authenticate"], body }));
});
ws.on("error", (e) => done({ error: String(e.code || e.message), opened, got }));
ws.on("open", () => {
  opened = true;
  for (const m of spec.send || []) ws.send(m);
});
ws.on("message", (data, isBinary) => {
  const text = isBinary ? "binary:" + data.length : data.toString();
  let m;
  try { m = JSON.parse(text); } catch (e) { m = text; }
  got.push(m);
  if (spec.readyFile && got.length === 1) fs.writeFileSync(spec.readyFile, "ready");
  if (spec.closeAfter && got.length >= spec.closeAfter) ws.close(1000);
});
ws.on("close", (code, reason) => done({ opened, protocol: ws.protocol, got, code, reason: reason.toString() }));
