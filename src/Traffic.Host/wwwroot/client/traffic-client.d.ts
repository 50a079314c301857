// Types of traffic-client.js (docs/client.md). Wire contract: docs/protocol.md.

export type Topic = 'cameras' | 'weather' | 'airQuality' | 'accidents' | 'patterns' | 'congestion';
/** A topic, or `all` for messages published to everyone. */
export type Stream = Topic | 'all';

export const TOPICS: readonly Topic[];
export const ALL_STREAM: 'all';

/** Where a stream stands: its epoch (changes only when its history was lost) and offset. */
export interface Position { epoch: string; offset: number; }

export interface Entity { id: string; [field: string]: unknown; }

export interface ServerMessage {
  type: 'connection' | 'SNAPSHOT' | 'UPDATE' | 'ALERT' | 'RESUMED' | 'PONG' | 'SUBSCRIBED' | 'UNSUBSCRIBED' | 'ERROR' | string;
  timestamp: string;
  topic?: Topic;
  epoch?: string;
  offset?: number;
  data?: any;
  delta?: { base: number; upserted?: Entity[]; removed?: string[] };
  positions?: Partial<Record<Stream, Position>>;
  /** set on an ALERT raised before this client was listening (from GET /api/alerts/recent) */
  earlier?: true;
  [field: string]: unknown;
}

export interface BackoffOptions {
  /** first wait, ms (500) */ initialMs?: number;
  /** longest wait, ms (30000) */ maxMs?: number;
  /** growth per attempt (2) */ factor?: number;
  /** share of the wait drawn at random, 0..1 (0.5) */ jitter?: number;
}

export interface TrafficClientOptions {
  /** topics to subscribe to (['all']) */ topics?: Array<Topic | 'all'>;
  /** ask for delta UPDATEs (true) */ delta?: boolean;
  /** resume from the last positions on reconnect (true) */ resume?: boolean;
  /** subprotocols offered (['traffic.v1']) */ protocols?: string[];
  /** how often a `ping` is sent while open, ms (10000) */ pingIntervalMs?: number;
  /** a link with no frame at all this long after a ping is dead, ms (5000) */ pongTimeoutMs?: number;
  /** a connect not open within this long is given up and retried, ms (10000) */ connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** ALERTs kept in the state, newest first (200) */ maxAlerts?: number;
  /** on open, the ALERTs of the last N minutes from GET /api/alerts/recent, marked `earlier` (0: off, the default) */ recentAlertsMinutes?: number;
  /** a WebSocket constructor (default: the global one) */ WebSocket?: typeof WebSocket;
  /** fetch, for the recent ALERTs and to ask /health whether a server that keeps refusing a resume is up (default: the global one) */ fetch?: typeof fetch;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'disconnected' | 'closed';

/** A stream on which ALERTs may have been lost while the client was away. */
export interface MissedNotice {
  stream: Stream;
  /** `too_old`, `epoch_changed` (server), `no_position` (nothing to resume from), `not_resumed` (the server did not resume) */
  reason: string;
  /** when the client learned it (ISO 8601) */
  at: string;
}

export interface TrafficState {
  connection: ConnectionState;
  /** last measured ping -> PONG round trip, ms; null when not connected */
  rtt: number | null;
  clientId: string | null;
  /** reconnect attempts since the last connection that delivered its state */
  attempt: number;
  /** when the next attempt starts (epoch ms), while disconnected */
  retryAt: number | null;
  /** the wait chosen before that attempt, ms (back-off with jitter) */
  retryDelay: number | null;
  closeCode?: number | null;
  /** each topic's current list of entities */
  topics: Readonly<Partial<Record<Topic, Entity[]>>>;
  /** ALERTs, newest first */
  alerts: readonly ServerMessage[];
  /** streams that may have missed ALERTs, until acknowledgeMissed() */
  missed: readonly MissedNotice[];
  lastMessageAt: number | null;
}

export interface TrafficEvents {
  state: TrafficState;
  change: TrafficState;
  snapshot: ServerMessage;
  update: { topic: Topic | null; data: any; message: ServerMessage };
  alert: ServerMessage;
  /** ALERTs raised before this client was listening, oldest first (each with `earlier: true`); also merged into `state.alerts` */
  earlier: ServerMessage[];
  resumed: ServerMessage;
  missed: MissedNotice[];
  rtt: number;
  message: ServerMessage;
  error: Error & { code?: string };
}

export class TrafficClient {
  /** @param url e.g. `ws://localhost:5000/ws`; default: `/ws` of the page's own host */
  constructor(url?: string, options?: TrafficClientOptions);
  readonly url: string;
  readonly positions: Partial<Record<Stream, Position>>;
  readonly topics: Array<Topic | 'all'>;
  getState(): TrafficState;
  on<E extends keyof TrafficEvents>(event: E, listener: (payload: TrafficEvents[E]) => void): () => void;
  connect(): this;
  close(): void;
  subscribe(topics: Array<Topic | 'all'>): void;
  unsubscribe(topics: Array<Topic | 'all'>): void;
  acknowledgeMissed(): void;
  /** drop the positions and reconnect at once for a fresh SNAPSHOT */
  resync(reason?: string): void;
}

export function connectTraffic(url?: string, options?: TrafficClientOptions): TrafficClient;
export function backoffDelay(attempt: number, options?: BackoffOptions, random?: () => number): number;
export function applyDelta<T extends Entity>(list: T[], delta: { upserted?: T[]; removed?: string[] }): T[];
export function streamsOf(topics: Iterable<string>): Stream[];
export function buildUrl(base: string, request: { topics: string[]; delta?: boolean; since?: Partial<Record<Stream, Position>> }): string;
