#!/usr/bin/env node
// A charge point for the README's tour: it connects to the example town's
// central system over OCPP 1.6J (the npm package ocpp-rpc, pinned in
// tests/integration, in strict mode: it checks every answer against the OCA
// schemas), boots, and plays one charging session with an id tag.
//
//   (cd tests/integration && npm ci)        # once: installs ocpp-rpc
//   node examples/town/charger.js CP-NAMESTI-1 PASSWORD 04A2B3C4D5 [--kwh 11.5] [--minutes 60]
//        [--url ws://127.0.0.1:8080/api/charging/ocpp]
//
// The session's start is dated --minutes ago, so that the tour need not wait
// for it; the meter goes from 1,000 Wh up by --kwh.  A station the operator
// has not accepted yet is answered Pending: the script says so and stops.
"use strict";
const path = require("path");
const { RPCClient, createRPCError } = require(require.resolve("ocpp-rpc", {
  paths: [path.join(__dirname, "..", "..", "tests", "integration")],
}));

function usage() {
  console.error("usage: node examples/town/charger.js ID PASSWORD ID_TAG [--kwh N] [--minutes N] [--url WS_URL]");
  process.exit(2);
}

function parse(argv) {
  const o = { url: "ws://127.0.0.1:8080/api/charging/ocpp", kwh: 11.5, minutes: 60, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--url" || a === "--kwh" || a === "--minutes") {
      if (i + 1 >= argv.length) usage();
      o[a.slice(2)] = a === "--url" ? argv[++i] : Number(argv[++i]);
    } else {
      o.rest.push(a);
    }
  }
  if (o.rest.length !== 3 || !(o.kwh >= 0) || !(o.minutes >= 0)) usage();
  [o.id, o.password, o.idTag] = o.rest;
  return o;
}

async function call(cli, action, payload) {
  const answer = await cli.call(action, payload);
  console.log(`${action} -> ${JSON.stringify(answer)}`);
  return answer;
}

async function main() {
  const o = parse(process.argv.slice(2));
  const cli = new RPCClient({
    endpoint: o.url, identity: o.id, password: o.password, protocols: ["ocpp1.6"],
    strictMode: true, reconnect: false,
  });
  // The central system asks for the connectors' state after an accepted boot.
  cli.handle("TriggerMessage", ({ params }) => {
    console.log(`central system: TriggerMessage ${JSON.stringify(params)}`);
    return { status: "Accepted" };
  });
  cli.handle(({ method }) => {
    console.log(`central system: ${method} (this example charger does not implement it)`);
    throw createRPCError("NotImplemented");
  });
  try {
    await cli.connect();
  } catch (e) {
    // the handshake's HTTP status: 404 unknown id, 401 no or wrong password, 429 throttled
    console.log(`connection refused: ${e.message} (the daemon's log says why)`);
    process.exit(1);
  }
  console.log(`connected to ${o.url}/${o.id}`);
  const boot = await call(cli, "BootNotification", { chargePointVendor: "Example", chargePointModel: "Tour AC22" });
  if (boot.status !== "Accepted") {
    console.log(`the central system has not accepted ${o.id} yet: accept it with POST /api/charging/stations/${o.id}/accept`);
    await cli.close();
    process.exit(1);
  }
  const status = (s) => call(cli, "StatusNotification", { connectorId: 1, errorCode: "NoError", status: s });
  await status("Available");
  const auth = await call(cli, "Authorize", { idTag: o.idTag });
  if (auth.idTagInfo.status !== "Accepted") {
    console.log(`id tag ${o.idTag} is ${auth.idTagInfo.status}: register it with POST /api/charging/id-tags`);
    await cli.close();
    process.exit(1);
  }
  await status("Preparing");
  const begin = new Date(Date.now() - o.minutes * 60e3);
  const start = await call(cli, "StartTransaction", {
    connectorId: 1, idTag: o.idTag, meterStart: 1000, timestamp: begin.toISOString(),
  });
  await status("Charging");
  const meterStop = 1000 + Math.round(o.kwh * 1000);
  await call(cli, "MeterValues", {
    connectorId: 1, transactionId: start.transactionId,
    meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [
      { value: String(meterStop), measurand: "Energy.Active.Import.Register", unit: "Wh" },
    ] }],
  });
  await call(cli, "StopTransaction", {
    transactionId: start.transactionId, idTag: o.idTag, meterStop, timestamp: new Date().toISOString(),
    reason: "Local",
  });
  await status("Available");
  await cli.close();
  console.log(`session ${start.transactionId}: ${o.kwh} kWh in ${o.minutes} min`);
}

main().catch((e) => {
  console.log(`error: ${e.message}`);
  process.exit(1);
});
