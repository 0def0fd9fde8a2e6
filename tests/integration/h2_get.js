// h2_get.js URL [header:value ...] - one GET over HTTP/2 (Node's own http2
// client, TLS not verified: the test's self-signed certificate); prints
// {"status", "headers", "body_base64"} as JSON.  A body the server never
// ends times the request out after 5 s (exit 2).
const http2 = require('node:http2');
const url = new URL(process.argv[2]);
const headers = {':path': url.pathname + url.search};
for (const h of process.argv.slice(3)) {
  const i = h.indexOf(':');
  headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1);
}
const client = http2.connect(url.origin, {rejectUnauthorized: false});
const timer = setTimeout(() => { console.error('timed out'); process.exit(2); }, 5000);
const req = client.request(headers);
const chunks = [];
let head;
req.on('response', (h) => { head = h; });
req.on('data', (c) => chunks.push(c));
req.on('end', () => {
  clearTimeout(timer);
  const out = {status: head[':status'], headers: head, body_base64: Buffer.concat(chunks).toString('base64')};
  console.log(JSON.stringify(out));
  client.close();
});
req.on('error', (e) => { console.error(String(e)); process.exit(1); });
req.end();
