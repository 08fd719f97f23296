// A person's whole OAuth flow through the Node client, the fake provider's
// consent and tokend's /redirect, as a Node bot runs it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { TokendClient } from '../../sdk/node/lib/index.js';
import { FakeWebex, Tokend, eventually } from './harness.mjs';

let fake;
let tokend;
let client;

before(async () => {
  fake = await FakeWebex.start();
  tokend = await new Tokend(fake).start();
  client = new TokendClient({ socket: tokend.socket });
});

after(async () => {
  client?.close();
  await tokend?.close();
  await fake?.stop();
});

test('a flow completed at tokend\'s /redirect gives the bot a token and an event', async () => {
  const controller = new AbortController();
  const events = [];
  const watching = (async () => {
    for await (const event of client.watch('alice', { signal: controller.signal })) {
      events.push(event);
      if (event.event === 'flow_completed') controller.abort();
    }
  })();
  await eventually(async () => (await client.stats()).watchers === 1, { what: 'watcher registered' });

  const flow = await client.startFlow('alice');
  const providerRedirect = await tokend.authorize(flow.auth_url, { user_id: 'alice' });
  assert.equal(providerRedirect.searchParams.get('state'), flow.flow_id);
  const page = await tokend.redirect(providerRedirect);
  assert.equal(page.status, 200, page.body);

  const token = await client.getToken('alice');
  assert.equal(token.user_id, 'alice');
  assert.ok(token.access_token.length > 0);
  assert.ok(!page.body.includes(token.access_token), 'the page never shows a token');
  const context = await client.getUserContext('alice');
  assert.equal(context.tokens.access_token, token.access_token);
  await watching;
  assert.ok(events.some((e) => e.event === 'flow_completed' && e.user_id === 'alice'), JSON.stringify(events));
  const stats = await client.stats();
  assert.equal(stats.flows.completed, 1);
});

test('a bot that keeps its own /redirect hands code and state to processRedirect', async () => {
  const flow = await client.startFlow('bob');
  const providerRedirect = await tokend.authorize(flow.auth_url, { user_id: 'bob' });
  const answer = await client.processRedirect(providerRedirect.searchParams.get('state'),
    providerRedirect.searchParams.get('code'));
  assert.equal(answer.status, 'authenticated', answer.message);
  assert.ok(answer.message.length > 0);
  assert.ok((await client.getToken('bob')).access_token.length > 0);
  // The flow is used up.
  const again = await client.processRedirect(flow.flow_id, providerRedirect.searchParams.get('code'));
  assert.equal(again.status, 'unknown_flow');
});

test('a grant by another person than the flow\'s is refused as wrong_user', async () => {
  await client.clearUserContext('alice');
  const flow = await client.startFlow('alice');
  const providerRedirect = await tokend.authorize(flow.auth_url, { user_id: 'bob' });
  const answer = await client.processRedirect(flow.flow_id, providerRedirect.searchParams.get('code'));
  assert.equal(answer.status, 'wrong_user');
  assert.equal(await client.getUserContext('alice'), null);
});

test('a denied consent leaves no context', async () => {
  await client.clearUserContext('bob');
  const flow = await client.startFlow('bob');
  const providerRedirect = await tokend.authorize(flow.auth_url, { deny: true });
  assert.equal(providerRedirect.searchParams.get('error'), 'access_denied');
  const page = await tokend.redirect(providerRedirect);
  assert.ok(page.status >= 200 && page.status < 500, String(page.status));
  assert.equal(await client.getUserContext('bob'), null);
});
