// Simulated LoRa sensors for the sensor pages: devices registered over the
// lora API, then real uplinks — LoRaWAN frames built and encrypted with the
// device keys by the npm package lora-packet, in Semtech UDP PUSH_DATA
// datagrams from a registered gateway — so the store holds readings over
// the last days.
//
// Backdating: the lora plugin dates a reading by the server's clock unless
// its config sets gateway_time_max_age_s; then it takes the rxpk "time" a
// GPS gateway stamps (docs/plugins/lora.md, "The time of a reading").  The
// seed sets it to 8 days and stamps each rxpk with the time the reading is
// meant to have, oldest first, so frame counters rise with time.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import lora from 'lora-packet';
import { call, eventually, getJSON } from './common.mjs';

export const GATEWAY = 'AA555A00000000B1';
const HOUR = 3600000;
const STEP = HOUR / 2; // a reading every 30 minutes
const DAYS = 7;
const PER_DATAGRAM = 24;

const key = (n) => n.toString(16).padStart(2, '0').repeat(16).toUpperCase();

/**
 * The simulated devices: where they are, what they measure, and until when
 * they were heard ("park" stopped two days ago: offline on the pages).
 */
export const DEVICES = [
  { dev_eui: '00AA0000000000A1', dev_addr: '260B00A1', nwk_skey: key(0x11), app_skey: key(0x21),
    decoder: 'lua:decoders/temperature-humidity.lua', name: 'Náměstí', lat: 49.5941, lon: 17.2512,
    tags: { kind: 'weather' }, kind: 'th', base: 4, silentHours: 0 },
  { dev_eui: '00AA0000000000A2', dev_addr: '260B00A2', nwk_skey: key(0x12), app_skey: key(0x22),
    decoder: 'lua:decoders/temperature-humidity.lua', name: 'Základní škola', lat: 49.5962, lon: 17.2458,
    tags: { kind: 'weather' }, kind: 'th', base: 7, silentHours: 0 },
  { dev_eui: '00AA0000000000A3', dev_addr: '260B00A3', nwk_skey: key(0x13), app_skey: key(0x23),
    decoder: 'lua:decoders/temperature-humidity.lua', name: 'Park u rybníka', lat: 49.5915, lon: 17.2561,
    tags: { kind: 'weather' }, kind: 'th', base: 2, silentHours: 48 },
  { dev_eui: '00AA0000000000B1', dev_addr: '260B00B1', nwk_skey: key(0x14), app_skey: key(0x24),
    decoder: 'lua:decoders/parking.lua', name: 'Parkoviště Husova', lat: 49.5950, lon: 17.2490,
    tags: { kind: 'parking' }, kind: 'parking', base: 3, silentHours: 0 },
];

export const OFFLINE_DEVICE = DEVICES[2].dev_eui;

// the same every run: a day's swing around the device's base temperature
function temperature(dev, ms) {
  const h = new Date(ms).getUTCHours() + new Date(ms).getUTCMinutes() / 60;
  return Math.round((dev.base + 6 * Math.sin(((h - 9) / 24) * 2 * Math.PI)) * 100) / 100;
}

function payload(dev, ms, n) {
  if (dev.kind === 'parking') {
    const h = new Date(ms).getUTCHours();
    const occupied = h >= 7 && h < 18 ? 1 : 0;
    return { fport: 3, bytes: Buffer.from([occupied, Math.round(temperature(dev, ms)) & 0xff, (n >> 8) & 0xff, n & 0xff]) };
  }
  const t = Math.round(temperature(dev, ms) * 100);
  const humidity = 60 + Math.round(20 * Math.cos((ms / HOUR / 24) * 2 * Math.PI)); // %RH
  const battery = 3.6 - (n / 400) * 0.2; // volts, slowly down
  const b = Buffer.alloc(4);
  b.writeInt16BE(t, 0);
  b[2] = humidity * 2;
  b[3] = Math.round((battery - 2) / 0.02);
  return { fport: 1, bytes: b };
}

/** The decoded values a frame carries (what the store should hold). */
export function expectedTemperature(dev, ms) {
  if (dev.kind === 'parking') return Math.round(temperature(dev, ms));
  return Math.round(temperature(dev, ms) * 100) / 100;
}

function frame(dev, fcnt, p) {
  const packet = lora.fromFields({
    MType: 'Unconfirmed Data Up',
    DevAddr: Buffer.from(dev.dev_addr, 'hex'),
    FCnt: fcnt,
    FPort: p.fport,
    payload: p.bytes,
  }, Buffer.from(dev.app_skey, 'hex'), Buffer.from(dev.nwk_skey, 'hex'));
  return packet.getPHYPayload();
}

