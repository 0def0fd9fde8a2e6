// state.js - what a connector's OCPP status means to a driver, and the
// words and formats both charging pages share (the citizens' map and list,
// the clerk's tables).  A state is always shown as text and colour together
// (a badge), never colour alone.
import { addStrings, fmt, t } from '/lib/app.js';

// OCPP 1.6 ChargePointStatus -> the driver's five states.  A connector whose
// station is not online is "unknown", whatever it said last: the plugin
// already reports it as Unknown then (docs/plugins/charging.md, Liveness).
const BY_STATUS = {
  Available: 'available',
  Preparing: 'charging',
  Charging: 'charging',
  SuspendedEV: 'charging',
  SuspendedEVSE: 'charging',
  Finishing: 'charging',
  Reserved: 'reserved',
  Unavailable: 'out_of_order',
  Faulted: 'out_of_order',
};

export const STATES = ['available', 'charging', 'reserved', 'out_of_order', 'unknown'];

// the shell's state colours (lib/site.css: .badge.st-*, and map.js's pins)
const TONE = {
  available: 'ok',
  charging: 'busy',
  reserved: 'warn',
  out_of_order: 'off',
  unknown: 'unknown',
};

export const PLUGS = ['Type2', 'Type2Cable', 'CCS2', 'CHAdeMO', 'Type1', 'CCS1', 'Schuko'];

export function connectorState(station, connector) {
  if (station.status !== 'online') return 'unknown';
  return BY_STATUS[connector.status] || 'unknown';
}

// A station's one state for its marker and heading: the most useful one a
// driver could find there (a free connector beats a busy one, and so on).
export function stationState(station) {
  const states = (station.connectors || []).map((k) => connectorState(station, k));
  if (station.status !== 'online' || states.length === 0) return 'unknown';
  for (const s of ['available', 'charging', 'reserved', 'out_of_order']) {
    if (states.includes(s)) return s;
  }
  return 'unknown';
}

export function badgeClass(state) {
  return `badge st-${TONE[state]}`;
}

// the marker's status for /lib/map.js: ok, busy, warn, off, unknown
export function tone(state) {
  return TONE[state];
}

// a connector's state ("Volný": the connector is free)
export function stateText(state) {
  return t(`chg.state.${state}`);
}

// a station's ("Volno": something is free there)
export function stationText(state) {
  return t(`chg.station.${state}`);
}

export function plugText(type) {
  return PLUGS.includes(type) ? t(`chg.plug.${type}`) : type;
}

export function powerText(kw) {
  return `${fmt.number(kw, Number.isInteger(kw) ? 0 : 1)}\u00a0kW`;
}

// "7,90 Kč/kWh + 10,00 Kč za každé nabíjení (včetně DPH)", or "Zdarma".
export function priceText(tariff) {
  if (!tariff) return t('chg.price.unknown');
  const perKwh = Number(tariff.per_kwh || 0);
  const perMin = Number(tariff.per_minute || 0);
  const perSession = Number(tariff.per_session || 0);
  const parts = [];
  if (perKwh > 0) parts.push(t('chg.price.kwh', { money: fmt.money(perKwh, tariff.currency) }));
  if (perMin > 0) {
    const key = tariff.minutes === 'charging' ? 'chg.price.minute_charging' : 'chg.price.minute_plugged';
    parts.push(t(key, { money: fmt.money(perMin, tariff.currency) }));
  }
  if (perSession > 0) parts.push(t('chg.price.session', { money: fmt.money(perSession, tariff.currency) }));
  if (parts.length === 0) return t('chg.price.free');
  return t('chg.price.vat', { price: parts.join(' + ') });
}

addStrings({
  cs: {
    'chg.state.available': 'Volný',
    'chg.state.charging': 'Nabíjí',
    'chg.state.reserved': 'Rezervovaný',
    'chg.state.out_of_order': 'Mimo provoz',
    'chg.state.unknown': 'Stav neznámý',
    'chg.station.available': 'Volno',
    'chg.station.charging': 'Obsazeno',
    'chg.station.reserved': 'Rezervováno',
    'chg.station.out_of_order': 'Mimo provoz',
    'chg.station.unknown': 'Stav neznámý',
    'chg.plug.Type2': 'Type 2 (zásuvka)',
    'chg.plug.Type2Cable': 'Type 2 (s kabelem)',
    'chg.plug.CCS2': 'CCS Combo 2',
    'chg.plug.CHAdeMO': 'CHAdeMO',
    'chg.plug.Type1': 'Type 1',
    'chg.plug.CCS1': 'CCS Combo 1',
    'chg.plug.Schuko': 'Běžná zásuvka (Schuko)',
    'chg.price.kwh': '{money}/kWh',
    'chg.price.minute_plugged': '{money} za minutu připojení',
    'chg.price.minute_charging': '{money} za minutu nabíjení',
    'chg.price.session': '{money} za každé nabíjení',
    'chg.price.vat': '{price} (včetně DPH)',
    'chg.price.free': 'Zdarma',
    'chg.price.unknown': 'Cenu neznáme',
    'chg.connector': 'Konektor {n}',
  },
  en: {
    'chg.state.available': 'Available',
    'chg.state.charging': 'Charging',
    'chg.state.reserved': 'Reserved',
    'chg.state.out_of_order': 'Out of order',
    'chg.state.unknown': 'Unknown',
    'chg.station.available': 'Available',
    'chg.station.charging': 'In use',
    'chg.station.reserved': 'Reserved',
    'chg.station.out_of_order': 'Out of order',
    'chg.station.unknown': 'Unknown',
    'chg.plug.Type2': 'Type 2 (socket)',
    'chg.plug.Type2Cable': 'Type 2 (tethered cable)',
    'chg.plug.CCS2': 'CCS Combo 2',
    'chg.plug.CHAdeMO': 'CHAdeMO',
    'chg.plug.Type1': 'Type 1',
    'chg.plug.CCS1': 'CCS Combo 1',
    'chg.plug.Schuko': 'Household socket (Schuko)',
    'chg.price.kwh': '{money}/kWh',
    'chg.price.minute_plugged': '{money} per minute plugged in',
    'chg.price.minute_charging': '{money} per minute charging',
    'chg.price.session': '{money} per charging session',
    'chg.price.vat': '{price} (VAT included)',
    'chg.price.free': 'Free of charge',
    'chg.price.unknown': 'Price not known',
    'chg.connector': 'Connector {n}',
  },
});
