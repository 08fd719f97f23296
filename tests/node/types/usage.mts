// Type-checked (never run) by types.test.mjs: the declarations in
// sdk/node/lib/index.d.ts must accept a bot's ordinary use and refuse misuse.
import {
  TokendClient, TokendError, type AuthLink, type ClearResult, type Flow, type SetUserContextResult,
  type TokenResult, type UserContext, type WatchEvent, type IntegrationStats,
} from '../../../sdk/node/lib/index.js';

// No lib beyond es2022 and no @types/node: the declarations need neither.
declare const console: { log(...values: unknown[]): void };

export async function ordinaryUse(signal: AbortSignalLikeForTest): Promise<void> {
  const client = new TokendClient({ socket: '/run/tokend/tokend.sock', timeoutMs: 5000, retries: 3 });
  const other = new TokendClient('/tmp/t.sock');
  other.close();

  const flow: Flow = await client.startFlow('alice');
  const legacy: Flow = await client.startFlow('alice', { pkce: false });
  const url: string = flow.auth_url + legacy.flow_id;
  const link: AuthLink = await client.authLink('alice');
  const expires: string = link.expires_at;

  const token: TokenResult = await client.getToken('alice');
  const githubs: TokenResult = await client.getToken('alice', { integration: 'github' });
  const integration: string = (await client.grantStatus('alice', { integration: 'github' })).integration;
  const bearer = `Bearer ${token.access_token}`;

  const context: UserContext | null = await client.getUserContext('alice', { refresh: true });
  if (context !== null && context.tokens !== null) {
    context.tokens.scope = 'spark:people_read';
    const written: SetUserContextResult = await client.setUserContext('alice', context, { force: false });
    if (written.tokens === 'kept_newer' || written.refresh_token === 'kept') {
      console.log('kept');
    }
  }
  const maybe: UserContext | null = await client.getUserContext('bob');
  const either: SetUserContextResult | ClearResult = await client.setUserContext('bob', maybe, { clearRefreshToken: true });
  console.log(either);
  const cleared: ClearResult = await client.setUserContext('alice', null);
  const clearedToo: boolean = (await client.clearUserContext('alice')).cleared || cleared.cleared;

  for await (const id of client.allUsers({ pageSize: 100 })) console.log(id.toUpperCase());
  const page = await client.listUsers({ limit: 10, cursor: null });
  const next: string | null = page.next;

  for await (const event of client.watch('alice', { signal, onResubscribe: () => undefined })) {
    const seen: WatchEvent = event;
    console.log(seen.event, seen.user_id, seen.at);
  }
  const stats = await client.stats();
  const watchers: number = stats.watchers;
  const opened: number = stats.links.opened + stats.flows.started_without_pkce;
  // Each integration's share, by name ("default" with one integration).
  const revoked: number = stats.sign_outs.revoked + stats.integrations['default'].sign_outs.not_requested;
  const own: IntegrationStats | undefined = stats.integrations['default'];
  const completed: number = own ? own.flows.completed + own.links.issued : 0;
  console.log(opened, revoked, completed);
  const pong = await client.ping();
  const version: string = pong.version;
  const swept = await client.flowMaintenance({ force: true });
  const ran: boolean = swept.ran;
  const redirect = await client.processRedirect('flow', 'code');
  if (redirect.status === 'authenticated') console.log(redirect.message);
  const raw = await client.call<{ version: string }>('ping', {}, { timeoutMs: 100 });

  try {
    await client.refresh('alice');
  } catch (error) {
    if (error instanceof TokendError && (error.code === 'reauth_required' || error.retryable)) {
      console.log(error.code, error.op, error.message);
    }
  }
  console.log(url, expires, bearer, clearedToo, next, watchers, version, ran, raw.version);
  client.close();
}

export async function misuse(client: TokendClient): Promise<void> {
  // @ts-expect-error a user id is a string
  await client.getToken(42);
  // @ts-expect-error pkce is a boolean
  await client.startFlow('alice', { pkce: 'no' });
  // @ts-expect-error the option is clearRefreshToken
  await client.setUserContext('alice', null as unknown as UserContext, { clear_refresh_token: true });
  // @ts-expect-error no such option
  new TokendClient({ sockett: '/x' });
  const token = await client.getToken('alice');
  // @ts-expect-error get_token answers no refresh token
  console.log(token.refresh_token);
  // @ts-expect-error setUserContext needs a context or null
  await client.setUserContext('alice');
}

// An AbortController's signal, as a bot passes it (AbortController is not in lib es2022).
interface AbortSignalLikeForTest {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
