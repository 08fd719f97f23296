// Many concurrent calls on one client share one connection, pipelined; each
// promise gets its own answer (tokend answers in request order).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { TokendError } from '../../sdk/node/lib/index.js';
import { contextJson, startDaemon, stopDaemon } from './harness.mjs';

let fake;
let tokend;
let client;

before(async () => ({ fake, tokend, client } = await startDaemon()));
after(() => stopDaemon({ fake, tokend, client }));

test('2000 concurrent calls on one connection each get their own answer', async () => {
  const users = Array.from({ length: 20 }, (_, i) => `pipe-${i}`);
  await Promise.all(users.map((id) => client.setUserContext(id, contextJson(id, { access: `A-${id}` }))));
  const before = await client.stats();

  const calls = [];
  for (let i = 0; i < 2000; i++) {
    if (i % 10 === 0) {
      calls.push(client.getToken(`ghost-${i}`).then(() => 'found?', (error) => error));
    } else if (i % 10 === 5) {
      calls.push(client.ping());
    } else {
      calls.push(client.getToken(users[i % users.length]));
    }
  }
  const results = await Promise.all(calls);
  for (const [i, result] of results.entries()) {
    if (i % 10 === 0) {
      assert.ok(result instanceof TokendError, `call ${i}: ${JSON.stringify(result)}`);
      assert.equal(result.code, 'not_found');
      assert.ok(result.message.includes(`ghost-${i}`), result.message);
    } else if (i % 10 === 5) {
      assert.equal(result.protocol, 1);
    } else {
      assert.equal(result.user_id, users[i % users.length], `call ${i}`);
      assert.equal(result.access_token, `A-${users[i % users.length]}`, `call ${i}`);
    }
  }

  const afterwards = await client.stats();
  assert.equal(afterwards.control_clients, 1, 'one connection for all of them');
  assert.equal(afterwards.requests.get_token - (before.requests.get_token ?? 0), 1800, 'none repeated');
  assert.equal(afterwards.requests.ping - (before.requests.ping ?? 0), 200);
});

test('concurrent writes and reads of several users stay consistent', async () => {
  const writes = [];
  for (let round = 0; round < 5; round++) {
    for (let u = 0; u < 10; u++) {
      writes.push(client.setUserContext(`mix-${u}`, contextJson(`mix-${u}`, {
        access: `A-${u}-${round}`, expiresIn: 3600 + round * 60,
      })));
    }
  }
  const answers = await Promise.all(writes);
  // In order: each round's token expires later than the last, so every write is written.
  for (const answer of answers) assert.equal(answer.tokens, 'written');
  const tokens = await Promise.all(Array.from({ length: 10 }, (_, u) => client.getToken(`mix-${u}`)));
  for (const [u, token] of tokens.entries()) assert.equal(token.access_token, `A-${u}-4`);
});
