// A stand-in for WebSocket, passed as options.WebSocket: the test plays the server's part
// frame by frame, so the client's state handling is checked exactly (the real server is in
// service.test.mjs).
export class FakeSocket {
  static instances = [];
  constructor(url, protocols) {
    this.url = new URL(url);
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    FakeSocket.instances.push(this);
  }
  static get last() { return FakeSocket.instances[FakeSocket.instances.length - 1]; }
  static reset() { FakeSocket.instances = []; }
  open() { this.readyState = 1; this.onopen?.({}); return this; }
  receive(message) { this.onmessage?.({ data: JSON.stringify({ timestamp: new Date().toISOString(), ...message }) }); return this; }
  drop(code = 1006, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code) { this.closedWith = code ?? 1005; this.readyState = 3; }
}
