// Every operation of the protocol through the Node client, against the real
// tokend and the fake provider, and tokend's errors as TokendError codes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { TokendClient, TokendError } from '../../sdk/node/lib/index.js';
import { ROOT, Tokend, contextJson, eventually, startDaemon, stopDaemon } from './harness.mjs';

let fake;
let tokend;
let client;

before(async () => ({ fake, tokend, client } = await startDaemon()));
after(() => stopDaemon({ fake, tokend, client }));

async function rejectsWith(promise, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof TokendError, `not a TokendError: ${error}`);
    assert.equal(error.code, code, error.message);
    assert.ok(error.message.length > 0);
    return true;
  });
}

describe('operations', () => {
  test('ping answers the version and protocol 1', async () => {
    const pong = await client.ping();
    assert.equal(pong.protocol, 1);
    assert.match(pong.version, /^\d+\.\d+\.\d+/);
  });

  test('set, get, get_token and clear a context', async () => {
    assert.equal(await client.getUserContext('carol'), null);
    const set = await client.setUserContext('carol', contextJson('carol', { access: 'A-carol' }));
    assert.deepEqual(set, { tokens: 'written', refresh_token: 'none' });
    const context = await client.getUserContext('carol');
    assert.equal(context.user_id, 'carol');
    assert.equal(context.tokens.access_token, 'A-carol');
    assert.equal(context.tokens.refresh_token, null, 'refresh tokens are withheld by default');
    const token = await client.getToken('carol');
    assert.deepEqual(Object.keys(token).sort(), ['access_token', 'expires_at', 'user_id']);
    assert.equal(token.access_token, 'A-carol');
    assert.equal(token.user_id, 'carol');
    assert.ok(!Number.isNaN(Date.parse(token.expires_at)));
    assert.deepEqual(await client.clearUserContext('carol'), { cleared: true });
    assert.equal(await client.getUserContext('carol'), null);
    assert.deepEqual(await client.setUserContext('carol', null), { cleared: false });
  });

  test('grant_status and sign_out (webex: no revocation endpoint)', async () => {
    const none = await client.grantStatus('gina');
    assert.equal(none.context, false);
    assert.equal(none.reauth_required, true);
    assert.equal(none.provider, 'webex');
    await client.setUserContext('gina', contextJson('gina', { access: 'A-gina', refresh: 'R-gina' }));
    const status = await client.grantStatus('gina');
    assert.equal(status.context, true);
    assert.equal(status.access_token_valid, true);
    assert.equal(status.refreshable, true);
    assert.equal(status.reauth_required, false);
    assert.ok(!JSON.stringify(status).includes('A-gina') && !JSON.stringify(status).includes('R-gina'));
    const signedOut = await client.signOut('gina');
    assert.deepEqual(signedOut, { cleared: true, revocation: { outcome: 'not_supported' } });
    assert.equal((await client.grantStatus('gina')).context, false);
    assert.deepEqual(await client.signOut('gina', { revoke: false }), { cleared: false, revocation: null });
    await rejectsWith(client.grantStatus(''), 'bad_request');
  });

  test('every user op takes an integration: the single section is "default"', async () => {
    await client.setUserContext('hal', contextJson('hal', { access: 'A-hal' }), { integration: 'default' });
    assert.equal((await client.getToken('hal', { integration: 'default' })).access_token, 'A-hal');
    assert.equal((await client.grantStatus('hal')).integration, 'default');
    await rejectsWith(client.getToken('hal', { integration: 'github' }), 'unknown_integration');
    await rejectsWith(client.startFlow('hal', { integration: 'github' }), 'unknown_integration');
    assert.deepEqual(await client.clearUserContext('hal', { integration: 'default' }), { cleared: true });
  });

  test('get_user_context with refresh refreshes an expired token', async () => {
    const issued = await fake.control('issue_tokens', { user_id: 'alice' });
    await client.setUserContext('alice', contextJson('alice', {
      access: issued.access_token, expiresIn: -10, refresh: issued.refresh_token,
    }));
    const context = await client.getUserContext('alice', { refresh: true });
    assert.notEqual(context.tokens.access_token, issued.access_token);
    assert.ok(Date.parse(context.tokens.expires_at) > Date.now());
  });

  test('refresh forces a new token', async () => {
    const issued = await fake.control('issue_tokens', { user_id: 'bob' });
    await client.setUserContext('bob', contextJson('bob', { access: issued.access_token, refresh: issued.refresh_token }));
    const first = await client.refresh('bob');
    assert.equal(first.user_id, 'bob');
    assert.notEqual(first.access_token, issued.access_token);
    const second = await client.refresh('bob');
    assert.notEqual(second.access_token, first.access_token);
    assert.equal((await client.getToken('bob')).access_token, second.access_token);
  });

  test('list_users pages with a cursor, allUsers walks them all', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `page-${i}`);
    await Promise.all(ids.map((id) => client.setUserContext(id, contextJson(id))));
    const seen = [];
    let page = await client.listUsers({ limit: 3 });
    assert.ok(page.users.length <= 3);
    seen.push(...page.users);
    while (page.next !== null) {
      page = await client.listUsers({ cursor: page.next, limit: 3 });
      seen.push(...page.users);
    }
    const walked = [];
    for await (const id of client.allUsers({ pageSize: 2 })) walked.push(id);
    assert.deepEqual([...walked].sort(), [...seen].sort());
    for (const id of ids) assert.ok(walked.includes(id), id);
    await Promise.all(ids.map((id) => client.clearUserContext(id)));
  });

  test('start_flow answers a flow with a PKCE authorization URL', async () => {
    const flow = await client.startFlow('alice');
    assert.match(flow.flow_id, /.+/);
    const url = new URL(flow.auth_url);
    assert.equal(url.origin, fake.url);
    assert.equal(url.searchParams.get('state'), flow.flow_id);
    assert.equal(url.searchParams.get('client_id'), 'fake-webex-client-id');
    assert.ok(url.searchParams.get('code_challenge'));
    assert.ok(Date.parse(flow.expires_at) > Date.now());
  });

  test('process_redirect of an unknown flow says so', async () => {
    const answer = await client.processRedirect('no-such-flow', 'some-code');
    assert.equal(answer.status, 'unknown_flow');
    assert.equal(typeof answer.message, 'string');
  });

  test('flow_maintenance and stats', async () => {
    const swept = await client.flowMaintenance({ force: true });
    assert.equal(swept.ran, true);
    assert.ok(Array.isArray(swept.deleted));
    const stats = await client.stats();
    for (const key of ['users', 'flows', 'refreshes', 'store', 'requests', 'uptime_seconds', 'watchers', 'links']) {
      assert.ok(key in stats, key);
    }
    assert.ok(stats.requests.ping >= 1);
    assert.ok(stats.flows.started >= 1);
    for (const key of ['issued', 'opened', 'expired', 'invalid']) assert.equal(typeof stats.links[key], 'number', key);
    assert.equal(typeof stats.flows.started_without_pkce, 'number');
  });

  test('watch streams events without tokens, filtered by user', async () => {
    const controller = new AbortController();
    const events = [];
    const watching = (async () => {
      for await (const event of client.watch('dave', { signal: controller.signal })) {
        events.push(event);
        if (events.length === 2) controller.abort();
      }
    })();
    await eventually(async () => (await client.stats()).watchers === 1, { what: 'watcher registered' });
    await client.setUserContext('erin', contextJson('erin'));  // someone else's: not seen
    await client.setUserContext('dave', contextJson('dave', { access: 'A-dave' }));
    await client.clearUserContext('dave');
    await watching;
    assert.deepEqual(events.map((e) => [e.event, e.user_id]), [['context_set', 'dave'], ['context_cleared', 'dave']]);
    for (const event of events) {
      assert.ok(!Number.isNaN(Date.parse(event.at)));
      assert.ok(!JSON.stringify(event).includes('A-dave'));
    }
    await eventually(async () => (await client.stats()).watchers === 0, { what: 'watcher gone' });
    await client.clearUserContext('erin');
  });

  test('breaking out of a watch loop closes its connection', async () => {
    const watching = (async () => {
      for await (const event of client.watch()) {
        if (event.user_id === 'frank') break;
      }
    })();
    await eventually(async () => (await client.stats()).watchers === 1, { what: 'watcher registered' });
    await client.setUserContext('frank', contextJson('frank'));
    await watching;
    await eventually(async () => (await client.stats()).watchers === 0, { what: 'watcher gone' });
    await client.clearUserContext('frank');
  });

  test('the socket comes from TOKEND_SOCKET when no option names one', async () => {
    const saved = process.env.TOKEND_SOCKET;
    process.env.TOKEND_SOCKET = tokend.socket;
    try {
      const fromEnv = new TokendClient();
      assert.equal(fromEnv.socketPath, tokend.socket);
      assert.equal((await fromEnv.ping()).protocol, 1);
      fromEnv.close();
      assert.equal(new TokendClient({ socket: '/tmp/elsewhere.sock' }).socketPath, '/tmp/elsewhere.sock');
      assert.equal(new TokendClient('/tmp/positional.sock').socketPath, '/tmp/positional.sock');
      delete process.env.TOKEND_SOCKET;
      assert.equal(new TokendClient().socketPath, '/run/tokend/tokend.sock');
    } finally {
      if (saved === undefined) delete process.env.TOKEND_SOCKET;
      else process.env.TOKEND_SOCKET = saved;
    }
  });
});

