// The live dashboard: a map of the city drawn from the entities' coordinates, a panel per topic,
// the alert feed and the connection's state, all fed by one TrafficClient. Plain ES module, no
// build step. Smooth with hundreds of entities: each entity has one element (row, marker) that is
// updated in place, and changes are drawn at most once per animation frame per topic.
import { TrafficClient, TOPICS } from './client/traffic-client.js';

const SVG = 'http://www.w3.org/2000/svg';
const MAP_WIDTH = 1000;
const MAP_HEIGHT = 800;
const MAX_ALERT_ROWS = 100;

// ?ws=ws://host:port/path for another path of this same server (a link to another server's feed is
// ignored: the page would show its ALERTs as this service's); ?delta=false for full UPDATEs;
// ?ping=ms, ?pongTimeout=ms, ?maxBackoff=ms.
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
const client = new TrafficClient(ownServer(params.get('ws')), {
  topics: ['all'],
  delta: params.get('delta') !== 'false',
  pingIntervalMs: number('ping', 5000),
  pongTimeoutMs: number('pongTimeout', 4000),
  backoff: { maxMs: number('maxBackoff', 10000) },
});
globalThis.trafficClient = client; // for the browser tests and for a look from the console

const $ = id => document.getElementById(id);
const time = iso => new Date(iso).toLocaleTimeString([], { hour12: false });
const fixed = (value, digits) => (typeof value === 'number' ? value.toFixed(digits) : '–');

// ---- what each topic shows ----

