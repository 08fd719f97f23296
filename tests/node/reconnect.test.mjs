// Connections that survive: tokend's idle timeout, a tokend restart, the
// socket gone; retries only for what is safe to repeat; watch resubscribing.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Connection } from '../../sdk/node/lib/connection.js';
import { TokendClient, TokendError } from '../../sdk/node/lib/index.js';
import { FakeWebex, ROOT, Tokend, contextJson, eventually, scriptedServer, tempDir } from './harness.mjs';

let fake;

before(async () => {
  fake = await FakeWebex.start();
});

after(async () => {
  await fake?.stop();
});

// Lets the event loop deliver what already reached the process (a FIN from
// tokend) before the test goes on.
function turn() {
  return new Promise((resolve) => setImmediate(resolve));
}

function codeOf(promise) {
  return promise.then(() => 'resolved', (error) => {
    assert.ok(error instanceof TokendError, String(error));
    return error.code;
  });
}

describe('idle timeout', () => {
  let tokend;
  let client;
  let observer;

  before(async () => {
    tokend = await new Tokend(fake, { extraConfig: 'control:\n  idle_timeout_ms: 200\n' }).start();
    client = new TokendClient({ socket: tokend.socket });
    observer = new TokendClient({ socket: tokend.socket });
  });

  after(async () => {
    client?.close();
    observer?.close();
    await tokend?.close();
  });

  // The observer polls often enough never to be idle itself.
  async function idledOut() {
    await eventually(async () => (await observer.stats()).control_clients === 1,
      { what: 'tokend closing the idle connection' });
    await turn();
  }

  test('a read after tokend closed the idle connection is answered on a new one', async () => {
    await client.setUserContext('alice', contextJson('alice', { access: 'A-idle' }));
    await idledOut();
    assert.equal((await client.getToken('alice')).access_token, 'A-idle');
    await idledOut();
    assert.equal((await client.getUserContext('alice')).tokens.access_token, 'A-idle');
  });

  test('start_flow after an idle close is sent on a new connection, not refused', async () => {
    await client.ping();
    await idledOut();
    const flow = await client.startFlow('alice');
    assert.ok(flow.flow_id);
  });
});

describe('tokend restart', () => {
  let tokend;

  before(async () => {
    tokend = await new Tokend(fake).start();
  });

  after(async () => {
    await tokend?.close();
  });

  test('calls after a restart go to the new tokend', async () => {
    const client = new TokendClient({ socket: tokend.socket });
    try {
      await client.setUserContext('bob', contextJson('bob', { access: 'A-restart' }));
      assert.equal((await client.getToken('bob')).access_token, 'A-restart');
      await tokend.restart();
      assert.equal((await client.getToken('bob')).access_token, 'A-restart');
      const flow = await client.startFlow('bob');  // the lost connection was noticed before sending
      assert.ok(flow.flow_id);
    } finally {
      client.close();
    }
  });

  test('a read made while tokend is down is answered once it is back', async () => {
    const client = new TokendClient({ socket: tokend.socket, retries: 60, maxBackoffMs: 250 });
    try {
      await client.setUserContext('bob', contextJson('bob', { access: 'A-down' }));
      await tokend.stopCleanly();
      const pending = client.getToken('bob');
      await tokend.start();
      assert.equal((await pending).access_token, 'A-down');
    } finally {
      client.close();
    }
  });

  test('many idempotent calls in flight across a restart all succeed', async () => {
    const client = new TokendClient({ socket: tokend.socket, retries: 60, maxBackoffMs: 250 });
    try {
      await client.setUserContext('bob', contextJson('bob', { access: 'A-many' }));
      const calls = [];
      for (let i = 0; i < 300; i++) calls.push(i % 3 === 0 ? client.ping() : client.getToken('bob'));
      const restarted = tokend.restart();
      for (let i = 0; i < 300; i++) calls.push(i % 3 === 0 ? client.stats() : client.getToken('bob'));
      await restarted;
      const results = await Promise.all(calls);
      for (const [i, result] of results.entries()) {
        if (i % 3 !== 0) assert.equal(result.access_token, 'A-many');
      }
    } finally {
      client.close();
    }
  });

  test('watch resubscribes after a restart and goes on yielding events', async () => {
    const client = new TokendClient({ socket: tokend.socket, retries: 60, maxBackoffMs: 250 });
    const controller = new AbortController();
    let resubscribed = 0;
    let onResubscribed;
    const resubscription = new Promise((resolve) => { onResubscribed = resolve; });
    const events = [];
    let onEvent = () => {};
    const watching = (async () => {
      const options = {
        signal: controller.signal,
        onResubscribe: () => { resubscribed += 1; onResubscribed(); },
      };
      for await (const event of client.watch('carol', options)) {
        events.push(event);
        onEvent();
      }
    })();
    try {
      await eventually(async () => (await client.stats()).watchers === 1, { what: 'watcher registered' });
      await client.setUserContext('carol', contextJson('carol', { access: 'A1' }));
      await eventually(() => events.length === 1, { what: 'the first event' });
      await tokend.restart();
      await resubscription;
      await client.setUserContext('carol', contextJson('carol', { access: 'A2', expiresIn: 7200 }));
      await eventually(() => events.length === 2, { what: 'an event after the restart' });
      assert.deepEqual(events.map((e) => [e.event, e.user_id]), [['context_set', 'carol'], ['context_set', 'carol']]);
      assert.equal(resubscribed, 1);
    } finally {
      controller.abort();
      await watching;
      client.close();
    }
  });
});

