// One connection to tokend's control socket: newline-delimited JSON, requests
// pipelined, answers matched in order (tokend answers in request order).
// No retry policy here: a connection that fails reports why, and the client
// decides what to do with each request that was on it.

import net from 'node:net';
import { TokendError } from './errors.js';

// Longest answer line accepted; tokend's largest answers (a list_users page of
// 1000 ids, a stats object) are far below it.
const MAX_LINE_CHARS = 16 * 1024 * 1024;

/**
 * Why a connection ended, for the requests it leaves unanswered.
 * sent: false when the connection never opened, so nothing reached tokend.
 */
export class ConnectionLost extends Error {
  constructor(message, { sent, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ConnectionLost';
    this.sent = sent;
  }
}

export class Connection {
  /**
   * @param {string} socketPath
   * @param {{connectTimeoutMs: number, onClosed?: (c: Connection) => void, keepProcessAlive?: boolean}} options
   */
  constructor(socketPath, options) {
    this.socketPath = socketPath;
    this.open = true;        // false once failed or closed: take no more requests
    this.connected = false;  // the socket connected at least once
    this._pending = [];      // requests sent or about to be, in order: {id, resolve, reject, timer, line, written}
    this._buffer = '';
    this._outgoing = [];     // entries whose lines wait for the end of the tick
    this._onClosed = options.onClosed;
    this._keepAlive = options.keepProcessAlive ?? false;
    this._nextId = 1;
    this._lineHandler = null;  // set by a watch: receives every line after the pending ones

    this._socket = net.createConnection({ path: socketPath });
    this._socket.setEncoding('utf8');
    this._connectTimer = null;
    if (options.connectTimeoutMs > 0 && Number.isFinite(options.connectTimeoutMs)) {
      this._connectTimer = setTimeout(() => {
        this._fail(new ConnectionLost(
          `cannot connect to tokend at ${socketPath}: no answer within ${options.connectTimeoutMs} ms`, { sent: false }));
      }, options.connectTimeoutMs);
      this._connectTimer.unref();  // a request's own timer keeps the process alive
    }
    this._socket.on('connect', () => {
      clearTimeout(this._connectTimer);
      this.connected = true;
    });
    this._socket.on('data', (chunk) => this._onData(chunk));
    this._socket.on('error', (error) => {
      const message = this.connected
        ? `lost the connection to tokend at ${socketPath}: ${error.message}`
        : `cannot connect to tokend at ${socketPath}: ${describe(error)}`;
      this._fail(new ConnectionLost(message, { sent: this.connected, cause: error }));
    });
    this._socket.on('end', () => {
      this._fail(new ConnectionLost(`tokend closed the connection (${socketPath})`, { sent: true }));
    });
    this._socket.on('close', () => {
      this._fail(new ConnectionLost(`the connection to tokend closed (${socketPath})`, { sent: this.connected }));
    });
    this._updateRef();
  }

  /** Requests sent (or about to be) and not answered yet. */
  get inFlight() {
    return this._pending.length;
  }

  /**
   * Writes one request; resolves with tokend's response object ({id, ok, result|error}).
   * Rejects with ConnectionLost when the connection ends before the answer, or
   * with whatever `onTimeout` returns when timeoutMs passes first (the
   * connection is then closed: answers come in order, so one that never comes
   * blocks every later one).
   * @param {object} request without id
   * @param {{timeoutMs: number, onTimeout: () => Error}} options
   * @returns {Promise<object>}
   */
  send(request, { timeoutMs, onTimeout }) {
    if (!this.open) {
      return Promise.reject(new ConnectionLost('the connection is closed', { sent: false }));
    }
    const id = this._nextId++;
    const message = { id, ...request };
    message.id = id;  // ours, whatever the params held
    const line = `${JSON.stringify(message)}\n`;
    return new Promise((resolve, reject) => {
      const entry = { id, resolve, reject, timer: null, line, written: false };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        entry.timer = setTimeout(() => {
          const index = this._pending.indexOf(entry);
          if (index < 0) return;
          this._pending.splice(index, 1);
          reject(onTimeout());
          this.close();
        }, timeoutMs);
      }
      this._pending.push(entry);
      this._updateRef();
      // Requests made in one tick leave in one write.
      this._outgoing.push(entry);
      if (this._outgoing.length === 1) process.nextTick(() => this._flush());
    });
  }

