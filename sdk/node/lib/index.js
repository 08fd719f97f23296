// tokend-client: a Node.js client for tokend's control socket (no dependencies).
export { TokendClient, DEFAULT_SOCKET, IDEMPOTENT_OPS } from './client.js';
export { TokendError, PROTOCOL_ERROR_CODES, CLIENT_ERROR_CODES } from './errors.js';
