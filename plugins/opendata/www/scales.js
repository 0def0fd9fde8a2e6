// Colour scales for the sensor map, chosen per metric: a temperature is
// blue to red, dust by the WHO's bands, a battery red when low.  Each band
// has its bounds, so the legend says in words and numbers what a colour
// means (colour is never the only sign: the value is in every marker's
// name and in the list).

// Cayenne metrics carry their channel: "temperature_3" is a temperature.
export function baseMetric(name) {
  return String(name || '').replace(/_\d+$/, '');
}

// colours readable against a light map and each with a dark border on the pin
const COLD_TO_HOT = ['#313695', '#4575b4', '#74add1', '#fdae61', '#f46d43', '#a50026'];
const GOOD_TO_BAD = ['#1a9850', '#91cf60', '#fee08b', '#fc8d59', '#d73027'];
const DRY_TO_WET = ['#f6e8c3', '#c7eae5', '#80cdc1', '#35978f', '#01665e'];

// band upper bounds (exclusive); the last band is open
const SCALES = {
  temperature: { bounds: [-10, 0, 10, 20, 30], colors: COLD_TO_HOT },
  humidity: { bounds: [30, 50, 70, 90], colors: DRY_TO_WET },
  relative_humidity: { bounds: [30, 50, 70, 90], colors: DRY_TO_WET },
  pm2_5: { bounds: [5, 15, 25, 50], colors: GOOD_TO_BAD }, // WHO 2021: 5 annual, 15 daily
  pm10: { bounds: [15, 45, 75, 150], colors: GOOD_TO_BAD }, // WHO 2021: 15 annual, 45 daily
  co2: { bounds: [800, 1000, 1400, 2000], colors: GOOD_TO_BAD },
  noise: { bounds: [45, 55, 65, 75], colors: GOOD_TO_BAD },
  battery: { bounds: [2.5, 2.8, 3.1, 3.4], colors: [...GOOD_TO_BAD].reverse() },
  occupied: { bounds: [0.5], colors: ['#1a9850', '#d73027'], labels: ['free', 'occupied'] },
  presence: { bounds: [0.5], colors: ['#1a9850', '#d73027'], labels: ['free', 'occupied'] },
};

const SPREAD = ['#fef0d9', '#fdcc8a', '#fc8d59', '#e34a33', '#b30000'];

function nice(v) {
  const p = 10 ** Math.floor(Math.log10(Math.abs(v) || 1));
  return Math.round(v / p * 2) / 2 * p;
}

/**
 * The scale for a metric: {bands: [{from, to, color}], colorOf(value), labels?}.
 * values: the values on the map, for a metric without a known scale (five
 * bands between the lowest and the highest).
 */
export function scaleFor(metric, values) {
  const known = SCALES[baseMetric(metric)];
  let bounds;
  let colors;
  let labels = null;
  if (known) {
    ({ bounds, colors } = known);
    labels = known.labels || null;
  } else {
    const v = values.filter(Number.isFinite);
    const lo = v.length ? Math.min(...v) : 0;
    const hi = v.length ? Math.max(...v) : 1;
    if (hi - lo < 1e-9) {
      bounds = [];
      colors = [SPREAD[2]];
    } else {
      const step = (hi - lo) / 5;
      bounds = [1, 2, 3, 4].map((i) => nice(lo + step * i)).filter((b, i, a) => i === 0 || b > a[i - 1]);
      colors = SPREAD.slice(0, bounds.length + 1);
    }
  }
  const bands = colors.map((color, i) => ({
    from: i === 0 ? null : bounds[i - 1],
    to: i < bounds.length ? bounds[i] : null,
    color,
    label: labels ? labels[i] : null,
  }));
  const colorOf = (value) => {
    if (!Number.isFinite(value)) return null;
    let i = 0;
    while (i < bounds.length && value >= bounds[i]) i++;
    return colors[i];
  };
  return { bands, colorOf };
}

// metric names in people's words; anything else is shown as it is named
export const METRIC_NAMES = {
  cs: {
    temperature: 'Teplota', humidity: 'Vlhkost', relative_humidity: 'Vlhkost', battery: 'Baterie',
    pm2_5: 'Prach PM2,5', pm10: 'Prach PM10', co2: 'CO₂', noise: 'Hluk', occupied: 'Obsazeno',
    presence: 'Přítomnost', cars: 'Auta', volume: 'Objem', leak: 'Únik', backflow: 'Zpětný tok',
    illuminance: 'Osvětlení', barometer: 'Tlak vzduchu', pressure: 'Tlak vzduchu',
  },
  en: {
    temperature: 'Temperature', humidity: 'Humidity', relative_humidity: 'Humidity', battery: 'Battery',
    pm2_5: 'PM2.5 dust', pm10: 'PM10 dust', co2: 'CO₂', noise: 'Noise', occupied: 'Occupied',
    presence: 'Presence', cars: 'Cars', volume: 'Volume', leak: 'Leak', backflow: 'Backflow',
    illuminance: 'Illuminance', barometer: 'Air pressure', pressure: 'Air pressure',
  },
};
