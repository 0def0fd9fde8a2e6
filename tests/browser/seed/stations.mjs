// stations.mjs - charge points for the browser tests: registered over the
// operator API, then played by the npm package ocpp-rpc in strict mode (an
// independent OCPP-J implementation that checks every call and answer of
// the central system against the OCA 1.6 schemas), as the integration tests
// do (tests/integration/ocpp_station.js).
//
// Each station connects through its own small TCP relay, so a test can cut
// its network: the relay then drops every byte both ways, the station stops
// answering (calls, and the daemon's WebSocket pings) without closing
// anything, as a charger whose modem died.  With the plugin's ping_s short
// the daemon notices and the station is no longer "online".
//
//   const fleet = await seedStations(daemon, [
//     {id: 'CP-1', name: 'Náměstí', lat: 49.59, lon: 17.25,
//      connectors: [{type: 'CCS2', max_kw: 50, status: 'Available'}], tariff: {per_kwh: '7.90'}},
//   ]);
//   await fleet.station('CP-1').setStatus(1, 'Charging');
//   fleet.station('CP-1').cutNetwork();
//   await fleet.close();
//
// (postJSON, getJSON, eventually: ./common.mjs)
import assert from 'node:assert/strict';
import net from 'node:net';
import rpc from 'ocpp-rpc';
import { eventually, getJSON, postJSON } from './common.mjs';

const { RPCClient } = rpc;

export const PASSWORD = 'seed-station-password-1';

// A relay from a local port to the daemon's, which can be cut.
function relay(port) {
  const sockets = new Set();
  const state = { cut: false };
  const server = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    down.on('data', (b) => { if (!state.cut) up.write(b); });
    up.on('data', (b) => { if (!state.cut) down.write(b); });
    // a closed side closes the other, unless the network is cut (then nobody hears of it)
    down.on('end', () => { if (!state.cut) up.end(); });
    up.on('end', () => { if (!state.cut) down.end(); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    cut() { state.cut = true; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  })));
}

export class Station {
  constructor(daemon, spec, { instance = 'charging', retryMs = 1000 } = {}) {
    this.daemon = daemon;
    this.spec = spec;
    this.id = spec.id;
    this.instance = instance;
    this.retryMs = retryMs;
    this.connectors = (spec.connectors || [{}]).map((k) => ({ status: k.status || 'Available', errorCode: 'NoError' }));
    this.accepted = false;
    this.transactions = new Map(); // transactionId -> connector
    this.timers = new Set();
  }

  later(ms, fn) {
    const h = setTimeout(() => { this.timers.delete(h); fn(); }, ms);
    this.timers.add(h);
  }

  async connect() {
    this.relay = await relay(this.daemon.port);
    this.client = new RPCClient({
      endpoint: `ws://127.0.0.1:${this.relay.port}/api/${this.instance}/ocpp`,
      identity: this.id, password: this.spec.password || PASSWORD, protocols: ['ocpp1.6'],
      strictMode: true, reconnect: false, callTimeoutMs: 10000,
    });
    this.invalid = 0;
    this.client.on('strictValidationFailure', () => { this.invalid++; });
    this.client.on('badMessage', () => { this.invalid++; });
    // a connection reset (the daemon stopped, the network cut) is the test's to judge, not a crash
    this.client.on('error', (err) => { this.lastError = err; });
    this.handle();
    await this.client.connect();
  }

  handle() {
    const c = this.client;
    c.handle('TriggerMessage', ({ params }) => {
      if (params.requestedMessage === 'StatusNotification') this.later(10, () => this.reportAll());
      else if (params.requestedMessage === 'BootNotification') this.later(10, () => this.boot());
      else if (params.requestedMessage === 'Heartbeat') this.later(10, () => this.quiet(c.call('Heartbeat', {})));
      else return { status: 'NotImplemented' };
      return { status: 'Accepted' };
    });
    c.handle('RemoteStartTransaction', ({ params }) => {
      const n = params.connectorId || 1;
      const k = this.connectors[n - 1];
      if (!k || k.status !== 'Available') return { status: 'Rejected' };
      this.later(10, () => this.quiet(this.startTransaction(n, params.idTag)));
      return { status: 'Accepted' };
    });
    c.handle('RemoteStopTransaction', ({ params }) => {
      if (!this.transactions.has(params.transactionId)) return { status: 'Rejected' };
      this.later(10, () => this.quiet(this.stopTransaction(params.transactionId, 'Remote')));
      return { status: 'Accepted' };
    });
    for (const action of ['ChangeAvailability', 'Reset', 'SetChargingProfile', 'ClearChargingProfile']) {
      c.handle(action, () => ({ status: 'Accepted' }));
    }
  }

