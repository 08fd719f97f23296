// TokendError: every failure the client reports, with a code to branch on.

/**
 * Codes that come from tokend itself (docs/protocol.md, "Error codes").
 * @type {readonly string[]}
 */
export const PROTOCOL_ERROR_CODES = Object.freeze([
  'bad_request', 'unknown_op', 'not_found', 'permission_denied', 'reauth_required',
  'provider_error', 'store_unavailable', 'internal', 'unknown_integration',
  'provider_unavailable',
]);

/**
 * Codes the client raises itself, when no answer from tokend decided the request.
 * - connection: tokend could not be reached (or the connection was lost on a
 *   retryable request and every retry failed too).
 * - outcome_unknown: the connection was lost after a request that is not safe
 *   to repeat (start_flow, process_redirect, refresh, flow_maintenance,
 *   auth_link) was sent; tokend may or may not have carried it out.
 * - timeout: no answer within the timeout.
 * - protocol: tokend's answer could not be read (not JSON, out of order).
 * - closed: the client was closed.
 * @type {readonly string[]}
 */
export const CLIENT_ERROR_CODES = Object.freeze([
  'connection', 'outcome_unknown', 'timeout', 'protocol', 'closed',
]);

export class TokendError extends Error {
  /**
   * @param {string} code the protocol's error code, or one of CLIENT_ERROR_CODES
   * @param {string} message
   * @param {{op?: string, cause?: unknown}} [details]
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TokendError';
    this.code = code;
    this.op = details.op ?? null;
  }

  /** True when the same request may succeed if tried again later. */
  get retryable() {
    return this.code === 'connection' || this.code === 'timeout' ||
      this.code === 'store_unavailable' || this.code === 'provider_error' ||
      this.code === 'provider_unavailable';
  }
}
