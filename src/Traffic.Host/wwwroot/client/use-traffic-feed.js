// useTrafficFeed: a React 18/19 hook over traffic-client.js (docs/client.md). One WebSocket per
// app and URL, shared by every component that uses the hook; each component names the topics it
// needs, the socket is subscribed to their union, and it closes when the last component unmounts.
// A plain ES module importing 'react' (a peer dependency: the app's own React).
import { useEffect, useSyncExternalStore } from 'react';
import { TrafficClient, TOPICS } from './traffic-client.js';

/** url -> { client, users, topicUsers: Map<topic, count>, closing } */
const shared = new Map();

function entryFor(url, options) {
  const key = url ?? '';
  let entry = shared.get(key);
  if (!entry) {
    entry = { client: new TrafficClient(url, { ...options, topics: [] }), users: 0, topicUsers: new Map(), closing: null };
    shared.set(key, entry);
  }
  return entry;
}

/**
 * Takes a share of the app's client for `url` and subscribes it to `topics`; the returned
 * function gives the share back (unsubscribing what nobody else needs, closing it after the last).
 * The hook does this on mount and unmount; usable without React too.
 * @param {string | undefined} url
 * @param {string[]} topics
 * @param {object} [options] TrafficClientOptions for the first share (later ones share it as it is)
 * @returns {{client: TrafficClient, release: () => void}}
 */
export function retainTrafficClient(url, topics, options = {}) {
  const entry = entryFor(url, options);
  clearTimeout(entry.closing);
  entry.closing = null;
  entry.users += 1;
  for (const t of topics) entry.topicUsers.set(t, (entry.topicUsers.get(t) ?? 0) + 1);
  entry.client.subscribe(topics);
  entry.client.connect();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    entry.users -= 1;
    for (const t of topics) {
      const left = entry.topicUsers.get(t) - 1;
      if (left > 0) entry.topicUsers.set(t, left); else entry.topicUsers.delete(t);
    }
    if (entry.users === 0) {
      // Not at once: React's StrictMode unmounts and mounts again at once, which must not cost a reconnect.
      entry.closing = setTimeout(() => {
        entry.client.close();
        if (shared.get(url ?? '') === entry) shared.delete(url ?? '');
      }, 0);
      return;
    }
    const needed = new Set(entry.topicUsers.keys());
    if (needed.has('all')) return;
    const unneeded = TOPICS.filter(t => !needed.has(t));
    if (unneeded.length > 0) entry.client.unsubscribe(unneeded);
  };
  return { client: entry.client, release };
}

/**
 * The live state of some topics, kept up to date.
 * @param {string[]} [topics] e.g. ['cameras', 'accidents'] (default: every topic)
 * @param {{url?: string} & object} [options] `url` (default: `/ws` of the page's host) and TrafficClientOptions
 * @returns {{connection: string, rtt: number|null, data: Record<string, any[]>, alerts: object[], missed: object[], client: TrafficClient}}
 */
export function useTrafficFeed(topics = ['all'], options = {}) {
  const { url, ...clientOptions } = options;
  const topicKey = [...topics].sort().join(',');
  const { client } = entryFor(url, clientOptions);
  useEffect(() => retainTrafficClient(url, topicKey.split(','), clientOptions).release, [url, topicKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const state = useSyncExternalStore(subscriberOf(client), () => client.getState());
  return select(state, topicKey, client);
}

const subscribers = new WeakMap();
function subscriberOf(client) {
  if (!subscribers.has(client)) subscribers.set(client, listener => client.on('change', listener));
  return subscribers.get(client);
}

// The same state object gives the same result object, so components re-render only on change.
const selections = new WeakMap();
function select(state, topicKey, client) {
  let byTopics = selections.get(state);
  if (!byTopics) { byTopics = new Map(); selections.set(state, byTopics); }
  let result = byTopics.get(topicKey);
  if (!result) {
    const wanted = topicKey.split(',').includes('all') ? TOPICS : topicKey.split(',');
    const data = Object.fromEntries(wanted.map(t => [t, state.topics[t] ?? []]));
    const alerts = state.alerts.filter(a => !a.topic || wanted.includes(a.topic));
    result = { connection: state.connection, rtt: state.rtt, data, alerts, missed: state.missed, client };
    byTopics.set(topicKey, result);
  }
  return result;
}
