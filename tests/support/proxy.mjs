// A TCP proxy between a client and the service, to cut a client's link while the service stays up:
// `cut()` drops every connection and stops listening, `restore()` listens again on the same port,
// `freeze()` keeps the connections open but stops passing bytes (a dead link that never closes).
import { createServer } from 'node:net';
import { connect } from 'node:net';

export class Proxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.port = null;
    this.pairs = new Set();
    this.frozen = false;
    this.server = null;
  }

  get ws() { return `ws://127.0.0.1:${this.port}/ws`; }
  get http() { return `http://127.0.0.1:${this.port}`; }

  listen() {
    return new Promise((resolve, reject) => {
      const server = createServer(client => {
        const upstream = connect(this.targetPort, '127.0.0.1');
        const pair = { client, upstream };
        this.pairs.add(pair);
        const forward = (from, to) => from.on('data', chunk => { if (!this.frozen) to.write(chunk); });
        forward(client, upstream);
        forward(upstream, client);
        const end = () => { this.pairs.delete(pair); client.destroy(); upstream.destroy(); };
        client.on('close', end); upstream.on('close', end);
        client.on('error', end); upstream.on('error', end);
      });
      server.once('error', reject);
      server.listen(this.port ?? 0, '127.0.0.1', () => { this.port = server.address().port; this.server = server; resolve(this); });
    });
  }

  /** Drops every link and refuses new ones (connection refused) until restore(). */
  async cut() {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise(r => server.close(r)) : Promise.resolve();
    for (const { client, upstream } of this.pairs) { client.destroy(); upstream.destroy(); }
    this.pairs.clear();
    await closed;
  }

  restore() { this.frozen = false; return this.listen(); }

  /** Passes no more bytes either way, without closing anything. */
  freeze() { this.frozen = true; }

  async close() { this.frozen = false; await this.cut(); }
}
