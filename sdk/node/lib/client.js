// TokendClient: one promise per operation of tokend's control protocol
// (docs/protocol.md), over one pipelined connection that is reopened when it
// closes (tokend's idle timeout, a restart).

import { Connection, ConnectionLost } from './connection.js';
import { TokendError } from './errors.js';

export const DEFAULT_SOCKET = '/run/tokend/tokend.sock';

// Operations whose repetition does no harm: retried on a new connection when
// the old one was lost before their answer. set_user_context writes the same
// context again (grant-safe rules: a repeated write keeps what the first kept).
// The others (start_flow, process_redirect, refresh, flow_maintenance,
// auth_link) are not repeated: losing their answer rejects with outcome_unknown.
export const IDEMPOTENT_OPS = Object.freeze(new Set([
  'ping', 'get_token', 'get_user_context', 'list_users', 'stats', 'set_user_context', 'grant_status',
]));

const DEFAULTS = Object.freeze({
  timeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  retries: 10,
  backoffMs: 25,
  maxBackoffMs: 2_000,
});

// A user's parameters: `integration` (one of tokend's integrations: list) only
// when given; absent means the default integration.
function userParams(userId, options) {
  const params = { user_id: userId };
  if (options?.integration != null) params.integration = options.integration;
  return params;
}

export class TokendClient {
  #connection = null;
  #closed = false;
  #watchConnections = new Set();
  #sleepers = new Set();

