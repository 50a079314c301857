// The live dashboard (the control-room wall): a Leaflet map of the city (tiles from the service's
// DASHBOARD_TILE_URL, or an offline view with district names), a panel per topic, the alert feed
// (with the recent ALERTs raised before the page opened), the connection's state and an outage
// nobody can miss, all fed by one TrafficClient. Plain ES modules, no build step. Smooth with
// hundreds of entities: each entity has one row and one marker, updated in place, and changes are
// drawn at most once per animation frame per topic.
import { TrafficClient, TOPICS } from './client/traffic-client.js';
import * as L from './vendor/leaflet/leaflet-src.esm.js';

const MAX_ALERT_ROWS = 100;
const HCMC = [10.7769, 106.7009]; // where the map starts before the data gives the city's extent

// ?ws=ws://host:port/path for another path of this same server (a link to another server's feed is
// ignored: the page would show its ALERTs as this service's); ?delta=false for full UPDATEs;
// ?ping=ms, ?pongTimeout=ms, ?maxBackoff=ms, ?staleAfter=ms (the tests use short ones).
const params = new URLSearchParams(location.search);
const number = (name, fallback) => (params.has(name) ? Number(params.get(name)) : fallback);
function ownServer(url) {
  if (url === null) return undefined;
  try {
    if (new URL(url, location.href).host === location.host) return url;
  } catch { /* not a URL */ }
  console.warn(`?ws=${url} ignored: the dashboard shows only the service that serves it`);
  return undefined;
}

// ---- what the service tells the page (GET /dashboard/settings) ----

const DEFAULT_SETTINGS = {
  tileUrl: null, tileAttribution: null, tileMaxZoom: 19, recentAlertsMinutes: 60, startedAt: null,
  updateIntervalsMs: { cameras: 30000, weather: 30000, airQuality: 30000, accidents: 10000, patterns: 60000, congestion: 30000 },
};

async function loadSettings() {
  try {
    const response = await fetch('dashboard/settings', { cache: 'no-store', signal: AbortSignal.timeout(5000) });
    if (response.ok) return { ...DEFAULT_SETTINGS, ...await response.json() };
  } catch { /* the service is down: the page starts with the defaults and says so */ }
  return null;
}
const settings = (await loadSettings()) ?? DEFAULT_SETTINGS;

const client = new TrafficClient(ownServer(params.get('ws')), {
  topics: ['all'],
  delta: params.get('delta') !== 'false',
  pingIntervalMs: number('ping', 5000),
  pongTimeoutMs: number('pongTimeout', 4000),
  backoff: { maxMs: number('maxBackoff', 10000) },
  recentAlertsMinutes: settings.recentAlertsMinutes,
});
globalThis.trafficClient = client; // for the browser tests and for a look from the console

const $ = id => document.getElementById(id);
// hourCycle h23, not hour12: false: with the latter some engines write the minutes after midnight as 24:03.
const time = iso => new Date(iso).toLocaleTimeString([], { hourCycle: 'h23' });
const clock = iso => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const fixed = (value, digits) => (typeof value === 'number' ? value.toFixed(digits) : '–');
const present = value => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

// ---- words for operators ----

/** Topic names as people say them. */
const TOPIC_WORDS = { cameras: 'cameras', weather: 'weather', airQuality: 'air quality', accidents: 'accidents', patterns: 'traffic flow', congestion: 'congestion', all: 'announcements' };
const TOPIC_LABEL = { ...TOPIC_WORDS, all: 'everyone' };
const capital = text => (text ? text[0].toUpperCase() + text.slice(1) : text);

/** `severeAccident` -> `severe accident`, `RoadAccident` -> `road accident`, `partlyCloudy` -> `partly cloudy`. */
function words(code) {
  const text = present(code);
  if (!text) return '';
  if (text.startsWith('urn:') || text.includes('/')) return '';
  return text.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
}