// GPS time as a packet forwarder writes it: microseconds, UTC
function gpsTime(ms) {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

function rxpk(phy, ms) {
  return { time: gpsTime(ms), tmst: (ms * 1000) >>> 0, chan: 0, rfch: 0, freq: 868.1, stat: 1, modu: 'LORA',
    datr: 'SF7BW125', codr: '4/5', rssi: -70, lsnr: 8.5, size: phy.length, data: phy.toString('base64') };
}

/** The plugins the sensor pages need: lora (backdating), store, opendata. */
export function sensorPlugins(udpPort) {
  const dataset = (id, title, source, extra = {}) => ({
    id, title, description: {
      cs: `${title.cs}: měření obecních čidel každých 30 minut.`,
      en: `${title.en}: the town's sensors, every 30 minutes.`,
    },
    keywords: { cs: ['čidla'], en: ['sensors'] },
    themes: ['http://publications.europa.eu/resource/authority/data-theme/ENVI'],
    frequency: 'http://publications.europa.eu/resource/authority/frequency/CONT',
    ruian: ['https://linked.cuzk.cz/resource/ruian/obec/500496'],
    source, ...extra,
  });
  return [
    { use: 'lora', config: { listen: '127.0.0.1', port: udpPort, dedup_ms: 20, gateway_time_max_age_s: 8 * 86400,
      gateways: [{ gateway: GATEWAY, name: 'radnice', lat: 49.5941, lon: 17.2512 }] } },
    { use: 'store', config: { commit_ms: 50 } },
    { use: 'opendata', config: {
      base_url: 'https://data.testtown.example/api/opendata',
      catalog: {
        title: { cs: 'Otevřená data obce Testov', en: 'Testov open data' },
        description: { cs: 'Data z čidel obce.' },
        publisher: 'https://rpp-opendata.egon.gov.cz/odrpp/zdroj/orgán-veřejné-moci/00299308',
      },
      datasets: [
        dataset('ovzdusi', { cs: 'Teplota a vlhkost vzduchu', en: 'Air temperature and humidity' },
          { tags: { kind: 'weather' }, metrics: ['temperature', 'humidity', 'battery'] },
          { offline_after_ms: 2 * HOUR }),
        dataset('parkovani', { cs: 'Obsazenost parkovacích míst', en: 'Parking bay occupancy' },
          { tags: { kind: 'parking' }, metrics: ['occupied'] }, { offline_after_ms: 2 * HOUR }),
      ],
      rate_limit: { per_second: 0 },
    } },
  ];
}

/** Registers the devices over the API (the clerk's way). */
export async function registerDevices(daemon, devices = DEVICES) {
  const body = devices.map(({ kind, base, silentHours, ...api }) => api);
  await call(daemon, 'POST', '/api/lora/devices', { body, token: true, expect: 201 });
}

async function pushAll(port, datagrams) {
  const sock = dgram.createSocket('udp4');
  try {
    let token = 0;
    for (const body of datagrams) {
      token = (token + 1) & 0xffff;
      const head = Buffer.from([2, token >> 8, token & 0xff, 0]);
      const msg = Buffer.concat([head, Buffer.from(GATEWAY, 'hex'), Buffer.from(JSON.stringify(body))]);
      const ack = new Promise((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`no PUSH_ACK for datagram ${token}`)), 10_000);
        sock.once('message', (m) => {
          clearTimeout(timer);
          ok(m);
        });
      });
      sock.send(msg, port, '127.0.0.1');
      const m = await ack;
      assert.deepEqual([...m], [2, token >> 8, token & 0xff, 1], 'PUSH_ACK');
    }
  } finally {
    sock.close();
  }
}

/**
 * Registers the devices and sends their last 7 days of uplinks (until each
 * one's silentHours ago), then waits until the store has them all.
 * Returns {now, counts: {dev_eui: uplinks}}.
 */
export async function seedLora(daemon, udpPort, { devices = DEVICES, now = Date.now() } = {}) {
  await registerDevices(daemon, devices);
  const start = Math.ceil((now - DAYS * 24 * HOUR) / STEP) * STEP;
  const rxpks = [];
  const counts = {};
  for (const dev of devices) {
    let fcnt = 0;
    for (let ms = start; ms <= now - dev.silentHours * HOUR - 60_000; ms += STEP) {
      fcnt++;
      rxpks.push({ ms, r: rxpk(frame(dev, fcnt, payload(dev, ms, fcnt)), ms) });
    }
    counts[dev.dev_eui] = fcnt;
  }
  // the newest reading a minute ago: online now
  rxpks.sort((a, b) => a.ms - b.ms);
  const datagrams = [];
  for (let i = 0; i < rxpks.length; i += PER_DATAGRAM) {
    datagrams.push({ rxpk: rxpks.slice(i, i + PER_DATAGRAM).map((x) => x.r) });
  }
  await pushAll(udpPort, datagrams);
  await eventually(async () => {
    for (const dev of devices) {
      const list = await getJSON(daemon, `/api/lora/devices/${dev.dev_eui}`, { token: true });
      assert.ok(list.last_seen, `${dev.dev_eui} heard`);
    }
    const w = await getJSON(daemon, '/api/opendata/datasets/ovzdusi/sensors');
    const heard = w.sensors.map((s) => s.sensor).sort();
    assert.deepEqual(heard, devices.filter((d) => d.kind === 'th').map((d) => d.dev_eui).sort());
  }, { timeout: 60_000 });
  return { now, start, counts };
}