  // a call whose failure (the test cut the network, or closed) only matters to the test that checks it
  quiet(promise) {
    promise.catch(() => {});
  }

  // BootNotification until Accepted, then heartbeats at the interval given
  async boot() {
    const conf = await this.client.call('BootNotification', {
      chargePointVendor: 'Městys', chargePointModel: this.spec.model || 'Seed-22', firmwareVersion: '1.0.0',
    });
    this.bootStatus = conf.status;
    if (conf.status !== 'Accepted') {
      this.later(Math.min(conf.interval * 1000 || this.retryMs, this.retryMs), () => this.quiet(this.boot()));
      return conf.status;
    }
    if (!this.accepted) {
      this.accepted = true;
      this.heartbeat(conf.interval);
    }
    return conf.status;
  }

  heartbeat(interval) {
    this.later(Math.max(1, interval / 2) * 1000, () => {
      if (this.cut || this.closed) return;
      this.quiet(this.client.call('Heartbeat', {}));
      this.heartbeat(interval);
    });
  }

  async report(n) {
    const k = this.connectors[n - 1];
    await this.client.call('StatusNotification', {
      connectorId: n, status: k.status, errorCode: k.errorCode, timestamp: new Date().toISOString(),
    });
  }

  async reportAll() {
    for (let n = 1; n <= this.connectors.length; n++) await this.report(n);
  }

  async setStatus(n, status, errorCode) {
    this.connectors[n - 1].status = status;
    this.connectors[n - 1].errorCode = errorCode || (status === 'Faulted' ? 'OtherError' : 'NoError');
    if (this.accepted) await this.report(n);
  }

  async startTransaction(n, idTag) {
    await this.setStatus(n, 'Preparing');
    const conf = await this.client.call('StartTransaction', {
      connectorId: n, idTag, meterStart: 0, timestamp: new Date().toISOString(),
    });
    this.transactions.set(conf.transactionId, n);
    await this.setStatus(n, 'Charging');
    return conf.transactionId;
  }

  async stopTransaction(transactionId, reason) {
    const n = this.transactions.get(transactionId);
    this.transactions.delete(transactionId);
    await this.setStatus(n, 'Finishing');
    await this.client.call('StopTransaction', {
      transactionId, meterStop: 4200, timestamp: new Date().toISOString(), reason,
    });
    await this.setStatus(n, 'Available');
  }

  // the network dies: nothing reaches the daemon or the station any more
  cutNetwork() {
    this.cut = true;
    this.relay.cut();
  }

  async close() {
    this.closed = true;
    for (const h of this.timers) clearTimeout(h);
    this.timers.clear();
    if (this.client) await this.client.close({ force: true }).catch(() => {});
    if (this.relay) await this.relay.close();
  }
}

// Registers every spec (one POST), connects and boots those with
// `connect !== false`, and waits until each accepted one has reported its
// connectors (GET stations shows what it said).
export async function seedStations(daemon, specs, opts = {}) {
  const instance = opts.instance || 'charging';
  await postJSON(daemon, `/api/${instance}/stations`, specs.map((s) => ({
    id: s.id, name: s.name, lat: s.lat, lon: s.lon, accepted: s.accepted !== false,
    password: s.password || PASSWORD,
    connectors: (s.connectors || [{}]).map((k) => ({ type: k.type || 'Type2', max_kw: k.max_kw || 22 })),
    ...(s.tariff ? { tariff: s.tariff } : {}),
  })));
  const fleet = new Map();
  for (const spec of specs) {
    const st = new Station(daemon, spec, { ...opts, instance });
    fleet.set(spec.id, st);
    if (spec.connect === false) continue;
    await st.connect();
    await st.boot();
  }
  await eventually(async () => {
    const list = await getJSON(daemon, `/api/${instance}/stations`);
    for (const s of specs.filter((x) => x.connect !== false && x.accepted !== false)) {
      const got = list.find((x) => x.id === s.id);
      assert.deepEqual(got.connectors.map((k) => k.status), fleet.get(s.id).connectors.map((k) => k.status),
        `${s.id} reported its connectors`);
    }
  });
  return {
    stations: fleet,
    station: (id) => fleet.get(id),
    async close() {
      for (const st of fleet.values()) await st.close();
    },
  };
}
