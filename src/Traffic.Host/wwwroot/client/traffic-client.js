// traffic-client.js: a framework-free client of the HCMC traffic real-time service (docs/client.md).
// Plain ES module, no dependencies: runs in browsers and on Node's global WebSocket
// (Node 22, or Node 20 with --experimental-websocket). Types: traffic-client.d.ts beside it.
//
// What it does for the app: connects, subscribes, keeps each topic's state (SNAPSHOT, full and
// delta UPDATEs), reports ALERTs, sends `ping` and measures the round trip (browsers cannot see
// protocol pings, so a dead link is found by a missing PONG), reconnects with exponential back-off
// and jitter, resubscribes, resumes from the last positions it saw, and says when something may
// have been missed. The wire contract: docs/protocol.md.

/** The topics of the service; `all` stands for every one of them. */
export const TOPICS = Object.freeze(['cameras', 'weather', 'airQuality', 'accidents', 'patterns', 'congestion']);

/** The stream of messages published to everyone (no topic). */
export const ALL_STREAM = 'all';

const DEFAULTS = Object.freeze({
  topics: ['all'],
  delta: true,
  resume: true,
  protocols: ['traffic.v1'],
  pingIntervalMs: 10000,
  pongTimeoutMs: 5000,
  connectTimeoutMs: 10000,
  backoff: Object.freeze({ initialMs: 500, maxMs: 30000, factor: 2, jitter: 0.5 }),
  maxAlerts: 200,
  recentAlertsMinutes: 0,
});

/**
 * The wait before reconnect attempt number `attempt` (0 for the first): exponential, capped, and
 * with jitter so that thousands of screens cut off together do not come back in one wave.
 * The delay is drawn uniformly in [base * (1 - jitter), base], base = min(maxMs, initialMs * factor^attempt).
 * @param {number} attempt
 * @param {{initialMs?: number, maxMs?: number, factor?: number, jitter?: number}} [options]
 * @param {() => number} [random] a number in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const { initialMs, maxMs, factor, jitter } = { ...DEFAULTS.backoff, ...options };
  const base = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt)));
  return Math.round(base * (1 - jitter * random()));
}

/**
 * Applies a delta UPDATE's body to a topic's list and returns the new list (the old one is not
 * changed): each upserted entity replaces the one with its `id` in place or is appended; the ids
 * in `removed` are dropped. Order is kept.
 * @param {Array<{id: string}>} list
 * @param {{upserted?: Array<{id: string}>, removed?: string[]}} delta
 * @returns {Array<{id: string}>}
 */
export function applyDelta(list, delta) {
  const upserted = delta.upserted ?? [];
  const removed = new Set(delta.removed ?? []);
  const replacements = new Map(upserted.map(entity => [entity.id, entity]));
  const next = [];
  for (const entity of list) {
    if (removed.has(entity.id)) continue;
    if (replacements.has(entity.id)) {
      next.push(replacements.get(entity.id));
      replacements.delete(entity.id);
    } else {
      next.push(entity);
    }
  }
  for (const entity of upserted) {
    if (replacements.has(entity.id) && !removed.has(entity.id)) {
      next.push(entity);
      replacements.delete(entity.id);
    }
  }
  return next;
}

/**
 * The streams a subscription covers, for positions and resume: each topic, plus `all` (messages
 * published to everyone reach every client).
 * @param {Iterable<string>} topics
 * @returns {string[]}
 */
export function streamsOf(topics) {
  const set = new Set(topics);
  const list = set.has('all') ? [...TOPICS] : TOPICS.filter(t => set.has(t));
  return [...list, ALL_STREAM];
}

/**
 * Builds the connection URL: `topics`, `delta=true` when asked, and `since` with the positions
 * to resume from (`stream:epoch:offset`, comma-separated).
 * @param {string} base
 * @param {{topics: string[], delta?: boolean, since?: Record<string, {epoch: string, offset: number}>}} request
 * @returns {string}
 */
