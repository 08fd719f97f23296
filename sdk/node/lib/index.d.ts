// Type declarations for tokend-client. The results are tokend's JSON as it is
// (docs/protocol.md): field names in snake_case, datetimes as ISO 8601 strings
// with offset, so a context read can be written back unchanged.

/** An ISO 8601 datetime with offset, e.g. "2026-12-03T10:00:00+00:00". */
export type IsoDateTime = string;

export interface TokendClientOptions {
  /** The control socket's path. Default: $TOKEND_SOCKET, else /run/tokend/tokend.sock. */
  socket?: string;
  /** How long to wait for an answer, in ms (default 30000; 0: forever). */
  timeoutMs?: number;
  /** How long to wait for the socket to accept, in ms (default 5000; 0: no limit). */
  connectTimeoutMs?: number;
  /** New connections tried after a lost one, for retryable operations (default 10; Infinity: no limit). */
  retries?: number;
  /** The first wait before a new connection, in ms; doubles each time (default 25). */
  backoffMs?: number;
  /** The longest wait between two connections, in ms (default 2000). */
  maxBackoffMs?: number;
}

/** The protocol's error codes (tokend's answers). */
export type ProtocolErrorCode =
  | 'bad_request' | 'unknown_op' | 'not_found' | 'permission_denied' | 'reauth_required'
  | 'provider_error' | 'store_unavailable' | 'internal' | 'unknown_integration'
  | 'provider_unavailable';

/**
 * The client's own codes: connection (tokend unreachable, retries spent),
 * outcome_unknown (the connection was lost after a request that is not
 * repeated automatically was sent), timeout, protocol (an unreadable answer),
 * closed (the client was closed).
 */
export type ClientErrorCode = 'connection' | 'outcome_unknown' | 'timeout' | 'protocol' | 'closed';

export type ErrorCode = ProtocolErrorCode | ClientErrorCode;

export const PROTOCOL_ERROR_CODES: readonly ProtocolErrorCode[];
export const CLIENT_ERROR_CODES: readonly ClientErrorCode[];

export class TokendError extends Error {
  constructor(code: ErrorCode | string, message: string, details?: { op?: string; cause?: unknown });
  readonly name: 'TokendError';
  /** The protocol's error code, or one of the client's own. */
  readonly code: ErrorCode | string;
  /** The operation that failed (null when not known). */
  readonly op: string | null;
  /** True when trying the same request again later may succeed. */
  readonly retryable: boolean;
}

export interface PingResult {
  version: string;
  protocol: number;
}

export interface Flow {
  /** The flow's id, which is also the OAuth state. */
  flow_id: string;
  /** Where to send the user. */
  auth_url: string;
  expires_at: IsoDateTime;
}

export type RedirectStatus =
  | 'authenticated' | 'unknown_flow' | 'expired_flow' | 'denied' | 'provider_error' | 'wrong_user'
  | 'store_failed' | 'bad_request';

export interface RedirectResult {
  status: RedirectStatus;
  /** The text for the person's browser. */
  message: string;
}

export interface Tokens {
  access_token: string | null;
  expires_at: IsoDateTime | null;
  /** null when withheld (the caller is not in control.refresh_token_readers); writing null back keeps the stored one. */
  refresh_token?: string | null;
  refresh_token_expires_at?: IsoDateTime | null;
  token_type?: string | null;
  scope?: string | null;
  [field: string]: unknown;
}

export interface UserContext {
  user_id: string;
  tokens: Tokens | null;
  [field: string]: unknown;
}

export interface TokenResult {
  user_id: string;
  access_token: string;
  expires_at: IsoDateTime;
}

/** What set_user_context did (the grant-safe rules of docs/protocol.md). */
export interface SetUserContextResult {
  /** "kept_newer": the written tokens were older than the stored ones and were not applied. */
  tokens: 'written' | 'kept_newer';
  refresh_token: 'written' | 'kept' | 'cleared' | 'none';
}

export interface ClearResult {
  /** false when there was no context to clear. */
  cleared: boolean;
}

/** sign_out: the context is cleared whatever the provider answered. */
export interface SignOutResult {
  /** false when there was no context to clear. */
  cleared: boolean;
  /** null when revoke was false. */
  revocation: {
    outcome: 'revoked' | 'not_supported' | 'no_token' | 'failed';
    /** revoked: which token was revoked. */
    token?: 'refresh_token' | 'access_token';
    /** failed: the HTTP status, null when the provider did not answer. */
    status?: number | null;
    /** failed: why (never a token). */
    reason?: string;
  } | null;
}

/** grant_status: what tokend knows of a user's grant, never a token. */
export interface GrantStatus {
  user_id: string;
  /** The integration's name ("default" for the single `integration:` section). */
  integration: string;
  /** Without `integration` on a tokend with several: each integration's status. */
  integrations?: Array<Omit<GrantStatus, 'user_id' | 'integrations'>>;
  provider: string;
  context: boolean;
  access_token_valid: boolean;
  access_token_fresh: boolean;
  expires_at: IsoDateTime | null;
  refreshable: boolean;
  refresh_token_expires_at: IsoDateTime | null;
  reauth_required: boolean;
  refresh_failures: number;
}

/** Every op that names a user takes it: one of tokend's `integrations:` (absent: the default one). */
export interface IntegrationOption {
  integration?: string;
}

export interface SetUserContextOptions extends IntegrationOption {
  /** Drop the stored refresh token (and its expiry) explicitly. */
  clearRefreshToken?: boolean;
  /** Skip the "newer grant wins" rule: a deliberate rollback or an import. */
  force?: boolean;
}