describe('socket gone', () => {
  test('no socket: every operation rejects with "connection" after the retries, naming the path', async () => {
    const dir = tempDir();
    const socket = path.join(dir, 'absent.sock');
    const client = new TokendClient({ socket, retries: 2, backoffMs: 5 });
    try {
      for (const call of [() => client.getToken('alice'), () => client.startFlow('alice'), () => client.ping()]) {
        const error = await call().catch((e) => e);
        assert.ok(error instanceof TokendError);
        assert.equal(error.code, 'connection');
        assert.ok(error.message.includes(socket), error.message);
        assert.match(error.message, /no such socket/);
        assert.match(error.message, /gave up after 3 attempts/);
        assert.equal(error.retryable, true);
      }
    } finally {
      client.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a stopped tokend: reads give up after bounded backoff with "connection"', async () => {
    const tokend = await new Tokend(fake).start();
    const client = new TokendClient({ socket: tokend.socket, retries: 3, backoffMs: 10 });
    try {
      await client.ping();
      await tokend.stopCleanly();
      await turn();
      const started = Date.now();
      assert.equal(await codeOf(client.getToken('alice')), 'connection');
      assert.equal(await codeOf(client.startFlow('alice')), 'connection');
      assert.ok(Date.now() - started < 5_000);
    } finally {
      client.close();
      await tokend.close();
    }
  });
});

describe('answers lost or late (a scripted socket in tokend\'s place)', () => {
  let dir;

  before(() => {
    dir = tempDir();
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a connection lost after start_flow was sent: outcome_unknown, not repeated', async () => {
    const socket = path.join(dir, 'drop.sock');
    const server = await scriptedServer(socket, (request, connection) => connection.destroy());
    const client = new TokendClient({ socket, retries: 3, backoffMs: 5 });
    try {
      for (const call of [() => client.startFlow('alice'), () => client.processRedirect('f', 'c'),
        () => client.refresh('alice'), () => client.flowMaintenance(), () => client.authLink('alice')]) {
        const before = server.requests;
        const error = await call().catch((e) => e);
        assert.ok(error instanceof TokendError, String(error));
        assert.equal(error.code, 'outcome_unknown');
        assert.match(error.message, /whether tokend carried it out is unknown/);
        assert.equal(server.requests, before + 1, 'sent once, never repeated');
        assert.equal(error.retryable, false);
      }
    } finally {
      client.close();
      await server.close();
    }
  });

  test('an idempotent call whose connection is lost is repeated on a new one', async () => {
    const socket = path.join(dir, 'once.sock');
    const server = await scriptedServer(socket, (request, connection, index) => {
      if (index === 0) connection.destroy();
      else connection.write(`${JSON.stringify({ id: request.id, ok: true, result: { user_id: 'alice', access_token: 'A', expires_at: '2030-01-01T00:00:00+00:00' } })}\n`);
    });
    const client = new TokendClient({ socket, retries: 3, backoffMs: 5 });
    try {
      assert.equal((await client.getToken('alice')).access_token, 'A');
      assert.equal(server.requests, 2);
    } finally {
      client.close();
      await server.close();
    }
  });

  test('no answer in time: timeout for reads, outcome_unknown for writes', async () => {
    const socket = path.join(dir, 'mute.sock');
    const server = await scriptedServer(socket, () => {});
    const client = new TokendClient({ socket, timeoutMs: 150 });
    try {
      const read = await client.ping().catch((e) => e);
      assert.equal(read.code, 'timeout');
      assert.match(read.message, /no answer from tokend to ping within 150 ms/);
      const write = await client.startFlow('alice').catch((e) => e);
      assert.equal(write.code, 'outcome_unknown');
      assert.match(write.message, /within 150 ms; whether tokend carried it out is unknown/);
      const own = await client.call('ping', {}, { timeoutMs: 50 }).catch((e) => e);
      assert.equal(own.code, 'timeout');
    } finally {
      client.close();
      await server.close();
    }
  });

  test('a request lost before it left its tick counts as not sent; one written, as sent', async () => {
    const socket = path.join(dir, 'tick.sock');
    const server = await scriptedServer(socket, () => {});
    try {
      const options = { timeoutMs: 5000, onTimeout: () => new Error('timeout') };
      const first = new Connection(socket, { connectTimeoutMs: 5000 });
      const unsent = first.send({ op: 'start_flow', user_id: 'alice' }, options).catch((e) => e);
      first.close();
      assert.equal((await unsent).sent, false);

      const second = new Connection(socket, { connectTimeoutMs: 5000 });
      const sent = second.send({ op: 'start_flow', user_id: 'alice' }, options).catch((e) => e);
      await eventually(() => server.requests === 1, { what: 'the request received' });
      second.close();
      assert.equal((await sent).sent, true);
      assert.equal(server.requests, 1, 'the first request never reached the socket');
    } finally {
      await server.close();
    }
  });

  test('an answer that is not JSON rejects with "protocol"', async () => {
    const socket = path.join(dir, 'garbage.sock');
    const server = await scriptedServer(socket, (request, connection) => connection.write('this is not json\n'));
    const client = new TokendClient({ socket });
    try {
      assert.equal(await codeOf(client.ping()), 'protocol');
    } finally {
      client.close();
      await server.close();
    }
  });

  test('close() rejects calls in flight and later ones with "closed"', async () => {
    const socket = path.join(dir, 'closing.sock');
    const server = await scriptedServer(socket, () => {});
    const client = new TokendClient({ socket });
    try {
      const inFlight = codeOf(client.getToken('alice'));
      await eventually(() => server.requests === 1, { what: 'the request sent' });
      client.close();
      assert.equal(await inFlight, 'closed');
      assert.equal(await codeOf(client.ping()), 'closed');
      assert.equal(client.closed, true);
    } finally {
      await server.close();
    }
  });
});

test('an idle client does not keep the process alive', async () => {
  const tokend = await new Tokend(fake).start();
  try {
    const script = `import { TokendClient } from ${JSON.stringify(path.join(ROOT, 'sdk/node/lib/index.js'))};
      const client = new TokendClient({ socket: ${JSON.stringify(tokend.socket)} });
      console.log((await client.ping()).protocol);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    const code = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { child.kill(); reject(new Error('the script did not exit by itself')); }, 10_000);
      child.on('exit', (exitCode) => { clearTimeout(timer); resolve(exitCode); });
    });
    assert.equal(code, 0);
    assert.equal(out.trim(), '1');
  } finally {
    await tokend.close();
  }
});
