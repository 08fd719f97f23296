// Runs the real tokend binary beside the fake Webex provider (tools/fake_webex,
// started through its CLI) for the Node client's tests. ctest sets TOKEND_BIN,
// TOKEND_PLUGIN_DIR and TOKEND_PYTHON; the defaults suit a build in ./build.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { TokendClient } from '../../sdk/node/lib/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
const TOKEND_BIN = process.env.TOKEND_BIN || path.join(ROOT, 'build', 'daemon', 'tokend');
const PLUGIN_DIR = process.env.TOKEND_PLUGIN_DIR || path.join(ROOT, 'build', 'plugins');
const PYTHON = process.env.TOKEND_PYTHON || '/usr/bin/python3';
const FAKE_WEBEX = path.join(ROOT, 'tools', 'fake_webex', 'fake_webex.py');

export const CLIENT_ID = 'fake-webex-client-id';
const CLIENT_SECRET = 'fake-webex-client-secret';
const BOT_TOKEN = 'fake-webex-bot-token';

// Short paths: a Unix socket path must fit in 108 bytes.
export function tempDir(prefix = 'tkn-') {
  return fs.mkdtempSync(path.join('/tmp', prefix));
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An error that ends eventually() at once (a process that exited will not start). */
export class Fatal extends Error {}

/**
 * Polls check() until it returns a truthy value (returned) or timeoutMs passes
 * (throws); errors thrown by check count as "not yet", except Fatal ones.
 */
export async function eventually(check, { timeoutMs = 10_000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      if (error instanceof Fatal) throw error;
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** GET without following redirects: {status, headers, body}. */
export function httpGet(url, { method = 'GET', body = null, headers = {} } = {}) {
  if (body !== null) headers = { ...headers, 'content-length': Buffer.byteLength(body) };
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: text }));
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    request.on('error', reject);
    request.end(body ?? undefined);
  });
}

function waitExit(child) {
  // No pid: the spawn itself failed and no 'exit' will come.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
}