export interface UserPage {
  users: string[];
  /** The cursor of the next page; null on the last. */
  next: string | null;
}

export interface FlowMaintenanceResult {
  ran: boolean;
  deleted: Array<{ flow_id: string; user_id: string; created: IsoDateTime }>;
}

export interface AuthLink {
  /** A signed link on tokend's public listener: opening it starts a fresh flow for the user. */
  url: string;
  expires_at: IsoDateTime;
}

/** One integration's share of the stats (Stats.integrations). */
export interface IntegrationStats {
  users: number;
  users_reauth_required: number;
  flows: { started: number; started_without_pkce: number; completed: number; failed: number; swept: number;
    [counter: string]: number };
  redirects: Record<string, number>;
  /** succeeded, failed, retried, adopted, reauth_required, store_failures, scheduled. */
  refreshes: Record<string, number>;
  bot_messages: Record<string, number>;
  sign_outs: Record<SignOutRevocation, number>;
  links: { issued: number; opened: number; expired: number; [counter: string]: number };
  [field: string]: unknown;
}

/** A sign-out's revocation at the provider, or that none was asked for. */
export type SignOutRevocation = 'not_requested' | 'revoked' | 'not_supported' | 'no_token' | 'failed';

/** tokend's counters (docs/protocol.md, "stats"); more fields may appear. */
export interface Stats {
  users: number;
  users_reauth_required: number;
  pending_flows: number | null;
  flows: {
    started: number; started_without_pkce: number; completed: number; failed: number; swept: number;
    [counter: string]: number;
  };
  redirects: Record<string, number>;
  refreshes: Record<string, number | string | null>;
  bot_messages: Record<string, number>;
  /** Auth links: issued, opened, expired, invalid. */
  links: { issued: number; opened: number; expired: number; invalid: number; [counter: string]: number };
  store: { plugin: string; healthy: boolean; [field: string]: unknown };
  uptime_seconds: number;
  requests: Record<string, number>;
  requests_denied: number;
  control_clients: number;
  watchers: number;
  /** Sign-outs by the revocation's outcome (all integrations). */
  sign_outs: Record<SignOutRevocation, number>;
  /** Each integration's share, by name ("default" when there is one integration). */
  integrations: Record<string, IntegrationStats>;
  [field: string]: unknown;
}

export type EventName =
  | 'context_set' | 'context_cleared' | 'token_refreshed' | 'flow_completed' | 'flow_failed' | 'reauth_required'
  | 'signed_out';

/** One event from watch(); events never carry tokens. */
export interface WatchEvent {
  event: EventName | string;
  user_id: string;
  at: IsoDateTime;
  [field: string]: unknown;
}

/** An AbortSignal (Node's or the DOM's); declared here so no lib or @types/node is needed. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface WatchOptions extends IntegrationOption {
  /** Ends the iteration when aborted. */
  signal?: AbortSignalLike;
  /** New connections tried in a row after the watch's was lost (default: the client's retries). */
  retries?: number;
  /** Called after the watch was made again on a new connection (events in between were missed). */
  onResubscribe?: () => void;
}

export interface CallOptions {
  /** Retry on a new connection when the answer was lost (default: per operation). */
  idempotent?: boolean;
  timeoutMs?: number;
}

export const DEFAULT_SOCKET: string;
/** Operations retried on a new connection when their answer was lost. */
export const IDEMPOTENT_OPS: ReadonlySet<string>;

export class TokendClient {
  /** A socket path, or options. */
  constructor(options?: string | TokendClientOptions);
  readonly socketPath: string;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly closed: boolean;

  /** One request of any operation; resolves with its result. */
  call<T = unknown>(op: string, params?: Record<string, unknown>, options?: CallOptions): Promise<T>;

  ping(): Promise<PingResult>;
  /** pkce: false starts a flow without PKCE, for a bot that builds the authorization URL itself. */
  startFlow(userId: string, options?: { pkce?: boolean } & IntegrationOption): Promise<Flow>;
  processRedirect(flowId: string, code: string): Promise<RedirectResult>;
  /** null when tokend holds no context for the user. */
  getUserContext(userId: string, options?: { refresh?: boolean } & IntegrationOption): Promise<UserContext | null>;
  getToken(userId: string, options?: IntegrationOption): Promise<TokenResult>;
  setUserContext(userId: string, userContext: UserContext, options?: SetUserContextOptions): Promise<SetUserContextResult>;
  setUserContext(userId: string, userContext: null, options?: IntegrationOption): Promise<ClearResult>;
  setUserContext(userId: string, userContext: UserContext | null, options?: SetUserContextOptions): Promise<SetUserContextResult | ClearResult>;
  clearUserContext(userId: string, options?: IntegrationOption): Promise<ClearResult>;
  signOut(userId: string, options?: { revoke?: boolean } & IntegrationOption): Promise<SignOutResult>;
  grantStatus(userId: string, options?: IntegrationOption): Promise<GrantStatus>;
  listUsers(options?: { cursor?: string | null; limit?: number }): Promise<UserPage>;
  allUsers(options?: { pageSize?: number }): AsyncGenerator<string, void, undefined>;
  refresh(userId: string, options?: IntegrationOption): Promise<TokenResult>;
  flowMaintenance(options?: { force?: boolean }): Promise<FlowMaintenanceResult>;
  stats(): Promise<Stats>;
  authLink(userId: string, options?: IntegrationOption): Promise<AuthLink>;
  watch(userId?: string | null, options?: WatchOptions): AsyncGenerator<WatchEvent, void, undefined>;
  /** Closes the connection and every watch; calls in flight and later reject with code "closed". */
  close(): void;
}