export function buildUrl(base, { topics, delta, since }) {
  const url = new URL(base);
  url.searchParams.set('topics', topics.join(','));
  if (delta) url.searchParams.set('delta', 'true');
  else url.searchParams.delete('delta');
  const positions = Object.entries(since ?? {}).map(([stream, p]) => `${stream}:${p.epoch}:${p.offset}`);
  if (positions.length > 0) url.searchParams.set('since', positions.join(','));
  else url.searchParams.delete('since');
  return url.toString();
}

function defaultUrl() {
  const location = globalThis.location;
  if (!location) throw new Error('TrafficClient needs a url outside a browser page, e.g. ws://localhost:5000/ws');
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

/** The key of a numbered message: its stream, epoch and offset (null for an unnumbered one). */
function alertKey(message) {
  return isPosition(message) ? `${message.topic ?? ALL_STREAM}:${message.epoch}:${message.offset}` : null;
}

/** Newest first by the server's timestamp (ISO 8601 strings compare as times); stable for equal ones. */
function byTimestampDescending(a, b) {
  const ta = a.timestamp ?? '';
  const tb = b.timestamp ?? '';
  return ta < tb ? 1 : ta > tb ? -1 : 0;
}

function isPosition(message) {
  return typeof message.epoch === 'string' && Number.isInteger(message.offset);
}

/**
 * One connection to the service, kept alive across failures. Listen with `on(event, fn)`, read
 * the current state with `getState()` (a new object after every change, so React's
 * useSyncExternalStore can use it as it is).
 */
export class TrafficClient {
  /**
   * @param {string | undefined} url e.g. `ws://localhost:5000/ws` (default: `/ws` of the page's own host)
   * @param {object} [options] TrafficClientOptions (traffic-client.d.ts): topics, delta, resume, pingIntervalMs, pongTimeoutMs, backoff, maxAlerts, WebSocket
   */
  constructor(url, options = {}) {
    this.url = url ?? defaultUrl();
    this.options = { ...DEFAULTS, ...options, backoff: { ...DEFAULTS.backoff, ...options.backoff } };
    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (!this._WebSocket) throw new Error('No WebSocket: on Node 20 run with --experimental-websocket, or pass options.WebSocket');
    this._topics = new Set(this.options.topics);
    /** @type {Record<string, {epoch: string, offset: number}>} */
    this._positions = {};
    /** offset of the last UPDATE seen per topic: the `base` a delta must name */
    this._lastUpdateOffset = {};
    this._listeners = new Map();
    this._socket = null;
    this._attempt = 0;
    this._everLive = false;
    this._stopped = true;
    this._timers = new Set();
    this._resume = null; // what this connection asked to resume, and what the server answered
    this._alertKeys = new Set(); // stream:epoch:offset of the ALERTs held, so the recent ones are never shown twice
    this._recentAsked = false;
    this._state = Object.freeze({
      connection: 'idle',
      rtt: null,
      clientId: null,
      attempt: 0,
      retryAt: null,
      retryDelay: null,
      topics: Object.freeze({}),
      alerts: Object.freeze([]),
      missed: Object.freeze([]),
      lastMessageAt: null,
    });
  }

  /** @returns {object} TrafficState (traffic-client.d.ts) */
  getState() { return this._state; }

  /** The last position seen per stream (a copy). */
  get positions() { return structuredClone(this._positions); }

  /** The topics asked for (the server's answer is in the `connection` ACK and SUBSCRIBED). */
  get topics() { return [...this._topics]; }

  /**
   * @param {string} event `state` | `snapshot` | `update` | `alert` | `resumed` | `missed` | `rtt` | `message` | `error`
   * @param {(payload: any) => void} listener
   * @returns {() => void} removes the listener
   */
  on(event, listener) {
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(listener);
    return () => this._listeners.get(event)?.delete(listener);
  }

  /** Opens the connection (and keeps it open until close()). */
  connect() {
    if (!this._stopped) return this;
    this._stopped = false;
    this._open();
    return this;
  }

  /** Closes for good: no reconnect. */
  close() {
    this._stopped = true;
    this._clearTimers();
    const socket = this._socket;
    this._socket = null;
    if (socket) this._detach(socket, 1000);
    this._setState({ connection: 'closed', retryAt: null });
  }

  /** Adds topics; sent at once when connected, and part of every reconnect. */
  subscribe(topics) {
    const covered = t => this._topics.has('all') || this._topics.has(t);
    const fresh = [...new Set(topics)].filter(t => !covered(t));
    if (fresh.length === 0) return;
    if (fresh.includes('all')) this._topics = new Set(['all']);
    else for (const t of fresh) this._topics.add(t);
    this._send({ action: 'subscribe', topics: fresh, ...(this.options.delta ? { delta: true } : {}) });
  }

  /** Removes topics (`all`: every one); unsubscribing one topic while on `all` keeps the others, as on the server. */
  unsubscribe(topics) {
    const current = this._topics.has('all') ? new Set(TOPICS) : new Set(this._topics);
    const asked = topics.includes('all') ? [...TOPICS] : topics;
    const gone = [...new Set(asked)].filter(t => current.has(t));
    if (gone.length === 0) return;
    for (const t of gone) current.delete(t);
    this._topics = current.size === TOPICS.length ? new Set(['all']) : current;
    this._send({ action: 'unsubscribe', topics: topics.includes('all') ? ['all'] : gone });
  }

  /** Forgets the "may have missed" notices (e.g. once the user has seen them). */
  acknowledgeMissed() { this._setState({ missed: Object.freeze([]) }); }

  /**
   * Drops the positions and reconnects at once without `since`: a fresh SNAPSHOT. Done by itself
   * when a delta does not follow the last UPDATE it saw.
   */
  resync(reason = 'resync') {
    this._positions = {};
    this._lastUpdateOffset = {};
    this._emit('error', new Error(`resynchronising: ${reason}`));
    if (this._stopped) return;
    const socket = this._socket;
    this._socket = null;
    if (socket) this._detach(socket, 1000);
    this._clearTimers();
    this._open();
  }

  // ---- connection life ----

  _open() {
    const topics = [...this._topics];
    const since = this.options.resume ? this._sincePositions() : {};
    const url = buildUrl(this.url, { topics, delta: this.options.delta, since });
    this._resume = { asked: since, reconnect: this._everLive, recovered: new Set(), reported: new Set(), reasons: {} };
    this._setState({ connection: 'connecting', attempt: this._attempt, retryAt: null });
    let socket;
    try {
      socket = new this._WebSocket(url, this.options.protocols);
    } catch (error) {
      this._emit('error', error);
      this._scheduleReconnect();
      return;
    }
    this._socket = socket;
    socket.onopen = () => {
      if (this._socket !== socket) return;
      this._lastReceivedAt = Date.now();
      this._startPinging(socket);
    };
    socket.onmessage = event => {
      if (this._socket !== socket) return;
      this._lastReceivedAt = Date.now();
      let message;
      try { message = JSON.parse(event.data); } catch (error) { this._emit('error', error); return; }
      this._handle(message);
    };
    // Browsers follow an error with a close; Node 20's WebSocket may not (a refused connect
    // stays CONNECTING), so an error ends the connection here either way.
    socket.onerror = () => {
      if (this._socket !== socket) return;
      this._socket = null;
      this._detach(socket, 1000);
      this._lost({ code: null, reason: 'network error' });
    };
    // A connect that never completes (packets dropped on the way) counts as a failure too.
    this._timer(() => {
      if (this._socket !== socket || socket.readyState === 1) return;
      this._socket = null;
      this._detach(socket, 1000);
      this._lost({ code: null, reason: `not connected within ${this.options.connectTimeoutMs} ms` });
    }, this.options.connectTimeoutMs);
    socket.onclose = event => {
      if (this._socket !== socket) return;
      this._socket = null;
      this._lost({ code: event.code, reason: event.reason });
    };
  }

  _sincePositions() {
    const since = {};
    for (const stream of streamsOf(this._topics)) {
      if (this._positions[stream]) since[stream] = this._positions[stream];
    }
    return since;
  }

  _lost(cause) {
    this._clearTimers();
    if (this._stopped) return;
    // A connection that carried `since` and ended before its ACK: the server may be down, or may
    // refuse these positions (a 400 the browser cannot show); counted to tell them apart.
    const resume = this._resume;
    this._failedResumes = resume && !resume.acked && Object.keys(resume.asked).length > 0 ? (this._failedResumes ?? 0) + 1 : 0;
    if (this._failedResumes >= 3) this._checkRefusedResume();
    this._emit('error', new Error(`connection lost (${cause.code ?? 'no code'}${cause.reason ? `: ${cause.reason}` : ''})`));
    this._scheduleReconnect(cause);
  }

  _scheduleReconnect(cause) {
    const delay = backoffDelay(this._attempt, this.options.backoff);
    this._attempt += 1;
    this._setState({ connection: 'disconnected', rtt: null, attempt: this._attempt, retryAt: Date.now() + delay, retryDelay: delay, closeCode: cause?.code ?? null });
    this._timer(() => { if (!this._stopped) this._open(); }, delay);
  }

  /**
   * After 3 attempts in a row with `since` that ended before the ACK, asks the server's /health,
   * right after the failure, whether it is up: if it answers, it is refusing these positions (a
   * 400 the browser cannot show), so they are dropped and the next attempt starts afresh from a
   * SNAPSHOT (reported as may-have-missed) instead of being locked out; if it does not answer,
   * the server or the network is down and the positions are kept for its return.
   */
  async _checkRefusedResume() {
    const positions = this._positions;
    if (!await this._serverAnswers() || this._stopped || this._socket || this._positions !== positions) return;
    this._emit('error', new Error(`the server refuses to resume from ${JSON.stringify(positions)}: starting afresh`));
    this._positions = {};
    this._lastUpdateOffset = {};
    this._failedResumes = 0;
  }

  async _serverAnswers() {
    const fetcher = this.options.fetch ?? globalThis.fetch;
    if (!fetcher) return false;
    const health = new URL(this.url);
    health.protocol = health.protocol === 'wss:' ? 'https:' : 'http:';
    health.pathname = '/health';
    health.search = '';
    try {
      await fetcher(health.toString(), { mode: 'no-cors', cache: 'no-store' }); // any answer, even an opaque one
      return true;
    } catch {
      return false;
    }
  }

  /** Stops listening to a socket and closes it (a dead link may never report its close). */
  _detach(socket, code) {
    socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
    try { socket.close(code); } catch { /* already closing */ }
  }

  _startPinging(socket) {
    const tick = () => {
      if (this._socket !== socket) return;
      const sentAt = Date.now();
      this._pingSentAt = sentAt;
      this._send({ action: 'ping' });
      this._timer(() => {
        // Dead: nothing at all (not even the PONG) since the ping went out.
        if (this._socket === socket && this._lastReceivedAt < sentAt) {
          this._socket = null;
          this._detach(socket, 4000);
          this._lost({ code: null, reason: `no answer to ping within ${this.options.pongTimeoutMs} ms` });
        }
      }, this.options.pongTimeoutMs);
      this._timer(tick, this.options.pingIntervalMs);
    };
    tick();
  }

  _send(message) {
    const socket = this._socket;
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(message));
  }

  _timer(fn, ms) {
    const id = setTimeout(() => { this._timers.delete(id); fn(); }, ms);
    this._timers.add(id);
  }

  _clearTimers() {
    for (const id of this._timers) clearTimeout(id);
    this._timers.clear();
  }

  // ---- messages ----

  _handle(message) {
    this._emit('message', message);
    switch (message.type) {
      case 'connection':
        if (this._resume) this._resume.acked = true;
        this._failedResumes = 0;
        this._setState({ connection: 'open', clientId: message.clientId ?? null, attempt: 0, closeCode: null });
        this._reconcileTopics(message.topics);
        break;
      case 'SNAPSHOT': this._onSnapshot(message); break;
      case 'UPDATE': this._onUpdate(message); break;
      case 'ALERT': this._onAlert(message); break;
      case 'RESUMED': this._onResumed(message); break;
      case 'PONG': this._onPong(); break;
      case 'ERROR': this._emit('error', Object.assign(new Error(message.message ?? message.error), { code: message.error })); break;
      default: break; // SUBSCRIBED, UNSUBSCRIBED and types this version does not know
    }
  }

  /** Topics (un)subscribed while the socket was opening were not sent: catch up with what the ACK says. */
  _reconcileTopics(serverTopics) {
    if (!Array.isArray(serverTopics)) return;
    const wanted = this._topics.has('all') ? new Set(TOPICS) : this._topics;
    const add = [...wanted].filter(t => !serverTopics.includes(t));
    const remove = serverTopics.filter(t => !wanted.has(t));
    if (add.length > 0) this._send({ action: 'subscribe', topics: add, ...(this.options.delta ? { delta: true } : {}) });
    if (remove.length > 0) this._send({ action: 'unsubscribe', topics: remove });
  }

  _live() {
    // A connection that delivered its state: the back-off starts again from the first step.
    this._attempt = 0;
    this._everLive = true;
  }

  /**
   * With `recentAlertsMinutes`, once the first connection has delivered its state (and again after
   * a reconnect that may have missed ALERTs), asks the server for the ALERTs of the last minutes
   * (GET /api/alerts/recent, docs/protocol.md "Recent ALERTs") and adds those it does not hold,
   * marked `earlier: true`: they were raised before this client was listening. One that is past
   * the position this client has reached on its stream is left to the live path (it is on its way).
   */
  _askRecent() {
    const minutes = this.options.recentAlertsMinutes;
    if (!(minutes > 0) || this._recentInFlight) return;
    this._recentAsked = true;
    this._recentInFlight = true;
    this._fetchRecent(minutes)
      .then(alerts => this._addEarlier(alerts))
      .catch(error => this._emit('error', new Error(`recent alerts: ${error.message}`)))
      .finally(() => { this._recentInFlight = false; });
  }

  async _fetchRecent(minutes) {
    const fetcher = this.options.fetch ?? globalThis.fetch;
    if (!fetcher) throw new Error('no fetch');
    const url = new URL(this.url);
    url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    url.pathname = '/api/alerts/recent';
    url.search = '';
    url.searchParams.set('minutes', String(minutes));
    url.searchParams.set('topics', [...this._topics].join(','));
    const response = await fetcher(url.toString(), { cache: 'no-store' });
    if (!response.ok) throw new Error(`${url.pathname} answered ${response.status}`);
    const body = await response.json();
    return Array.isArray(body?.alerts) ? body.alerts : [];
  }

  _addEarlier(recent) {
    const added = [];
    for (const alert of recent) {
      if (alert?.type !== 'ALERT') continue;
      const key = alertKey(alert);
      if (key && this._alertKeys.has(key)) continue;
      const stream = alert.topic ?? ALL_STREAM;
      const known = this._positions[stream];
      if (key && known && known.epoch === alert.epoch && alert.offset > known.offset) continue; // still to come, live
      if (key) this._alertKeys.add(key);
      added.push(Object.freeze({ ...alert, earlier: true }));
    }
    if (added.length === 0) return;
    const alerts = [...this._state.alerts, ...added].sort(byTimestampDescending).slice(0, this.options.maxAlerts);
    this._setState({ alerts: Object.freeze(alerts) });
    this._emit('earlier', added); // oldest first, as the server listed them
  }

  _onSnapshot(message) {
    this._live();
    const topics = {};
    for (const [topic, list] of Object.entries(message.data ?? {})) topics[topic] = list;
    this._lastUpdateOffset = {};
    for (const [stream, position] of Object.entries(message.positions ?? {})) {
      if (isPosition(position)) this._positions[stream] = { epoch: position.epoch, offset: position.offset };
    }
    const resume = this._resume;
    if (resume?.reconnect) {
      // Whatever this reconnect did not recover may have lost ALERTs in between (an older
      // server without positions recovers nothing).
      const missed = streamsOf(this._topics).filter(s => !resume.recovered.has(s) && !resume.reported.has(s))
        .map(stream => ({ stream, reason: resume.reasons[stream] ?? (resume.asked[stream] ? 'not_resumed' : 'no_position') }));
      this._reportMissed(missed);
    }
    this._setState({ topics: Object.freeze(topics), lastMessageAt: Date.now() });
    this._emit('snapshot', message);
    if (!this._recentAsked || resume?.reconnect) this._askRecent();
  }

  _onResumed(message) {
    this._live();
    const resume = this._resume;
    const missed = [];
    for (const [stream, answer] of Object.entries(message.topics ?? {})) {
      if (answer.recovered) {
        resume?.recovered.add(stream);
      } else {
        resume?.reported.add(stream);
        if (resume) resume.reasons[stream] = answer.reason;
        missed.push({ stream, reason: answer.reason ?? 'unknown' });
        // Where the stream stands now: live messages continue from there.
        if (isPosition(answer)) this._positions[stream] = { epoch: answer.epoch, offset: answer.offset };
      }
    }
    this._reportMissed(missed);
    this._emit('resumed', message);
    if (!this._recentAsked || missed.length > 0) this._askRecent();
  }

  _reportMissed(missed) {
    if (missed.length === 0) return;
    const at = new Date().toISOString();
    const notices = missed.map(m => Object.freeze({ ...m, at }));
    this._setState({ missed: Object.freeze([...this._state.missed, ...notices]) });
    this._emit('missed', notices);
  }

  /** Records the message's position; false for one already seen (same epoch, offset not newer). */
  _advance(stream, message) {
    if (!isPosition(message)) return true;
    const known = this._positions[stream];
    if (known && known.epoch === message.epoch && message.offset <= known.offset) return false;
    this._positions[stream] = { epoch: message.epoch, offset: message.offset };
    return true;
  }

  _onUpdate(message) {
    const topic = message.topic;
    if (!topic) { // an UPDATE to everyone is not a topic's state
      if (this._advance(ALL_STREAM, message)) this._emit('update', { topic: null, data: message.data, message });
      return;
    }
    if (message.delta) {
      const current = this._state.topics[topic];
      if (this._lastUpdateOffset[topic] !== message.delta.base || !Array.isArray(current)) {
        this.resync(`delta on ${topic} based on ${message.delta.base}, last UPDATE seen ${this._lastUpdateOffset[topic] ?? 'none'}`);
        return;
      }
      if (!this._advance(topic, message)) return;
      this._lastUpdateOffset[topic] = message.offset;
      this._setTopic(topic, applyDelta(current, message.delta), message);
      return;
    }
    if (!this._advance(topic, message)) return;
    if (Number.isInteger(message.offset)) this._lastUpdateOffset[topic] = message.offset;
    this._setTopic(topic, message.data, message);
  }

  _setTopic(topic, data, message) {
    this._setState({ topics: Object.freeze({ ...this._state.topics, [topic]: data }), lastMessageAt: Date.now() });
    this._emit('update', { topic, data, message });
  }

  _onAlert(message) {
    if (!this._advance(message.topic ?? ALL_STREAM, message)) return;
    const key = alertKey(message);
    if (key) {
      if (this._alertKeys.has(key)) return; // already shown as an earlier one
      this._alertKeys.add(key);
      if (this._alertKeys.size > 4 * this.options.maxAlerts) this._alertKeys = new Set([...this._alertKeys].slice(-2 * this.options.maxAlerts));
    }
    const alerts = [message, ...this._state.alerts].slice(0, this.options.maxAlerts);
    this._setState({ alerts: Object.freeze(alerts), lastMessageAt: Date.now() });
    this._emit('alert', message);
  }

  _onPong() {
    if (this._pingSentAt == null) return;
    const rtt = Date.now() - this._pingSentAt;
    this._pingSentAt = null;
    this._setState({ rtt });
    this._emit('rtt', rtt);
  }

  _setState(change) {
    const previous = this._state;
    this._state = Object.freeze({ ...previous, ...change });
    if (change.connection && change.connection !== previous.connection) this._emit('state', this._state);
    this._emit('change', this._state);
  }

  _emit(event, payload) {
    for (const listener of this._listeners.get(event) ?? []) {
      try { listener(payload); } catch (error) { if (event !== 'error') this._emit('error', error); }
    }
  }
}

/** Creates a client and connects it. */
export function connectTraffic(url, options) {
  return new TrafficClient(url, options).connect();
}
