// ws_idle.js BASE N [TOKEN]: opens N WebSocket connections (the npm `ws`
// client) to BASE + i, prints "ready <opened> <refused>" once every one has
// opened or been refused, then holds them until stdin closes.
const WebSocket = require("ws");
const [base, n, auth] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const opts = auth ? { headers: { Authorization: auth } } : {};
let opened = 0, refused = 0, pending = n;
const sockets = [];
const settle = () => { if (--pending === 0) console.log("ready %d %d", opened, refused); };
// a few hundred handshakes in flight at a time, as stations reconnecting would
let next = 0;
const more = () => {
  while (next < n && next - opened - refused < 200) {
    const ws = new WebSocket(base + next++, opts);
    ws.on("open", () => { opened++; settle(); more(); });
    ws.on("unexpected-response", () => { refused++; settle(); more(); });
    ws.on("error", () => {});
    sockets.push(ws);
  }
};
more();
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