const PANELS = {
  cameras: {
    title: 'Cameras',
    summary: list => `${list.filter(c => c.status === 'active').length} active · ${list.filter(c => c.status !== 'active').length} not`,
    text: c => c.name ?? c.id,
    value: c => c.status ?? '',
    tone: c => `status-${c.status}`,
  },
  weather: {
    title: 'Weather',
    text: w => w.name ?? w.id,
    value: w => `${fixed(w.temperature, 1)} °C · ${w.weatherType ?? ''}`,
    tone: () => '',
  },
  airQuality: {
    title: 'Air quality',
    summary: list => `max AQI ${Math.max(0, ...list.map(a => a.aqi ?? 0))}`,
    text: a => a.name ?? a.id,
    value: a => `AQI ${a.aqi ?? '–'}`,
    tone: a => `aqi-${a.airQualityLevel ?? aqiLevel(a.aqi)}`,
  },
  accidents: {
    title: 'Accidents',
    summary: list => `${list.filter(a => a.status !== 'cleared').length} active`,
    text: a => a.description ?? a.roadName ?? a.id,
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
  setText(panel.updated, new Date().toLocaleTimeString([], { hour12: false }));
  // A short highlight of the time, without forcing a layout (as restarting a CSS animation would).
  panel.updated.animate?.([{ color: '#2fbf71' }, { color: '#7d8a99' }], { duration: 1000 });
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// ---- map ----

let projection = null;

function makeProjection(state) {
  const points = [];
  for (const list of Object.values(state.topics)) {
    if (!Array.isArray(list)) continue;
    for (const entity of list) {
      const { latitude, longitude } = entity?.location ?? {};
      if (typeof latitude === 'number' && typeof longitude === 'number') points.push([longitude, latitude]);
    }
  }
  if (points.length === 0) return null;
  let [minLon, maxLon, minLat, maxLat] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [lon, lat] of points) {
    minLon = Math.min(minLon, lon); maxLon = Math.max(maxLon, lon);
    minLat = Math.min(minLat, lat); maxLat = Math.max(maxLat, lat);
  }
  const padLon = Math.max(0.005, (maxLon - minLon) * 0.08);
  const padLat = Math.max(0.005, (maxLat - minLat) * 0.08);
  minLon -= padLon; maxLon += padLon; minLat -= padLat; maxLat += padLat;
  // Equirectangular, x scaled by cos(latitude): right at the scale of a city.
  const kx = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const scale = Math.min(MAP_WIDTH / ((maxLon - minLon) * kx), MAP_HEIGHT / (maxLat - minLat));
  const offsetX = (MAP_WIDTH - (maxLon - minLon) * kx * scale) / 2;
  const offsetY = (MAP_HEIGHT - (maxLat - minLat) * scale) / 2;
  const metresPerUnit = 111320 / scale;
  return {
    bounds: { minLon, maxLon, minLat, maxLat },
    x: lon => offsetX + (lon - minLon) * kx * scale,
    y: lat => offsetY + (maxLat - lat) * scale,
    metres: m => m / metresPerUnit,
  };
}

function drawGrid(p) {
  const grid = $('grid');
  grid.replaceChildren();
  const { minLon, maxLon, minLat, maxLat } = p.bounds;
  const step = 0.02;
  const line = (x1, y1, x2, y2) => svg('line', { x1, y1, x2, y2, class: 'grid-line' });
  const label = (x, y, text) => Object.assign(svg('text', { x, y, class: 'grid-label' }), { textContent: text });
  grid.append(svg('rect', { x: p.x(minLon), y: p.y(maxLat), width: p.x(maxLon) - p.x(minLon), height: p.y(minLat) - p.y(maxLat), class: 'city' }));
  for (let lon = Math.ceil(minLon / step) * step; lon <= maxLon; lon += step) {
    grid.append(line(p.x(lon), p.y(maxLat), p.x(lon), p.y(minLat)), label(p.x(lon) + 3, p.y(minLat) - 4, `${lon.toFixed(2)}°E`));
  }
  for (let lat = Math.ceil(minLat / step) * step; lat <= maxLat; lat += step) {
    grid.append(line(p.x(minLon), p.y(lat), p.x(maxLon), p.y(lat)), label(p.x(minLon) + 3, p.y(lat) - 3, `${lat.toFixed(2)}°N`));
  }
}

function svg(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

const MARKERS = {
  cameras: { shape: () => svg('rect', { width: 9, height: 9, rx: 2 }), place: (el, x, y) => { el.setAttribute('x', x - 4.5); el.setAttribute('y', y - 4.5); }, tone: c => `marker camera ${c.status}` },
  accidents: { shape: () => svg('path', { d: 'M0,-10 L9,7 L-9,7 Z' }), place: (el, x, y) => el.setAttribute('transform', `translate(${x},${y})`), tone: a => `marker accident ${a.severity} ${a.status ?? ''}` },
  airQuality: { shape: () => svg('circle', { r: 11 }), place: (el, x, y) => { el.setAttribute('cx', x); el.setAttribute('cy', y); }, tone: a => `marker aqi ${a.airQualityLevel ?? aqiLevel(a.aqi)}` },
  weather: { shape: () => svg('circle', { r: 4 }), place: (el, x, y) => { el.setAttribute('cx', x); el.setAttribute('cy', y); }, tone: () => 'marker weather' },
  patterns: { shape: () => svg('circle', { r: 3.5 }), place: (el, x, y) => { el.setAttribute('cx', x); el.setAttribute('cy', y); }, tone: p => `marker flow ${p.congested ? 'congested' : ''}` },
  congestion: {
    shape: () => svg('circle', { r: 20 }),
    place: (el, x, y, z) => { el.setAttribute('cx', x); el.setAttribute('cy', y); el.setAttribute('r', Math.max(8, projection.metres(z.radiusMeters ?? 500))); },
    tone: z => `zone level-${z.congestionLevel}`,
  },
};
const markersByTopic = Object.fromEntries(TOPICS.map(t => [t, new Map()]));

function renderMarkers(topic, list) {
  if (!projection) return;
  const spec = MARKERS[topic];
  const layer = $(`layer-${topic}`);
  const markers = markersByTopic[topic];
  const seen = new Set();
  for (const entity of list) {
    const { latitude, longitude } = entity?.location ?? {};
    if (typeof entity?.id !== 'string' || typeof latitude !== 'number' || typeof longitude !== 'number') continue;
    seen.add(entity.id);
    let marker = markers.get(entity.id);
    if (!marker) {
      marker = spec.shape();
      marker.dataset.id = entity.id;
      marker.append(svg('title'));
      markers.set(entity.id, marker);
      layer.append(marker);
    }
    // Only entities that moved (or changed size) touch the SVG's geometry.
    const where = `${longitude},${latitude},${entity.radiusMeters ?? ''}`;
    if (marker.where !== where) {
      marker.where = where;
      spec.place(marker, projection.x(longitude), projection.y(latitude), entity);
    }
    const tone = spec.tone(entity);
    if (marker.getAttribute('class') !== tone) marker.setAttribute('class', tone);
    setText(marker.firstChild, `${PANELS[topic].text(entity)}: ${PANELS[topic].value(entity)}`); // the tooltip
  }
  for (const [id, marker] of markers) {
    if (!seen.has(id)) { marker.remove(); markers.delete(id); }
  }
}

// ---- drawing, at most once per frame per topic ----

const dirty = new Set();
let frameRequested = false;

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
  if (!projection) {
    projection = makeProjection(state);
    if (projection) { drawGrid(projection); for (const t of TOPICS) dirty.add(t); }
  }
  for (const topic of dirty) {
    const list = Array.isArray(state.topics[topic]) ? state.topics[topic] : [];
    renderPanel(topic, list);
    renderMarkers(topic, list);
  }
  dirty.clear();
}

// ---- alerts ----

function addAlert(message) {
  const data = message.data ?? {};
  const row = document.createElement('li');
  const severity = data.severity ?? (typeof data.aqi === 'number' ? aqiLevel(data.aqi) : 'info');
  row.className = `alert severity-${severity} aqi-${severity}`;
  row.dataset.offset = message.offset ?? '';
  row.dataset.id = data.id ?? '';
  const topic = message.topic ?? 'everyone';
  const text = data.message ?? data.description ?? data.name ?? data.id ?? JSON.stringify(data).slice(0, 120);
  row.innerHTML = '<time></time><span class="alert-topic"></span><span class="kind"></span><span class="text"></span>';
  row.children[0].textContent = time(message.timestamp ?? new Date().toISOString());
  row.children[0].dateTime = message.timestamp ?? '';
  row.children[1].textContent = topic;
  row.children[2].textContent = data.alertType ?? severity;
  row.children[3].textContent = text;
  $('alerts').prepend(row);
  while ($('alerts').children.length > MAX_ALERT_ROWS) $('alerts').lastChild.remove();
  alertCount += 1;
  setText($('alert-count'), String(alertCount));
}
let alertCount = 0;

// ---- connection ----

function renderConnection() {
  const state = client.getState();
  const badge = $('connection');
  badge.dataset.state = state.connection;
  let text = state.connection;
  if (state.connection === 'disconnected' && state.retryAt) {
    text = `disconnected · retry in ${Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000))} s`;
  } else if (state.connection === 'connecting' && state.attempt > 0) {
    text = `connecting · attempt ${state.attempt + 1}`;
  }
  setText(badge, text);
  setText($('rtt'), state.rtt == null ? '–' : `${state.rtt} ms`);
  setText($('last-message'), state.lastMessageAt ? `${Math.round((Date.now() - state.lastMessageAt) / 1000)} s ago` : '–');
}

function renderMissed(missed) {
  const banner = $('missed');
  banner.hidden = missed.length === 0;
  if (missed.length === 0) return;
  const last = missed[missed.length - 1];
  const byReason = new Map();
  for (const m of missed) byReason.set(m.reason, new Set([...(byReason.get(m.reason) ?? []), m.stream]));
  const streams = [...byReason].map(([reason, set]) => `${[...set].join(', ')} (${reason.replaceAll('_', ' ')})`).join('; ');
  setText($('missed-text'), `Reconnected at ${time(last.at)}: some alerts may have been missed on ${streams}.`);
}
$('missed-dismiss').addEventListener('click', () => client.acknowledgeMissed());

client.on('snapshot', () => { for (const t of TOPICS) markDirty(t); });
client.on('update', ({ topic }) => markDirty(topic));
client.on('alert', addAlert);
let shownMissed = null;
client.on('change', state => {
  renderConnection();
  if (state.missed !== shownMissed) { shownMissed = state.missed; renderMissed(state.missed); }
});
client.on('error', error => console.debug('traffic:', error.message));
setInterval(renderConnection, 1000);

client.connect();
renderConnection();