/** The fake provider, a process of its own started through its CLI. */
export class FakeWebex {
  static async start({ users = [['alice', 'alice@example.com'], ['bob', 'bob@example.com']] } = {}) {
    const fake = new FakeWebex();
    fake.dir = tempDir('tkf-');
    const portFile = path.join(fake.dir, 'port');
    fs.writeFileSync(path.join(fake.dir, 'client_secret'), `${CLIENT_SECRET}\n`);
    fs.writeFileSync(path.join(fake.dir, 'bot_token'), `${BOT_TOKEN}\n`);
    const argv = [FAKE_WEBEX, '--port', '0', '--port-file', portFile, '--client-id', CLIENT_ID,
      '--client-secret-file', path.join(fake.dir, 'client_secret'),
      '--bot-token-file', path.join(fake.dir, 'bot_token'),
      '--log-file', path.join(fake.dir, 'fake.log')];
    for (const [id, email] of users) argv.push('--user', `${id}:${email}`);
    fake.process = spawn(PYTHON, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
    let spawnError = null;
    fake.process.on('error', (error) => { spawnError = error; });
    const port = await eventually(() => {
      if (spawnError !== null) throw new Fatal(`cannot start ${PYTHON}: ${spawnError.message}`);
      if (fake.process.exitCode !== null) throw new Fatal(`fake_webex exited with ${fake.process.exitCode}`);
      return fs.existsSync(portFile) && Number(fs.readFileSync(portFile, 'utf8').trim());
    }, { what: 'fake_webex listening' });
    fake.port = port;
    fake.url = `http://127.0.0.1:${port}`;
    return fake;
  }

  /** POST /_control/<name> with a JSON body; the parsed answer. */
  async control(name, body = {}) {
    const answer = await httpGet(`${this.url}/_control/${name}`, {
      method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' },
    });
    if (answer.status !== 200) throw new Error(`fake_webex ${name}: ${answer.status} ${answer.body}`);
    return JSON.parse(answer.body);
  }

  async state() {
    return JSON.parse((await httpGet(`${this.url}/_control/state`)).body);
  }

  async stop() {
    this.process.kill('SIGTERM');
    await waitExit(this.process);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A test file's daemon: the fake provider, tokend against it, and a client of it. */
export async function startDaemon() {
  const fake = await FakeWebex.start();
  const tokend = await new Tokend(fake).start();
  return { fake, tokend, client: new TokendClient({ socket: tokend.socket }) };
}

/** Closes what startDaemon() opened, whichever parts of it were opened. */
export async function stopDaemon({ fake, tokend, client }) {
  client?.close();
  await tokend?.close();
  await fake?.stop();
}

/** One tokend process in a temp dir, configured against a fake provider. */
export class Tokend {
  constructor(fake, { extraConfig = '' } = {}) {
    this.fake = fake;
    this.dir = tempDir();
    this.socket = path.join(this.dir, 'run', 'tokend.sock');
    fs.writeFileSync(path.join(this.dir, 'client_secret'), `${CLIENT_SECRET}\n`);
    fs.writeFileSync(path.join(this.dir, 'bot_token'), `${BOT_TOKEN}\n`);
    const lines = [
      `state_dir: ${this.dir}/state`,
      `runtime_dir: ${this.dir}/run`,
      'log:',
      '  level: debug',
      'http:',
      '  listen: 127.0.0.1:0',
      '  request_timeout_ms: 500',
      'integration:',
      `  client_id: ${CLIENT_ID}`,
      `  client_secret: {file: ${this.dir}/client_secret}`,
      `  bot_token: {file: ${this.dir}/bot_token}`,
      '  scopes: spark:people_read spark:messages_write',
      // Never dialed: tests replay the provider's redirect onto tokend's real port.
      '  redirect_url: http://127.0.0.1:9/redirect',
      `  auth_service: ${fake.url}/v1/authorize`,
      `  token_service: ${fake.url}/v1/access_token`,
      `  api_base: ${fake.url}/v1`,
      '  request_timeout_ms: 1500',
    ];
    this.configPath = path.join(this.dir, 'tokend.yml');
    fs.writeFileSync(this.configPath, `${lines.join('\n')}\n${extraConfig}`);
    this.logPath = path.join(this.dir, 'tokend.log');
    this.process = null;
    this.port = null;
    this.ran = false;  // started once at least
  }

  log() {
    return fs.existsSync(this.logPath) ? fs.readFileSync(this.logPath, 'utf8') : '';
  }

  async start() {
    const from = this.log().length;
    const out = fs.openSync(this.logPath, 'a');
    const env = { ...process.env };
    for (const name of ['NOTIFY_SOCKET', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'WATCHDOG_USEC',
      'WATCHDOG_PID', 'TOKEND_SOCKET']) delete env[name];
    this.process = spawn(TOKEND_BIN, ['-c', this.configPath, '--plugin-dir', PLUGIN_DIR],
      { cwd: this.dir, env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const child = this.process;
    let spawnError = null;
    child.on('error', (error) => { spawnError = error; });
    let text;
    try {
      text = await eventually(() => {
        const log = this.log().slice(from);
        if (log.includes(' running (pid')) return log;
        if (spawnError !== null) throw new Fatal(`cannot start ${TOKEND_BIN}: ${spawnError.message}`);
        if (child.exitCode !== null) throw new Fatal(`tokend exited with ${child.exitCode}:\n${log}`);
        return null;
      }, { timeoutMs: 20_000, what: 'tokend running' });
    } catch (error) {
      await this.stop('SIGKILL');
      // A tokend that never ran leaves nothing worth keeping (the error holds its log).
      if (!this.ran) fs.rmSync(this.dir, { recursive: true, force: true });
      throw error;
    }
    this.ran = true;
    const match = /redirect endpoint listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
    this.port = match ? Number(match[1]) : null;
    return this;
  }

  /** Stops tokend (SIGTERM), waiting for it to exit; resolves with its exit code. */
  async stop(signal = 'SIGTERM') {
    const child = this.process;
    if (child === null) return null;
    this.process = null;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await waitExit(child);
    return child.exitCode;
  }

  /** Stops tokend and checks that it shut down cleanly (exit 0, no sanitizer report). */
  async stopCleanly() {
    const running = this.process !== null;
    const code = await this.stop();
    if (!running) return;
    const log = this.log();
    if (code !== 0 || /AddressSanitizer|LeakSanitizer|runtime error:/.test(log)) {
      throw new Error(`tokend did not shut down cleanly (exit ${code}):\n${log.slice(-4000)}`);
    }
  }

  async restart() {
    await this.stopCleanly();
    return this.start();
  }

  async close() {
    try {
      await this.stopCleanly();
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /**
   * The person's part of a flow: queue their decision at the fake provider,
   * open the authorization URL there, and return the provider's redirect
   * (a URL object: tokend's /redirect with code and state).
   */
  async authorize(authUrl, decision) {
    await this.fake.control('consent', [decision]);
    const answer = await httpGet(authUrl);
    if (answer.status !== 302) throw new Error(`authorize: ${answer.status} ${answer.body}`);
    return new URL(answer.headers.location);
  }

  /** The browser arriving at tokend's /redirect with the provider's query. */
  redirect(providerRedirect) {
    return httpGet(`http://127.0.0.1:${this.port}/redirect${providerRedirect.search}`);
  }
}

/** A user_context as the protocol carries it. */
export function contextJson(userId, { access = 'A1', expiresIn = 3600, refresh = null } = {}) {
  const now = Date.now();
  return {
    user_id: userId,
    tokens: {
      access_token: access,
      expires_at: new Date(now + expiresIn * 1000).toISOString(),
      refresh_token: refresh,
      refresh_token_expires_at: refresh === null ? null : new Date(now + 90 * 86400 * 1000).toISOString(),
      token_type: 'Bearer',
      scope: 'spark:people_read',
    },
  };
}

/**
 * A Unix socket server scripted by the test, for the client's own edge cases
 * that a healthy tokend never produces (a connection dropped after reading a
 * request, no answer at all). onLine(line, socket, index) decides per request.
 */
export async function scriptedServer(socketPath, onLine) {
  let count = 0;
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        onLine(JSON.parse(line), socket, count++);
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    get requests() { return count; },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
