#!/usr/bin/env node
// get_token latency through the Node client (sdk/node): N sequential calls on
// one connection after a warm-up; prints one JSON line
//   {"p50_us": ..., "p99_us": ..., "count": N}
// Usage: node bench/clients/node_get_token.mjs --socket PATH --user USER --count N [--warmup W (3000)]
// The user must have a context in tokend (the caller seeds it). No token is printed.

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { TokendClient } = await import(pathToFileURL(path.join(HERE, '..', '..', 'sdk', 'node', 'lib', 'index.js')).href);

function usage(message) {
  process.stderr.write(`node_get_token: ${message}\n` +
    'usage: node node_get_token.mjs --socket PATH --user USER --count N [--warmup W]\n');
  process.exit(2);
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      socket: { type: 'string' },
      user: { type: 'string' },
      count: { type: 'string', default: '1000' },
      warmup: { type: 'string' },
    },
  }));
} catch (error) {
  usage(error.message);
}
if (!options.user) usage('--user is required');
const count = Number(options.count);
if (!Number.isInteger(count) || count < 1) usage('--count must be an integer >= 1');
// V8 compiles the client's hot path after a few thousand calls; measure the steady state.
const warmup = options.warmup === undefined ? 3000 : Number(options.warmup);
if (!Number.isInteger(warmup) || warmup < 0) usage('--warmup must be an integer >= 0');

function percentile(sorted, fraction) {
  // Nearest rank.
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1];
}

const client = new TokendClient({ socket: options.socket });
try {
  for (let i = 0; i < warmup; i++) await client.getToken(options.user);
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await client.getToken(options.user);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  samples.sort();
  const round = (us) => Math.round(us * 10) / 10;
  process.stdout.write(`${JSON.stringify({
    p50_us: round(percentile(samples, 0.5)), p99_us: round(percentile(samples, 0.99)), count,
  })}\n`);
} catch (error) {
  process.stderr.write(`node_get_token: ${error.code ?? 'error'}: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  client.close();
}
