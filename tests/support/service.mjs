// Starts the built Traffic.Host (not `dotnet run`) on 127.0.0.1 for the Node and browser tests,
// waits until it answers /health, and stops it by its PID. Restartable on the same port.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const hostDll = process.env.TRAFFIC_HOST_DLL
  ?? path.join(repo, 'src', 'Traffic.Host', 'bin', process.env.CONFIGURATION ?? 'Release', 'net10.0', 'Traffic.Host.dll');
export const API_KEY = 'test-publish-key-js';

/** A port nobody listens on right now (the OS's choice). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs`. */
export async function until(check, { timeoutMs = 60000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try { last = await check(); if (last) return last; } catch (error) { last = error; }
    await new Promise(r => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

export class Service {
  /** @param {Record<string, string>} env extra settings (UPDATE_INTERVALS_MS, SIMULATOR_ENABLED, ...) */
  constructor(env = {}) {
    this.env = env;
    this.port = null;
    this.process = null;
    this.output = '';
  }

  get http() { return `http://127.0.0.1:${this.port}`; }
  get ws() { return `ws://127.0.0.1:${this.port}/ws`; }

  async start() {
    if (!fs.existsSync(hostDll)) throw new Error(`${hostDll} not found: build first (dotnet build Traffic.sln -c Release)`);
    this.port ??= await freePort();
    const child = spawn('dotnet', [hostDll], {
      cwd: path.dirname(hostDll),
      env: { ...process.env, WS_HOST: '127.0.0.1', WS_PORT: String(this.port), PUBLISH_API_KEY: API_KEY, PERSISTENCE: 'none', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    const exited = new Promise(resolve => child.once('exit', code => resolve(code)));
    this.exited = exited;
    child.stdout.on('data', d => { this.output += d; });
    child.stderr.on('data', d => { this.output += d; });
    let early = null;
    exited.then(code => { early = code; });
    await until(async () => {
      if (early !== null) throw new Error(`Traffic.Host exited with ${early}: ${this.output.slice(-2000)}`);
      const response = await fetch(`${this.http}/health`);
      return response.ok;
    }, { timeoutMs: 120000, what: `Traffic.Host on port ${this.port}` });
    return this;
  }

  /** SIGTERM (clients get 1001), then waits for the exit. */
  async stop() {
    const child = this.process;
    if (!child) return;
    this.process = null;
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    await this.exited;
    clearTimeout(timer);
  }

  async publish(type, topic, data) {
    const response = await fetch(`${this.http}/api/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': API_KEY },
      body: JSON.stringify(topic ? { type, topic, data } : { type, data }),
    });
    if (response.status !== 202) throw new Error(`publish answered ${response.status}: ${await response.text()}`);
  }
}
