// A map of markers on the town's tile server (Leaflet 1.9, copied from npm
// at build time into /vendor/leaflet/).  Markers are buttons: Tab reaches
// them, Enter selects them, and each has a name that says what it is and its
// state in words, not only a colour.
import * as L from '/vendor/leaflet/leaflet-src.esm.js';
import { config, el, lang, onLangChange } from '/lib/app.js';

const ZOOM = {
  cs: { in: 'Přiblížit', out: 'Oddálit' },
  en: { in: 'Zoom in', out: 'Zoom out' },
};
// the Czech Republic, for a map with nothing on it yet
const EMPTY_VIEW = { center: [49.8, 15.5], zoom: 7 };

let cssAdded = false;
function addCss() {
  if (cssAdded || document.querySelector('link[href="/vendor/leaflet/leaflet.css"]')) return;
  cssAdded = true;
  // before site.css, so the site's rules win
  const link = el('link', { rel: 'stylesheet', href: '/vendor/leaflet/leaflet.css' });
  const first = document.querySelector('link[rel="stylesheet"]');
  if (first) first.before(link);
  else document.head.appendChild(link);
}

// the attribution is the operator's plain text (and a link), never HTML
function attributionHtml(tiles) {
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const text = esc(tiles.attribution || '');
  if (!tiles.attribution_url) return text;
  return `<a href="${esc(tiles.attribution_url)}" rel="noopener">${text}</a>`;
}

function markerIcon(m) {
  const pin = el('span', { class: ['map-pin', m.status ? 'st-' + m.status : 'st-unknown'], 'aria-hidden': 'true' });
  if (m.color) pin.style.backgroundColor = m.color; // CSSOM: allowed by the CSP, unlike style=""
  return L.divIcon({ className: 'map-marker', html: pin, iconSize: [28, 28], iconAnchor: [14, 14] });
}

/**
 * createMap(container, {markers, onSelect, label}) -> {setMarkers, focus, map}
 * markers: [{id, lat, lon, title, color, status, href}]; status one of ok,
 * busy, warn, off, unknown (the .st-* colours); title names the marker for
 * screen readers and says its state.  onSelect(id, marker) runs on click or
 * Enter; a marker with href opens it instead.
 */
export function createMap(container, { markers = [], onSelect, label } = {}) {
  addCss();
  container.classList.add('map');
  if (label) {
    container.setAttribute('role', 'region');
    container.setAttribute('aria-label', label);
  }
  const tiles = config().tiles || {};
  const map = L.map(container, {
    zoomControl: false,
    keyboard: true,
    scrollWheelZoom: false, // a page scrolls past the map on a phone
    attributionControl: true,
  });
  map.attributionControl.setPrefix(false);
  let zoom = L.control.zoom({ zoomInTitle: ZOOM[lang()].in, zoomOutTitle: ZOOM[lang()].out }).addTo(map);
  L.tileLayer(tiles.url, {
    maxZoom: tiles.max_zoom || 19,
    attribution: attributionHtml(tiles),
    crossOrigin: false,
  }).addTo(map);

  const layer = L.layerGroup().addTo(map);
  const byId = new Map();

  function setMarkers(list) {
    layer.clearLayers();
    byId.clear();
    const points = [];
    for (const m of list || []) {
      if (!Number.isFinite(m.lat) || !Number.isFinite(m.lon)) continue;
      const marker = L.marker([m.lat, m.lon], {
        icon: markerIcon(m), keyboard: true, title: m.title, alt: m.title, riseOnHover: true,
      });
      const select = () => {
        if (m.href) location.href = m.href;
        else if (onSelect) onSelect(m.id, m);
      };
      marker.on('click', select);
      // Leaflet makes the marker a focusable role=button but only clicks it
      // with the mouse: Enter and Space select it too, as on any button
      marker.on('keydown', (e) => {
        const key = e.originalEvent.key;
        if (key === 'Enter' || key === ' ') {
          e.originalEvent.preventDefault();
          select();
        }
      });
      marker.on('add', () => {
        const node = marker.getElement();
        if (node) {
          node.setAttribute('aria-label', m.title || String(m.id));
          node.dataset.markerId = String(m.id);
        }
      });
      marker.addTo(layer);
      byId.set(String(m.id), marker);
      points.push([m.lat, m.lon]);
    }
    if (points.length === 1) map.setView(points[0], Math.min(16, tiles.max_zoom || 19));
    else if (points.length) map.fitBounds(points, { padding: [24, 24], maxZoom: 17 });
    else map.setView(EMPTY_VIEW.center, EMPTY_VIEW.zoom);
  }

  function focus(id) {
    const marker = byId.get(String(id));
    if (!marker) return;
    map.panTo(marker.getLatLng());
    const node = marker.getElement();
    if (node) node.focus();
  }

  onLangChange((l) => {
    zoom.remove();
    zoom = L.control.zoom({ zoomInTitle: ZOOM[l].in, zoomOutTitle: ZOOM[l].out }).addTo(map);
  });
  // a map created while its container was hidden (a list/map switch) needs its size again
  if (typeof ResizeObserver !== 'undefined') {
    new ResizeObserver(() => map.invalidateSize()).observe(container);
  }
  setMarkers(markers);
  return { setMarkers, focus, map };
}
