// A person's whole OAuth flow through the Node client, the fake provider's
// consent and tokend's /redirect, as a Node bot runs it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { TokendClient, TokendError } from '../../sdk/node/lib/index.js';
import { CLIENT_ID, Tokend, eventually, httpGet, startDaemon, stopDaemon } from './harness.mjs';

let fake;
let tokend;
let client;

before(async () => ({ fake, tokend, client } = await startDaemon()));
after(() => stopDaemon({ fake, tokend, client }));

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
  // One integration: its share is "default", and it is all of it.
  assert.deepEqual(Object.keys(stats.integrations), ['default']);
  assert.equal(stats.integrations.default.flows.completed, 1);
  assert.equal(stats.integrations.default.users, stats.users);
  assert.equal(stats.sign_outs.not_requested, 0);
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

test('a flow without PKCE completes through an authorization URL the bot built itself', async () => {
  await client.clearUserContext('alice');
  const before = (await client.stats()).flows;
  const flow = await client.startFlow('alice', { pkce: false });
  assert.equal(new URL(flow.auth_url).searchParams.get('code_challenge'), null);
  // As wxc_sdk's Integration.auth_url(state=flow_id) builds it.
  const own = new URL(`${fake.url}/v1/authorize`);
  own.search = new URLSearchParams({
    client_id: CLIENT_ID, response_type: 'code', redirect_uri: 'http://127.0.0.1:9/redirect',
    scope: 'spark:people_read spark:messages_write', state: flow.flow_id,
  }).toString();
  const providerRedirect = await tokend.authorize(own.href, { user_id: 'alice' });
  const page = await tokend.redirect(providerRedirect);
  assert.equal(page.status, 200, page.body);
  assert.ok((await client.getToken('alice')).access_token.length > 0);
  const after = (await client.stats()).flows;
  assert.equal(after.started_without_pkce, (before.started_without_pkce ?? 0) + 1);
  assert.equal(after.completed, before.completed + 1);
});

test('a link from authLink starts a fresh flow when opened, days later as well', async () => {
  await client.clearUserContext('bob');
  const link = await client.authLink('bob');
  const url = new URL(link.url);
  assert.equal(url.pathname, '/auth');
  const days = (Date.parse(link.expires_at) - Date.now()) / 86_400_000;
  assert.ok(days > 6.9 && days <= 7.01, link.expires_at);

  const started = (await client.stats()).flows.started;
  const opened = await httpGet(`http://127.0.0.1:${tokend.port}${url.pathname}${url.search}`);
  assert.equal(opened.status, 302, opened.body);
  const authUrl = new URL(opened.headers.location);
  assert.equal(authUrl.origin, fake.url);
  assert.ok(authUrl.searchParams.get('code_challenge'), 'a link\'s flow uses PKCE');
  assert.equal((await client.stats()).flows.started, started + 1);

  const providerRedirect = await tokend.authorize(authUrl.href, { user_id: 'bob' });
  const page = await tokend.redirect(providerRedirect);
  assert.equal(page.status, 200, page.body);
  assert.ok((await client.getToken('bob')).access_token.length > 0);
});

test('a tampered link starts nothing', async () => {
  const url = new URL((await client.authLink('alice')).url);
  const signature = url.searchParams.get('s');
  url.searchParams.set('s', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
  const started = (await client.stats()).flows.started;
  const opened = await httpGet(`http://127.0.0.1:${tokend.port}${url.pathname}${url.search}`);
  assert.equal(opened.status, 400);
  assert.equal(opened.headers.location, undefined);
  assert.equal((await client.stats()).flows.started, started);
});

test('authLink for a bad user id is bad_request', async () => {
  const error = await client.authLink('').catch((e) => e);
  assert.ok(error instanceof TokendError);
  assert.equal(error.code, 'bad_request');
});

test('flows without PKCE refused by configuration: bad_request saying so', async () => {
  const strict = await new Tokend(fake, { extraConfig: 'flows:\n  allow_without_pkce: false\n' }).start();
  const strictClient = new TokendClient({ socket: strict.socket });
  try {
    const error = await strictClient.startFlow('alice', { pkce: false }).catch((e) => e);
    assert.ok(error instanceof TokendError);
    assert.equal(error.code, 'bad_request');
    assert.match(error.message, /PKCE/i);
    assert.ok((await strictClient.startFlow('alice')).flow_id);
  } finally {
    strictClient.close();
    await strict.close();
  }
});