test('bench/clients/node_get_token.mjs measures get_token and prints one JSON line', async () => {
  await client.setUserContext('bench', contextJson('bench', { access: 'A-bench-secret' }));
  const run = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'clients', 'node_get_token.mjs'),
    '--socket', tokend.socket, '--user', 'bench', '--count', '50', '--warmup', '5'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, run.stdout);
  const figures = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(figures), ['p50_us', 'p99_us', 'count']);
  assert.equal(figures.count, 50);
  assert.ok(figures.p50_us > 0 && figures.p99_us >= figures.p50_us, lines[0]);
  assert.ok(!run.stdout.includes('A-bench-secret'));
  await client.clearUserContext('bench');
});

describe('errors', () => {
  test('not_found for a user without a context', async () => {
    await rejectsWith(client.getToken('ghost'), 'not_found');
    await rejectsWith(client.refresh('ghost'), 'not_found');
  });

  test('bad_request for missing or wrong parameters, and the connection goes on', async () => {
    await rejectsWith(client.getToken(''), 'bad_request');
    await rejectsWith(client.call('get_token', {}), 'bad_request');
    await rejectsWith(client.setUserContext('alice', 'not an object'), 'bad_request');
    await rejectsWith(client.listUsers({ limit: 0 }), 'bad_request');
    await rejectsWith(client.call('get_token', { user_id: 42 }), 'bad_request');
    assert.equal((await client.ping()).protocol, 1);
  });

  test('bad_request for a line over the limit, answered in order', async () => {
    const huge = contextJson('alice');
    huge.tokens.scope = 'x'.repeat(70 * 1024);
    const [tooLong, ping] = await Promise.allSettled([client.setUserContext('alice', huge), client.ping()]);
    assert.equal(tooLong.status, 'rejected');
    assert.equal(tooLong.reason.code, 'bad_request');
    assert.equal(ping.status, 'fulfilled');
    assert.equal(ping.value.protocol, 1);
  });

  test('a parameter named id does not take the place of the request\'s own', async () => {
    const [pong, token] = await Promise.allSettled([client.call('ping', { id: 'mine' }), client.getToken('ghost')]);
    assert.equal(pong.status, 'fulfilled');
    assert.equal(pong.value.protocol, 1);
    assert.equal(token.reason.code, 'not_found');
  });

  test('unknown_op for an operation protocol 1 does not have', async () => {
    const error = await client.call('no_such_op').catch((e) => e);
    assert.ok(error instanceof TokendError);
    assert.equal(error.code, 'unknown_op');
    assert.equal(error.op, 'no_such_op');
    assert.equal(error.name, 'TokendError');
    assert.ok(error instanceof Error);
  });

  test('reauth_required once the grant is revoked', async () => {
    const issued = await fake.control('issue_tokens', { user_id: 'alice' });
    // force: alice's stored tokens (from an earlier test) expire later than these.
    await client.setUserContext('alice', contextJson('alice', {
      access: issued.access_token, expiresIn: 30, refresh: issued.refresh_token,
    }), { force: true });
    await fake.control('revoke', { user_id: 'alice' });
    await rejectsWith(client.getToken('alice'), 'reauth_required');
    await client.clearUserContext('alice');
  });

  test('a setUserContext without a context is refused before it is sent', async () => {
    await assert.rejects(client.setUserContext('alice'), TypeError);
  });

  test('bad options are refused with their name', () => {
    assert.throws(() => new TokendClient({ timeoutMs: -1 }), /timeoutMs/);
    assert.throws(() => new TokendClient({ retries: 'many' }), /retries/);
  });
});

