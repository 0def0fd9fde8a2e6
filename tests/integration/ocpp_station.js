// ocpp_station.js: charge points played by the npm package ocpp-rpc (an
// independent OCPP-J implementation, in strict mode: it validates every
// call and answer the central system sends against the OCA schemas).
// One JSON command per stdin line, one JSON answer per stdout line:
//   {"op": "connect", "name", "url", "id", "password"?, "silent"?: [actions], "tls"?: {"ca", "cert", "key"}}
//                                                     -> {"ok"} | {"refused": status}
//   {"op": "call", "name", "action", "payload"}       -> {"result"} | {"error": {"code", "message"}}
//   {"op": "raw", "name", "text" | [texts], "wait"?} -> {"got": [frames received within wait ms]}
//   {"op": "received", "name"}     -> {"calls": [[action, params, ms]...] received, "sent": [[action, payload,
//                                      result, ms sent, ms answered]...] its own calls answered, "invalid": n}
//   {"op": "close", "name", "force"?}                 -> {"code"}
//   {"op": "wait_closed", "name", "ms"}               -> {"closed": bool, "code"}
// The station answers every CSMS-initiated action of OCPP 1.6 with a valid
// .conf, except the actions listed in "silent", which it never answers.
const { RPCClient, NOREPLY } = require("ocpp-rpc");
const fs = require("fs");
const readline = require("readline");

const stations = new Map();

const answers = {
  RemoteStartTransaction: () => ({ status: "Accepted" }),
  RemoteStopTransaction: () => ({ status: "Accepted" }),
  Reset: () => ({ status: "Accepted" }),
  ChangeAvailability: () => ({ status: "Accepted" }),
  GetConfiguration: () => ({ configurationKey: [{ key: "HeartbeatInterval", readonly: false, value: "60" }] }),
  ChangeConfiguration: () => ({ status: "Accepted" }),
  ClearCache: () => ({ status: "Accepted" }),
  UnlockConnector: () => ({ status: "Unlocked" }),
  DataTransfer: () => ({ status: "Accepted" }),
  UpdateFirmware: () => ({}),
  GetDiagnostics: () => ({ fileName: "diagnostics.log" }),
  SendLocalList: () => ({ status: "Accepted" }),
  GetLocalListVersion: () => ({ listVersion: 0 }),
  ReserveNow: () => ({ status: "Accepted" }),
  CancelReservation: () => ({ status: "Accepted" }),
  SetChargingProfile: () => ({ status: "Accepted" }),
  ClearChargingProfile: () => ({ status: "Accepted" }),
  GetCompositeSchedule: (p) => ({
    status: "Accepted", connectorId: p.connectorId, scheduleStart: new Date().toISOString(),
    chargingSchedule: { chargingRateUnit: "W", chargingSchedulePeriod: [{ startPeriod: 0, limit: 7400 }] },
  }),
  TriggerMessage: () => ({ status: "Accepted" }),
};

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function connect(cmd) {
  const s = { calls: [], sent: [], invalid: 0, frames: [], closed: null, silent: new Set(cmd.silent || []) };
  const client = new RPCClient({
    endpoint: cmd.url, identity: cmd.id, password: cmd.password, protocols: ["ocpp1.6"],
    strictMode: true, reconnect: false, callTimeoutMs: cmd.timeout_ms || 10000,
    // TLS (profiles 2 and 3): the CA to trust, and the client certificate, as PEM files
    wsOpts: cmd.tls ? Object.fromEntries(Object.entries(cmd.tls).map(([k, f]) => [k, fs.readFileSync(f)])) : {},
  });
  s.client = client;
  client.on("strictValidationFailure", () => { s.invalid++; });
  client.on("badMessage", () => { s.invalid++; });
  client.on("message", ({ message, outbound }) => { if (!outbound) s.frames.push(message); });
  client.on("close", ({ code }) => { s.closed = code; });
  for (const [action, answer] of Object.entries(answers)) {
    client.handle(action, ({ params }) => {
      s.calls.push([action, params, Date.now()]);
      if (s.silent.has(action)) return NOREPLY;
      if (action === "TriggerMessage" && params.requestedMessage === "StatusNotification") {
        // what a real station does: tells its connectors' state right after
        setTimeout(() => client.call("StatusNotification", {
          connectorId: 1, errorCode: "NoError", status: "Available", timestamp: new Date().toISOString(),
        }).catch(() => {}), 10);
      }
      return answer(params);
    });
  }
  try {
    await client.connect();
    stations.set(cmd.name, s);
    return { ok: true, protocol: client.protocol };
  } catch (e) {
    return { refused: e.code || String(e.message) };
  }
}

async function run(cmd) {
  if (cmd.op === "connect") return connect(cmd);
  const s = stations.get(cmd.name);
  if (!s) return { error: { code: "NoStation", message: cmd.name } };
  switch (cmd.op) {
    case "call":
      try {
        const before = Date.now();
        const result = await s.client.call(cmd.action, cmd.payload);
        s.sent.push([cmd.action, cmd.payload, result, before, Date.now()]);
        return { result };
      } catch (e) {
        return { error: { code: e.rpcErrorCode || e.name, message: e.message } };
      }
    case "raw": {
      const from = s.frames.length;
      // a list is sent back to back, without waiting for any answer
      for (const text of [].concat(cmd.text)) s.client.sendRaw(text);
      await new Promise((r) => setTimeout(r, cmd.wait || 300));
      return { got: s.frames.slice(from) };
    }
    case "received":
      return { calls: s.calls, sent: s.sent, invalid: s.invalid };
    case "close": {
      const r = await s.client.close({ force: !!cmd.force, code: 1000 });
      stations.delete(cmd.name);
      return { code: r && r.code };
    }
    case "wait_closed": {
      const end = Date.now() + (cmd.ms || 3000);
      while (s.closed === null && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return { closed: s.closed !== null, code: s.closed };
    }
  }
  return { error: { code: "BadOp", message: cmd.op } };
}

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on("line", (line) => {
  chain = chain.then(async () => out(await run(JSON.parse(line))));
});
rl.on("close", async () => {
  await chain;
  for (const s of stations.values()) s.client.close({ force: true });
  process.exit(0);
});