  /**
   * After the pending requests are answered, every further line goes to handler
   * (a watch's events). handler(null, reason) is called once when the connection ends.
   * @param {(event: object|null, reason?: ConnectionLost) => void} handler
   */
  onLines(handler) {
    this._lineHandler = handler;
    this._updateRef();
  }

  /** Closes the connection; pending requests reject with ConnectionLost(reason). */
  close(reason) {
    this._fail(reason ?? new ConnectionLost('the connection was closed by the client', { sent: true }));
  }

  _flush() {
    const entries = this._outgoing;
    this._outgoing = [];
    if (!this.open || entries.length === 0) return;
    let text = '';
    for (const entry of entries) {
      text += entry.line;
      entry.line = null;
      entry.written = true;
    }
    this._socket.write(text);
  }

  _onData(chunk) {
    this._buffer += chunk;
    let start = 0;
    for (;;) {
      const end = this._buffer.indexOf('\n', start);
      if (end < 0) break;
      const line = this._buffer.slice(start, end);
      start = end + 1;
      if (line.trim() !== '') this._onLine(line);
      if (!this.open) return;
    }
    this._buffer = this._buffer.slice(start);
    if (this._buffer.length > MAX_LINE_CHARS) {
      this._fail(new ConnectionLost(`tokend sent a line longer than ${MAX_LINE_CHARS} characters`, { sent: true }),
        'protocol');
    }
  }

  _onLine(line) {
    let message;
    try {
      message = JSON.parse(line);
    } catch (error) {
      this._fail(new ConnectionLost(`tokend sent a line that is not JSON: ${error.message}`, { sent: true }),
        'protocol');
      return;
    }
    const entry = this._pending[0];
    if (entry === undefined) {
      if (this._lineHandler !== null && message !== null && typeof message === 'object' && 'event' in message) {
        this._lineHandler(message);
      } else {
        this._fail(new ConnectionLost('tokend sent an answer nobody asked for', { sent: true }), 'protocol');
      }
      return;
    }
    // tokend echoes our id, or null for a line it could not read as a request
    // (too long): in order either way.
    if (message === null || typeof message !== 'object' || (message.id !== entry.id && message.id !== null)) {
      this._fail(new ConnectionLost(`tokend answered out of order (expected id ${entry.id})`, { sent: true }),
        'protocol');
      return;
    }
    this._pending.shift();
    clearTimeout(entry.timer);
    this._updateRef();
    entry.resolve(message);
  }

  _fail(reason, kind) {
    if (!this.open) return;
    this.open = false;
    clearTimeout(this._connectTimer);
    this._socket.destroy();
    const pending = this._pending;
    this._pending = [];
    this._outgoing = [];
    for (const entry of pending) {
      clearTimeout(entry.timer);
      if (kind === 'protocol') entry.reject(new TokendError('protocol', reason.message));
      // A request still waiting for the end of its tick never left: safe to send again.
      else if (!entry.written) entry.reject(new ConnectionLost(reason.message, { sent: false, cause: reason.cause }));
      else entry.reject(reason);
    }
    if (this._lineHandler !== null) {
      const handler = this._lineHandler;
      this._lineHandler = null;
      handler(null, reason);
    }
    if (this._onClosed) this._onClosed(this);
  }

  // An idle connection does not keep the process alive; one with requests in
  // flight or a watch does.
  _updateRef() {
    if (this._socket.destroyed) return;
    if (this._keepAlive || this._pending.length > 0 || this._lineHandler !== null) this._socket.ref();
    else this._socket.unref();
  }
}

function describe(error) {
  switch (error.code) {
    case 'ENOENT': return 'no such socket (is tokend running?)';
    case 'ECONNREFUSED': return 'connection refused (is tokend running?)';
    case 'EACCES': return 'permission denied (is this user in the socket\'s group?)';
    default: return error.message;
  }
}
