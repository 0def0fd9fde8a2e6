// ws_client.js URL [PROTOCOL] [TOKEN]: connects with the `ws` package (an
// independent client), sends three messages, prints what it got as JSON.
const WebSocket = require("ws");
const [url, protocol, token] = process.argv.slice(2);
const opts = token ? { headers: { Authorization: "Bearer " + token } } : {};
const ws = protocol ? new WebSocket(url, protocol, opts) : new WebSocket(url, opts);
const got = [];
const done = (result) => { console.log(JSON.stringify(result)); process.exit(0); };
setTimeout(() => done({ error: "timeout", got }), 5000);
ws.on("unexpected-response", (req, res) => done({ refused: res.statusCode }));
ws.on("error", (e) => done({ error: String(e.message), got }));
ws.on("message", (data, isBinary) => {
  got.push(isBinary ? { binary: [...data] } : data.toString());
  if (got.length === 1) {
    ws.send("Dobrý den, radnice");
    ws.send(Buffer.from([0, 1, 2, 255]));
    ws.send("x".repeat(100000));
  }
  if (got.length === 4) ws.send("close");
});
ws.on("close", (code) => done({ protocol: ws.protocol, got: got.map((m) => (typeof m === "string" && m.length > 64 ? "len:" + m.length : m)), code }));