describe('permission_denied', () => {
  let locked;
  let lockedClient;

  before(async () => {
    // Writes allowed to uid 65534 (nobody) only: these tests' uid may read, not write.
    locked = await new Tokend(fake, {
      extraConfig: 'control:\n  allow:\n    write: {uids: [65534]}\n',
    }).start();
    lockedClient = new TokendClient({ socket: locked.socket });
  });

  after(async () => {
    lockedClient?.close();
    await locked?.close();
  });

  test('a write op is denied, a read op allowed, on the same connection', async () => {
    await rejectsWith(lockedClient.setUserContext('alice', contextJson('alice')), 'permission_denied');
    await rejectsWith(lockedClient.startFlow('alice'), 'permission_denied');
    assert.equal(await lockedClient.getUserContext('alice'), null);
    assert.equal((await lockedClient.stats()).requests_denied, 2);
  });
});

describe('permission_denied for reads', () => {
  let locked;
  let lockedClient;

  before(async () => {
    locked = await new Tokend(fake, {
      extraConfig: 'control:\n  allow:\n    read: {uids: [65534]}\n',
    }).start();
    lockedClient = new TokendClient({ socket: locked.socket });
  });

  after(async () => {
    lockedClient?.close();
    await locked?.close();
  });

  test('a refused watch throws at once instead of resubscribing', async () => {
    await rejectsWith(lockedClient.getToken('alice'), 'permission_denied');
    const iterate = async () => {
      for await (const event of lockedClient.watch()) assert.fail(`an event: ${JSON.stringify(event)}`);
    };
    await rejectsWith(iterate(), 'permission_denied');
    await eventually(() => /watch denied to uid/.test(locked.log()), { what: 'the denial logged' });
    assert.equal(locked.log().match(/watch denied to uid/g).length, 1, 'asked once');
  });
});

