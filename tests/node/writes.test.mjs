// Grant-safe writes through the Node client (docs/protocol.md, set_user_context):
// a context read without its refresh token and written back keeps the stored
// one, clearing it is explicit, a stale copy does not roll the tokens back.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { TokendClient } from '../../sdk/node/lib/index.js';
import { FakeWebex, Tokend, contextJson } from './harness.mjs';

let fake;
let tokend;
let client;  // not in control.refresh_token_readers: reads show refresh_token null

before(async () => {
  fake = await FakeWebex.start({
    users: ['alice', 'bob', 'carol', 'erin'].map((id) => [id, `${id}@example.com`]),
  });
  tokend = await new Tokend(fake).start();
  client = new TokendClient({ socket: tokend.socket });
});

after(async () => {
  client?.close();
  await tokend?.close();
  await fake?.stop();
});

async function seed(userId, expiresIn = 3600) {
  const issued = await fake.control('issue_tokens', { user_id: userId });
  const context = contextJson(userId, { access: issued.access_token, expiresIn, refresh: issued.refresh_token });
  const answer = await client.setUserContext(userId, context);
  assert.deepEqual(answer, { tokens: 'written', refresh_token: 'written' });
  return issued;
}

test('a context read without its refresh token and written back keeps the grant', async () => {
  const issued = await seed('alice');
  const read = await client.getUserContext('alice');
  assert.equal(read.tokens.refresh_token, null);
  read.locale = 'de-CH';
  assert.deepEqual(await client.setUserContext('alice', read), { tokens: 'written', refresh_token: 'kept' });
  const refreshed = await client.refresh('alice');  // the stored refresh token still works
  assert.notEqual(refreshed.access_token, issued.access_token);
  assert.equal((await client.getUserContext('alice')).locale, 'de-CH');
});

test('clearRefreshToken drops the stored refresh token explicitly', async () => {
  await seed('bob');
  const read = await client.getUserContext('bob');
  assert.deepEqual(await client.setUserContext('bob', read, { clearRefreshToken: true }),
    { tokens: 'written', refresh_token: 'cleared' });
  await assert.rejects(client.refresh('bob'), (error) => error.code === 'reauth_required' || error.code === 'provider_error');
});

test('clearing the refresh token while giving one is refused, and nothing changes', async () => {
  const issued = await seed('erin');
  const context = contextJson('erin', { access: issued.access_token, refresh: 'another-refresh-token' });
  const error = await client.setUserContext('erin', context, { clearRefreshToken: true }).catch((e) => e);
  assert.equal(error.code, 'bad_request');
  assert.notEqual((await client.refresh('erin')).access_token, issued.access_token);  // the grant is intact
});

test('a stale copy does not roll the tokens back; its other fields apply; force does', async () => {
  await seed('carol', 600);
  const stale = await client.getUserContext('carol');
  const newer = await client.refresh('carol');
  assert.ok(Date.parse(newer.expires_at) > Date.parse(stale.tokens.expires_at));
  stale.note = 'from a stale copy';
  assert.deepEqual(await client.setUserContext('carol', stale), { tokens: 'kept_newer', refresh_token: 'kept' });
  assert.equal((await client.getToken('carol')).access_token, newer.access_token);
  assert.equal((await client.getUserContext('carol')).note, 'from a stale copy');

  const forced = await client.setUserContext('carol', stale, { force: true });
  assert.equal(forced.tokens, 'written');
  assert.equal((await client.getToken('carol')).access_token, stale.tokens.access_token);
});

test('a context without any refresh token answers refresh_token "none"', async () => {
  const answer = await client.setUserContext('dave', contextJson('dave', { access: 'A-dave' }));
  assert.deepEqual(answer, { tokens: 'written', refresh_token: 'none' });
  assert.deepEqual(await client.setUserContext('dave', null), { cleared: true });
});
