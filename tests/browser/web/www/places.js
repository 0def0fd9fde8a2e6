import { addStrings, api, fmt, lang, onLangChange, showError, start, t } from '/lib/app.js';
import { createMap } from '/lib/map.js';
import { createChart, dataTable } from '/lib/chart.js';
import { downloadText, toCSV } from '/lib/download.js';

addStrings({
  cs: { 'demo.title': 'Místa v obci', 'demo.week': 'Týden', 'demo.download': 'Stáhnout CSV', 'demo.map': 'Mapa míst',
    'demo.selected': 'Vybráno: {name}', 'demo.temp': 'Teplota', 'demo.time': 'Čas', 'demo.offline': 'mimo provoz' },
  en: { 'demo.title': 'Places in town', 'demo.week': 'Week', 'demo.download': 'Download CSV', 'demo.map': 'Map of places',
    'demo.selected': 'Selected: {name}', 'demo.temp': 'Temperature', 'demo.time': 'Time', 'demo.offline': 'offline' },
});
await start({ audience: 'citizen' });
const main = document.getElementById('main');
try {
  const { places } = await api('/api/pagesdemo/places');
  const label = (p) => (p.value == null ? `${p.name}: ${t('demo.offline')}` : `${p.name}: ${fmt.unit(p.value, 'Cel')}`);
  const markers = () => places.map((p) => ({ id: p.id, lat: p.lat, lon: p.lon, title: label(p), status: p.status }));
  const map = createMap(document.getElementById('map'), {
    label: t('demo.map'), markers: markers(),
    onSelect: (id) => {
      document.getElementById('selected').textContent = t('demo.selected', { name: places.find((p) => p.id === id).name });
    },
  });
  onLangChange(() => map.setMarkers(markers()));
  // a fixed week, so the screenshots do not change from run to run
  const start0 = Date.UTC(2026, 10, 20);
  const points = Array.from({ length: 7 * 24 }, (_, i) => [start0 + i * 3600e3, Math.round((15 + 5 * Math.sin(i / 4)) * 10) / 10]);
  const rows = points.filter((_, i) => i % 24 === 12).map(([time, value]) => ({ time, value }));
  const draw = () => {
    document.getElementById('chart').replaceChildren();
    createChart(document.getElementById('chart'), { title: t('demo.temp'), series: [{ label: t('demo.temp'), unit: 'Cel', points }] });
    dataTable(document.getElementById('table'), {
      caption: t('demo.temp'),
      columns: [{ key: 'time', label: t('demo.time'), format: (v) => fmt.dateTime(v) },
        { key: 'value', label: t('demo.temp'), format: (v) => fmt.unit(v, 'Cel', 1), numeric: true }],
      rows,
    });
  };
  draw();
  onLangChange(draw);
  document.getElementById('download').addEventListener('click', () =>
    downloadText(`teplota-${lang()}.csv`, 'text/csv', toCSV([{ key: 'time' }, { key: 'value' }], rows)));
} catch (err) {
  showError(main, err);
}