function listWords(items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** An ALERT's title from its data: its message, description, road and type, before any id. */
function alertTitle(data) {
  const road = present(data.roadName) ?? present(data.road) ?? present(data.address?.streetAddress);
  const kind = words(data.alertType) || words(data.type);
  const where = present(data.district) ?? present(data.address?.addressLocality);
  const message = present(data.message);
  if (message) return message;
  const description = present(data.description);
  if (description) return road && !description.includes(road) ? `${description} on ${road}` : description;
  if (road && kind) return `${capital(kind)} on ${road}${where ? ` (${where})` : ''}`;
  const name = present(data.name);
  if (name) return kind ? `${capital(kind)}: ${name}` : name;
  if (road) return `Alert on ${road}`;
  if (kind) return `${capital(kind)}${where ? ` in ${where}` : ''}`;
  if (where) return `Alert in ${where}`;
  return present(data.id) ?? JSON.stringify(data).slice(0, 120);
}

// ---- what each topic shows ----

const PANELS = {
  cameras: {
    title: 'Cameras',
    summary: list => `${list.filter(c => c.status === 'active').length} working · ${list.filter(c => c.status !== 'active').length} off`,
    text: c => c.name ?? c.id,
    value: c => (c.status === 'active' ? 'working' : words(c.status) || 'unknown'),
    tone: c => `status-${c.status}`,
  },
  weather: {
    title: 'Weather',
    text: w => w.name ?? w.id,
    value: w => `${fixed(w.temperature, 1)} °C · ${words(w.weatherType)}`,
    tone: () => '',
  },
  airQuality: {
    title: 'Air quality',
    summary: list => `worst AQI ${Math.max(0, ...list.map(a => a.aqi ?? 0))}`,
    text: a => a.name ?? a.id,
    value: a => `AQI ${a.aqi ?? '–'}`,
    tone: a => `aqi-${a.airQualityLevel ?? aqiLevel(a.aqi)}`,
  },
  accidents: {
    title: 'Accidents',
    summary: list => `${list.filter(a => a.status !== 'cleared').length} active`,
    text: a => present(a.description) ?? present(a.roadName) ?? a.id,
    value: a => `${a.severity ?? ''}${a.status && a.status !== 'active' ? ` · ${a.status}` : ''}`,
    tone: a => `severity-${a.severity}`,
  },
  patterns: {
    title: 'Traffic flow',
    summary: list => `${list.filter(p => p.congested).length} congested`,
    text: p => p.name ?? p.id,
    value: p => `${fixed(p.averageVehicleSpeed, 0)} km/h`,
    tone: p => (p.congested ? 'level-heavy' : 'level-low'),
  },
  congestion: {
    title: 'Congestion',
    text: z => z.name ?? z.id,
    value: z => `${z.congestionLevel ?? ''} · ${fixed(z.averageSpeed, 0)} km/h`,
    tone: z => `level-${z.congestionLevel}`,
  },
};

function aqiLevel(aqi) {
  if (typeof aqi !== 'number') return 'unknown';
  if (aqi <= 50) return 'good';
  if (aqi <= 100) return 'moderate';
  if (aqi <= 150) return 'unhealthyForSensitiveGroups';
  if (aqi <= 200) return 'unhealthy';
  if (aqi <= 300) return 'veryUnhealthy';
  return 'hazardous';
}
const AQI_WORDS = { good: 'good', moderate: 'moderate', unhealthyForSensitiveGroups: 'unhealthy for sensitive groups', unhealthy: 'unhealthy', veryUnhealthy: 'very unhealthy', hazardous: 'hazardous', unknown: 'unknown' };

// ---- panels ----

const panels = {};
for (const topic of TOPICS) {
  const spec = PANELS[topic];
  const section = document.createElement('section');
  section.className = 'topic';
  section.dataset.topic = topic;
  section.dataset.testid = `panel-${topic}`;
  section.innerHTML = `<h2>${spec.title} <span class="count" data-testid="count-${topic}">0</span>
    <span class="summary"></span><span class="updated" title="last UPDATE"></span></h2><ul class="rows"></ul>`;
  $('topics').append(section);
  panels[topic] = {
    section,
    count: section.querySelector('.count'),
    summary: section.querySelector('.summary'),
    updated: section.querySelector('.updated'),
    rows: section.querySelector('.rows'),
    rowById: new Map(),
  };
}

function renderPanel(topic, list) {
  const spec = PANELS[topic];
  const panel = panels[topic];
  const seen = new Set();
  let previous = null;
  for (const entity of list) {
    if (!entity || typeof entity.id !== 'string') continue;
    seen.add(entity.id);
    let row = panel.rowById.get(entity.id);
    if (!row) {
      row = document.createElement('li');
      row.dataset.id = entity.id;
      row.innerHTML = '<span class="text"></span><span class="value"></span>';
      panel.rowById.set(entity.id, row);
    }
    setText(row.firstChild, spec.text(entity));
    setText(row.lastChild, spec.value(entity));
    const tone = spec.tone(entity);
    if (row.className !== tone) row.className = tone;
    // Keep the list's order, moving only rows that are out of place.
    const expected = previous ? previous.nextSibling : panel.rows.firstChild;
    if (expected !== row) panel.rows.insertBefore(row, expected);
    previous = row;
  }
  for (const [id, row] of panel.rowById) {
    if (!seen.has(id)) { row.remove(); panel.rowById.delete(id); }
  }
  setText(panel.count, String(seen.size));
  setText(panel.summary, spec.summary ? spec.summary(list) : '');
  setText(panel.updated, new Date().toLocaleTimeString([], { hourCycle: 'h23' }));
  // A short highlight of the time, without forcing a layout (as restarting a CSS animation would).
  panel.updated.animate?.([{ color: '#2fbf71' }, { color: '#7d8a99' }], { duration: 1000 });
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// ---- map ----

// Whole zoom levels with tiles (a fractional one scales them and shows seams); a tighter fit without.
const map = L.map('map', { zoomSnap: settings.tileUrl ? 1 : 0.25 }).setView(HCMC, 12);
// Panes in drawing order: zones under flows under stations under cameras; accidents on top.
const PANES = { districts: 380, congestion: 390, patterns: 400, weather: 410, airQuality: 420, cameras: 430, accidents: 600 };
for (const [name, z] of Object.entries(PANES)) map.createPane(name).style.zIndex = String(z);
map.getPane('districts').style.pointerEvents = 'none';

const tiles = settings.tileUrl
  ? L.tileLayer(settings.tileUrl, { attribution: escapeHtml(settings.tileAttribution ?? ''), maxZoom: settings.tileMaxZoom ?? 19 })
  : null;
const offline = L.layerGroup(); // the city's outline and a 0.02° grid: the base when there are no tiles
const districts = L.layerGroup();
const layers = Object.fromEntries(TOPICS.map(t => [t, L.layerGroup()]));
if (tiles) tiles.addTo(map); else offline.addTo(map);
map.getContainer().dataset.base = tiles ? 'tiles' : 'offline';
districts.addTo(map);
for (const t of TOPICS) layers[t].addTo(map);
L.control.layers(
  tiles ? { 'Street map': tiles, 'Plain (offline view)': offline } : { 'Plain (offline view)': offline },
  {
    'District names': districts,
    Accidents: layers.accidents, Cameras: layers.cameras, 'Air quality': layers.airQuality,
    Weather: layers.weather, 'Traffic flow': layers.patterns, 'Congestion zones': layers.congestion,
  },
  { collapsed: params.get('layers') !== 'open' },
).addTo(map);
L.control.scale({ imperial: false }).addTo(map);

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function locationOf(entity) {
  const { latitude, longitude } = entity?.location ?? {};
  return typeof latitude === 'number' && typeof longitude === 'number' ? [latitude, longitude] : null;
}

let cityBounds = null;
let fitting = false;   // our own fit is moving the map
let userMoved = false; // the operator panned or zoomed: the map stays where they put it

function fit() {
  fitting = true;
  map.fitBounds(cityBounds, { animate: false });
  fitting = false;
}
map.on('dragstart', () => { userMoved = true; });
map.on('zoomstart', () => { if (!fitting) userMoved = true; });
// The map's box changes size as the page lays out (panels filling, the window resized, printing):
// Leaflet must be told, and the city fitted again unless the operator moved the map.
new ResizeObserver(() => {
  map.invalidateSize({ pan: false });
  if (cityBounds && !userMoved) fit();
}).observe(map.getContainer());

/** On the first data: the city's extent, the map fitted to it, and the offline view's outline and grid. */
function fitCity(state) {
  const points = [];
  for (const list of Object.values(state.topics)) {
    if (Array.isArray(list)) for (const entity of list) { const p = locationOf(entity); if (p) points.push(p); }
  }
  if (points.length === 0) return false;
  cityBounds = L.latLngBounds(points).pad(0.08);
  fit();
  const south = cityBounds.getSouth(); const north = cityBounds.getNorth();
  const west = cityBounds.getWest(); const east = cityBounds.getEast();
  offline.addLayer(L.rectangle(cityBounds, { className: 'city', interactive: false, pane: 'districts' }));
  const step = 0.02;
  for (let lon = Math.ceil(west / step) * step; lon <= east; lon += step) {
    offline.addLayer(L.polyline([[south, lon], [north, lon]], { className: 'grid-line', interactive: false, pane: 'districts' }));
  }
  for (let lat = Math.ceil(south / step) * step; lat <= north; lat += step) {
    offline.addLayer(L.polyline([[lat, west], [lat, east]], { className: 'grid-line', interactive: false, pane: 'districts' }));
  }
  return true;
}

/** District names, each where its entities are (the mean of their positions). */
let districtSignature = '';
function renderDistricts(state) {
  const sums = new Map();
  for (const list of Object.values(state.topics)) {
    if (!Array.isArray(list)) continue;
    for (const entity of list) {
      const name = present(entity?.district) ?? present(entity?.address?.addressLocality);
      const p = locationOf(entity);
      if (!name || !p) continue;
      const sum = sums.get(name) ?? { lat: 0, lon: 0, n: 0 };
      sum.lat += p[0]; sum.lon += p[1]; sum.n += 1;
      sums.set(name, sum);
    }
  }
  const places = [...sums].map(([name, s]) => [name, s.lat / s.n, s.lon / s.n]).sort((a, b) => a[0].localeCompare(b[0]));
  const signature = places.map(([n, lat, lon]) => `${n}@${lat.toFixed(3)},${lon.toFixed(3)}`).join(';');
  if (signature === districtSignature) return;
  districtSignature = signature;
  districts.clearLayers();
  for (const [name, lat, lon] of places) {
    const label = document.createElement('span');
    label.textContent = name;
    districts.addLayer(L.marker([lat, lon], {
      icon: L.divIcon({ className: 'district-label', html: label, iconSize: null }),
      interactive: false, keyboard: false, pane: 'districts',
    }));
  }
}

// Popups: the entity's details, built as text (feeds' strings are never parsed as HTML).
function details(title, rows, link) {
  const box = document.createElement('div');
  box.className = 'details';
  const heading = document.createElement('b');
  heading.textContent = title;
  box.append(heading);
  const table = document.createElement('dl');
  for (const [label, value] of rows) {
    if (value === null || value === undefined || value === '') continue;
    const dt = document.createElement('dt'); dt.textContent = label;
    const dd = document.createElement('dd'); dd.textContent = String(value);
    table.append(dt, dd);
  }
  box.append(table);
  if (link && /^https?:\/\//.test(link.href)) {
    const a = document.createElement('a');
    a.href = link.href; a.textContent = link.text; a.target = '_blank'; a.rel = 'noopener noreferrer';
    box.append(a);
  }
  return box;
}

const when = iso => (present(iso) && !Number.isNaN(Date.parse(iso)) ? new Date(iso).toLocaleString([], { hourCycle: 'h23' }) : null);

const POPUPS = {
  cameras: c => details(c.name ?? c.id, [['Status', PANELS.cameras.value(c)], ['Road', c.roadName], ['District', c.district], ['Last image', when(c.lastUpdated)]],
    present(c.imageUrl) ? { href: c.imageUrl, text: 'Camera image' } : null),
  accidents: a => details(alertTitle(a), [['Severity', a.severity], ['Status', a.status], ['Since', when(a.accidentDate)],
    ['Vehicles', a.vehiclesInvolved], ['Road', a.roadName], ['District', a.district]]),
  airQuality: a => details(a.name ?? a.id, [['AQI', `${a.aqi ?? '–'} (${AQI_WORDS[a.airQualityLevel ?? aqiLevel(a.aqi)] ?? words(a.airQualityLevel)})`],
    ['PM2.5', typeof a.pm25 === 'number' ? `${fixed(a.pm25, 1)} µg/m³` : null], ['District', a.district], ['Observed', when(a.dateObserved)]]),
  weather: w => details(w.name ?? w.id, [['Temperature', `${fixed(w.temperature, 1)} °C`], ['Sky', words(w.weatherType)],
    ['Rain', typeof w.precipitation === 'number' ? `${fixed(w.precipitation, 1)} mm/h` : null], ['Observed', when(w.dateObserved)]]),
  patterns: p => details(p.name ?? p.id, [['Speed', `${fixed(p.averageVehicleSpeed, 0)} km/h`], ['Congested', p.congested ? 'yes' : 'no'],
    ['Vehicles per hour', p.intensity], ['District', p.district]]),
  congestion: z => details(z.name ?? z.id, [['Level', z.congestionLevel], ['Average speed', `${fixed(z.averageSpeed, 0)} km/h`],
    ['Active accidents', z.activeAccidents], ['District', z.district]]),
};

const MARKERS = {
  cameras: { make: p => L.circleMarker(p, { pane: 'cameras', radius: 5, weight: 1.5 }), tone: c => `marker camera ${c.status}` },
  airQuality: { make: p => L.circleMarker(p, { pane: 'airQuality', radius: 10, weight: 1.5, fillOpacity: 0.85 }), tone: a => `marker aqi ${a.airQualityLevel ?? aqiLevel(a.aqi)}` },
  weather: { make: p => L.circleMarker(p, { pane: 'weather', radius: 4, weight: 1 }), tone: () => 'marker weather' },
  patterns: { make: p => L.circleMarker(p, { pane: 'patterns', radius: 3.5, weight: 1 }), tone: p => `marker flow ${p.congested ? 'congested' : ''}` },
  congestion: { make: (p, z) => L.circle(p, { pane: 'congestion', radius: z.radiusMeters ?? 500, weight: 1.5 }), tone: z => `zone level-${z.congestionLevel}` },
  accidents: { make: p => L.marker(p, { pane: 'accidents', icon: accidentIcon('') }), tone: a => `accident ${a.severity} ${a.status ?? ''}` },
};

function accidentIcon(tone) {
  return L.divIcon({ className: `marker-accident ${tone}`, html: '<i></i>', iconSize: [18, 16], iconAnchor: [9, 10] });
}

function setTone(marker, topic, tone) {
  if (marker.tone === tone) return;
  marker.tone = tone;
  if (topic === 'accidents') { marker.setIcon(accidentIcon(tone)); return; }
  marker.options.className = tone; // applied whenever the layer is (re)drawn
  marker.getElement()?.setAttribute('class', `${tone} leaflet-interactive`);
}

const markersByTopic = Object.fromEntries(TOPICS.map(t => [t, new Map()]));

function renderMarkers(topic, list) {
  const spec = MARKERS[topic];
  const markers = markersByTopic[topic];
  const seen = new Set();
  for (const entity of list) {
    const p = locationOf(entity);
    if (typeof entity?.id !== 'string' || !p) continue;
    seen.add(entity.id);
    let marker = markers.get(entity.id);
    if (!marker) {
      marker = spec.make(p, entity);
      marker.bindTooltip(() => document.createTextNode(`${PANELS[topic].text(marker.entity)}: ${PANELS[topic].value(marker.entity)}`));
      marker.bindPopup(() => POPUPS[topic](marker.entity), { maxWidth: 320 });
      markers.set(entity.id, marker);
      layers[topic].addLayer(marker);
    }
    marker.entity = entity;
    // Only entities that moved (or changed size) touch the map's geometry.
    const where = `${p},${entity.radiusMeters ?? ''}`;
    if (marker.where !== where) {
      if (marker.where !== undefined) marker.setLatLng(p);
      if (topic === 'congestion') marker.setRadius(entity.radiusMeters ?? 500);
      marker.where = where;
    }
    setTone(marker, topic, spec.tone(entity));
    if (marker.isPopupOpen()) marker.getPopup().setContent(POPUPS[topic](entity));
  }
  for (const [id, marker] of markers) {
    if (!seen.has(id)) { layers[topic].removeLayer(marker); markers.delete(id); }
  }
}

// ---- drawing, at most once per frame per topic ----

const dirty = new Set();
let frameRequested = false;
let fitted = false;

function markDirty(topic) {
  if (!PANELS[topic]) return;
  dirty.add(topic);
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(flush);
  }
}

function flush() {
  frameRequested = false;
  const state = client.getState();
  if (!fitted) fitted = fitCity(state);
  for (const topic of dirty) {
    const list = Array.isArray(state.topics[topic]) ? state.topics[topic] : [];
    renderPanel(topic, list);
    renderMarkers(topic, list);
  }
  if (dirty.size > 0) renderDistricts(state);
  dirty.clear();
}

// ---- alerts ----

function alertRow(message) {
  const data = message.data ?? {};
  const row = document.createElement('li');
  const severity = data.severity ?? (typeof data.aqi === 'number' ? aqiLevel(data.aqi) : 'info');
  row.className = `alert severity-${severity} aqi-${severity}${message.earlier ? ' earlier' : ''}`;
  row.dataset.offset = message.offset ?? '';
  row.dataset.id = data.id ?? '';
  row.dataset.timestamp = message.timestamp ?? '';
  if (message.earlier) row.dataset.earlier = 'true';
  row.innerHTML = '<time></time><span class="alert-topic"></span><span class="kind"></span><span class="text"></span>';
  row.children[0].textContent = time(message.timestamp ?? new Date().toISOString());
  row.children[0].dateTime = message.timestamp ?? '';
  row.children[1].textContent = capital(TOPIC_LABEL[message.topic ?? 'all'] ?? message.topic);
  row.children[2].textContent = capital(words(data.alertType) || words(severity));
  row.children[3].textContent = alertTitle(data);
  if (message.earlier) {
    const tag = document.createElement('span');
    tag.className = 'earlier-tag';
    tag.textContent = 'earlier';
    tag.title = 'Raised before this page was listening (from the service\'s recent alerts)';
    row.children[3].prepend(tag);
  }
  return row;
}

function trimAlerts() {
  while ($('alerts').children.length > MAX_ALERT_ROWS) $('alerts').lastChild.remove();
  setText($('alert-count'), String($('alerts').children.length));
}

function addAlert(message) {
  $('alerts').prepend(alertRow(message));
  trimAlerts();
}

/** ALERTs raised before the page was listening: each in its place by time (the list is newest first). */
function addEarlier(messages) {
  const list = $('alerts');
  for (const message of messages) {
    const row = alertRow(message);
    const stamp = message.timestamp ?? '';
    const after = [...list.children].find(r => (r.dataset.timestamp ?? '') < stamp);
    list.insertBefore(row, after ?? null);
  }
  trimAlerts();
}

// ---- connection, outage and staleness ----

const shortestInterval = Math.min(...Object.values(settings.updateIntervalsMs ?? DEFAULT_SETTINGS.updateIntervalsMs));
const staleAfterMs = number('staleAfter', 3 * shortestInterval); // no message in 3 intervals: stale
let dataAt = null;   // when the page last got data (SNAPSHOT, UPDATE, ALERT, RESUMED)
let openedAt = null; // when the connection last opened
let lostAt = null;   // when it was last lost
let everOpen = false;

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.floor(m / 60)} h ${m % 60} min ago`;
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function outageNow(state, now) {
  if (state.connection === 'open') {
    const since = Math.max(dataAt ?? 0, openedAt ?? 0);
    return now - since > staleAfterMs ? 'stale' : '';
  }
  if (state.connection === 'connecting' && !everOpen && state.attempt === 0) return ''; // the page is just starting
  return 'disconnected';
}

function renderConnection() {
  const state = client.getState();
  const now = Date.now();
  const badge = $('connection');
  badge.dataset.state = state.connection;
  let text = state.connection;
  if (state.connection === 'disconnected' && state.retryAt) {
    text = `disconnected · retry in ${Math.max(0, Math.ceil((state.retryAt - now) / 1000))} s`;
  } else if (state.connection === 'connecting' && state.attempt > 0) {
    text = `connecting · attempt ${state.attempt + 1}`;
  }
  setText(badge, text);
  setText($('rtt'), state.rtt == null ? '–' : `${state.rtt} ms`);
  setText($('last-message'), dataAt ? ago(now - dataAt) : '–');

  const outage = outageNow(state, now);
  const live = state.connection === 'open' && outage === '' && dataAt !== null;
  const liveBadge = $('live');
  liveBadge.dataset.live = String(live);
  setText(liveBadge, live ? 'live' : outage === 'stale' ? 'stale' : 'not live');
  if (document.body.dataset.outage !== outage) {
    if (outage) document.body.dataset.outage = outage; else delete document.body.dataset.outage;
  }
  const strip = $('outage');
  strip.hidden = outage === '';
  if (!outage) return;
  const data = dataAt ? `data from ${ago(now - dataAt)}` : 'no data yet';
  if (outage === 'stale') {
    setText($('outage-title'), 'No new data from the traffic service.');
    setText($('outage-detail'), `Nothing for ${duration(now - Math.max(dataAt ?? 0, openedAt ?? 0))} (updates are due every ${duration(shortestInterval)}); ${data}: the figures below may be out of date.`);
    return;
  }
  setText($('outage-title'), everOpen ? 'No connection to the traffic service.' : 'Cannot reach the traffic service.');
  const retry = state.connection === 'disconnected' && state.retryAt
    ? `trying again in ${Math.max(0, Math.ceil((state.retryAt - now) / 1000))} s`
    : 'trying again now';
  setText($('outage-detail'), `${lostAt ? `Lost at ${clock(lostAt)}; ` : ''}${data}: what is shown is not live. ${capital(retry)}.`);
}

// ---- may have missed ----

let restartedAt = null; // the service's start, after a reconnect found a new epoch

function renderMissed(missed) {
  const banner = $('missed');
  banner.hidden = missed.length === 0;
  if (missed.length === 0) return;
  const last = missed[missed.length - 1];
  const reasons = new Set(missed.map(m => m.reason));
  const streams = [...new Set(missed.map(m => m.stream))];
  let sentence;
  if (reasons.has('epoch_changed')) {
    sentence = `The service restarted${restartedAt ? ` at ${clock(restartedAt)}` : ''}; alerts raised while this screen was away may be missing`;
  } else if (reasons.has('too_old')) {
    sentence = `This screen was away longer than the service remembers alerts (back at ${clock(last.at)}); alerts raised while it was away may be missing`;
  } else {
    sentence = `This screen reconnected at ${clock(last.at)}; alerts raised while it was away may be missing`;
  }
  const every = TOPICS.every(t => streams.includes(t));
  const which = every ? '' : ` (${listWords(streams.map(s => TOPIC_WORDS[s] ?? s))})`;
  setText($('missed-text'), `${sentence}${which}.`);
}
$('missed-dismiss').addEventListener('click', () => client.acknowledgeMissed());

async function learnRestart() {
  const fresh = await loadSettings();
  if (fresh?.startedAt) { restartedAt = fresh.startedAt; renderMissed(client.getState().missed); }
}

// ---- wiring ----

const gotData = () => { dataAt = Date.now(); };
client.on('snapshot', () => { gotData(); for (const t of TOPICS) markDirty(t); });
client.on('update', ({ topic }) => { gotData(); markDirty(topic); });
client.on('alert', message => { gotData(); addAlert(message); });
client.on('earlier', addEarlier);
client.on('resumed', gotData);
client.on('missed', notices => { if (notices.some(n => n.reason === 'epoch_changed')) learnRestart(); });
client.on('state', state => {
  if (state.connection === 'open') { openedAt = Date.now(); everOpen = true; lostAt = null; }
  else if (state.connection === 'disconnected' && lostAt === null && everOpen) lostAt = new Date().toISOString();
});
let shownMissed = null;
client.on('change', state => {
  renderConnection();
  if (state.missed !== shownMissed) { shownMissed = state.missed; renderMissed(state.missed); }
});
client.on('error', error => console.debug('traffic:', error.message));
setInterval(renderConnection, 1000);

client.connect();
renderConnection();