  /**
   * @param {string | import('./index.js').TokendClientOptions} [options]
   *   the socket path, or options; the socket defaults to $TOKEND_SOCKET, then
   *   /run/tokend/tokend.sock.
   */
  constructor(options = {}) {
    if (typeof options === 'string') options = { socket: options };
    if (options === null || typeof options !== 'object') {
      throw new TypeError('TokendClient options must be an object or a socket path');
    }
    this.socketPath = options.socket || process.env.TOKEND_SOCKET || DEFAULT_SOCKET;
    for (const key of Object.keys(DEFAULTS)) {
      const value = options[key] ?? DEFAULTS[key];
      if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
        throw new TypeError(`TokendClient option ${key} must be a number >= 0 (got ${String(value)})`);
      }
      this[key] = value;
    }
  }

  /** True once close() was called. */
  get closed() {
    return this.#closed;
  }

  /**
   * Sends one request and resolves with its result; rejects with TokendError.
   * @param {string} op
   * @param {object} [params]
   * @param {{idempotent?: boolean, timeoutMs?: number}} [options]
   */
  async call(op, params = {}, options = {}) {
    const idempotent = options.idempotent ?? IDEMPOTENT_OPS.has(op);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw closedError(op);
      let response;
      try {
        response = await this.#current().send({ ...params, op }, {
          timeoutMs,
          onTimeout: () => (idempotent
            ? new TokendError('timeout', `no answer from tokend to ${op} within ${timeoutMs} ms`, { op })
            : new TokendError('outcome_unknown', `no answer from tokend to ${op} within ${timeoutMs} ms; ` +
              `whether tokend carried it out is unknown (it is not repeated automatically)`, { op })),
        });
      } catch (error) {
        if (!(error instanceof ConnectionLost)) throw error;
        if (this.#closed) throw closedError(op);
        if (error.sent && !idempotent) {
          throw new TokendError('outcome_unknown', `${error.message}; ${op} had been sent, and whether ` +
            `tokend carried it out is unknown (it is not repeated automatically)`, { op, cause: error });
        }
        if (attempt >= this.retries) {
          throw new TokendError('connection', `${error.message} (${op}: gave up after ${attempt + 1} attempts)`,
            { op, cause: error });
        }
        await this.#sleep(this.#delay(attempt, error));
        continue;
      }
      if (response.ok === true) return response.result;
      const failure = response.error ?? {};
      throw new TokendError(typeof failure.code === 'string' ? failure.code : 'internal',
        typeof failure.message === 'string' ? failure.message : 'tokend answered an error without a message',
        { op });
    }
  }

  // -- operations (docs/protocol.md) ----------------------------------------

  ping() {
    return this.call('ping');
  }

  startFlow(userId, options = {}) {
    const params = userParams(userId, options);
    if (options.pkce === false) params.pkce = false;
    return this.call('start_flow', params);
  }

  processRedirect(flowId, code) {
    return this.call('process_redirect', { flow_id: flowId, code });
  }

  async getUserContext(userId, options = {}) {
    const params = userParams(userId, options);
    if (options.refresh) params.refresh = true;
    return (await this.call('get_user_context', params)).user_context;
  }

  getToken(userId, options = {}) {
    return this.call('get_token', userParams(userId, options));
  }

  setUserContext(userId, userContext, options = {}) {
    if (userContext === undefined) {
      return Promise.reject(new TypeError('setUserContext needs a context, or null to clear it'));
    }
    const params = { ...userParams(userId, options), user_context: userContext };
    if (options.clearRefreshToken) params.clear_refresh_token = true;
    if (options.force) params.force = true;
    return this.call('set_user_context', params);
  }

  clearUserContext(userId, options = {}) {
    return this.call('set_user_context', { ...userParams(userId, options), user_context: null });
  }

  /**
   * Clears the user's context and (unless options.revoke is false) revokes the
   * grant at the provider: {cleared, revocation: {outcome, status?, reason?} | null}.
   */
  signOut(userId, options = {}) {
    const params = userParams(userId, options);
    if (options.revoke === false) params.revoke = false;
    return this.call('sign_out', params);
  }

  /**
   * What tokend knows of the user's grant, never a token. Without
   * options.integration, on a tokend with several: also `integrations`, each one's.
   */
  grantStatus(userId, options = {}) {
    return this.call('grant_status', userParams(userId, options));
  }

  listUsers(options = {}) {
    const params = {};
    if (options.cursor != null) params.cursor = options.cursor;
    if (options.limit != null) params.limit = options.limit;
    return this.call('list_users', params);
  }

  /** Every user id, page by page. */
  async *allUsers(options = {}) {
    let cursor = null;
    do {
      const page = await this.listUsers({ cursor, limit: options.pageSize ?? 1000 });
      yield* page.users;
      cursor = page.next;
    } while (cursor != null);
  }

  refresh(userId, options = {}) {
    return this.call('refresh', userParams(userId, options));
  }

  flowMaintenance(options = {}) {
    return this.call('flow_maintenance', options.force ? { force: true } : {});
  }

  stats() {
    return this.call('stats');
  }

  authLink(userId, options = {}) {
    return this.call('auth_link', userParams(userId, options));
  }

  /**
   * Events as an async iterator, on a connection of its own. When that
   * connection is lost (a tokend restart), the watch is made again on a new
   * one with bounded backoff; events in between are missed (onResubscribe is
   * called after each new subscription so a caller can re-read what it
   * caches). Ends when options.signal aborts, the loop breaks or the client
   * closes; throws TokendError when tokend refuses the watch or cannot be
   * reached within the retries.
   * @param {string | null} [userId] only this user's events; all when null
   * @param {{signal?: AbortSignal, retries?: number, onResubscribe?: () => void}} [options]
   */
  async *watch(userId = null, options = {}) {
    const params = userId == null ? {} : { user_id: userId };
    if (options.integration != null) params.integration = options.integration;
    const { signal } = options;
    const retries = options.retries ?? this.retries;
    let subscribed = false;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed || signal?.aborted) return;
      const connection = new Connection(this.socketPath, {
        connectTimeoutMs: this.connectTimeoutMs, keepProcessAlive: true,
      });
      this.#watchConnections.add(connection);
      const events = new EventChannel(signal);
      connection.onLines((event, reason) => (event !== null ? events.push(event) : events.end(reason)));
      let lost;
      try {
        const response = await connection.send({ ...params, op: 'watch' }, {
          timeoutMs: this.timeoutMs,
          onTimeout: () => new ConnectionLost(`no answer from tokend to watch within ${this.timeoutMs} ms`,
            { sent: true }),
        });
        if (response.ok !== true) {
          const failure = response.error ?? {};
          throw new TokendError(failure.code ?? 'internal', failure.message ?? 'watch refused', { op: 'watch' });
        }
        if (subscribed && options.onResubscribe) options.onResubscribe();
        subscribed = true;
        attempt = 0;
        for (;;) {
          const item = await events.next();
          if (item.done) {
            lost = item.reason;
            break;
          }
          yield item.value;
        }
      } catch (error) {
        if (!(error instanceof ConnectionLost)) throw error;
        lost = error;
      } finally {
        connection.close();
        this.#watchConnections.delete(connection);
        events.dispose();
      }
      if (this.#closed || signal?.aborted) return;
      if (attempt >= retries) {
        throw new TokendError('connection', `${lost.message} (watch: gave up after ${attempt + 1} attempts)`,
          { op: 'watch', cause: lost });
      }
      await this.#sleep(this.#delay(attempt, lost), signal);
    }
  }

  /**
   * Closes the connection and every watch. Requests still in flight reject
   * with code "closed"; later calls too.
   */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#connection?.close();
    this.#connection = null;
    for (const connection of this.#watchConnections) connection.close();
    for (const wake of this.#sleepers) wake();
  }

  // -- internals -------------------------------------------------------------

  #current() {
    if (this.#connection === null || !this.#connection.open) {
      this.#connection = new Connection(this.socketPath, {
        connectTimeoutMs: this.connectTimeoutMs,
        onClosed: (connection) => {
          if (this.#connection === connection) this.#connection = null;
        },
      });
    }
    return this.#connection;
  }

  // A connection that was up and then closed (idle timeout, restart) is
  // retried at once; one that could not be opened waits, doubling each time.
  #delay(attempt, lost) {
    if (attempt === 0 && lost?.sent) return 0;
    return Math.min(this.backoffMs * 2 ** attempt, this.maxBackoffMs);
  }

  #sleep(ms, signal) {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

function closedError(op) {
  return new TokendError('closed', `the client was closed (${op})`, { op });
}

// Events of one watch connection, handed to the iterator one at a time.
class EventChannel {
  constructor(signal) {
    this._items = [];
    this._ended = null;
    this._waiter = null;
    this._signal = signal;
    this._onAbort = () => this.end(null);
    signal?.addEventListener('abort', this._onAbort, { once: true });
  }

  push(event) {
    if (this._ended !== null) return;
    if (this._waiter !== null) {
      const waiter = this._waiter;
      this._waiter = null;
      waiter({ done: false, value: event });
    } else {
      this._items.push(event);
    }
  }

  end(reason) {
    if (this._ended !== null) return;
    this._ended = { done: true, reason };
    if (this._waiter !== null) {
      const waiter = this._waiter;
      this._waiter = null;
      waiter(this._ended);
    }
  }

  next() {
    if (this._items.length > 0) return Promise.resolve({ done: false, value: this._items.shift() });
    if (this._ended !== null) return Promise.resolve(this._ended);
    return new Promise((resolve) => {
      this._waiter = resolve;
    });
  }

  dispose() {
    this._signal?.removeEventListener('abort', this._onAbort);
  }
}
