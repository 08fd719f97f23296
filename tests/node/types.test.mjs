// The hand-written TypeScript declarations, checked by tsc (Debian's
// node-typescript, from scripts/deps.sh) against a bot's ordinary use and
// against misuse marked @ts-expect-error (so declarations that are too loose fail too).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TSC = process.env.TOKEND_TSC || 'tsc';

function tsc(...args) {
  const run = spawnSync(TSC, args, { encoding: 'utf8', cwd: HERE });
  assert.equal(run.error, undefined, `cannot run ${TSC}: ${run.error?.message}`);
  return run;
}

test('the declarations type-check a bot\'s use and refuse misuse', () => {
  const run = tsc('-p', path.join(HERE, 'types', 'tsconfig.json'));
  assert.equal(run.status, 0, `tsc found errors:\n${run.stdout}${run.stderr}`);
});

test('a misuse is caught: the check can fail', () => {
  // The same use, minus the @ts-expect-error marks: tsc must report every one of them.
  const marked = fs.readFileSync(path.join(HERE, 'types', 'usage.mts'), 'utf8');
  const expected = marked.split('\n').filter((line) => line.includes('@ts-expect-error')).length;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tkn-ts-'));
  try {
    fs.writeFileSync(path.join(dir, 'usage.mts'), marked.replaceAll('// @ts-expect-error', '// (unmarked)')
      .replaceAll("'../../../sdk/node/lib/index.js'", JSON.stringify(path.join(HERE, '..', '..', 'sdk', 'node', 'lib', 'index.js'))));
    const config = JSON.parse(fs.readFileSync(path.join(HERE, 'types', 'tsconfig.json'), 'utf8'));
    config.files = ['usage.mts'];
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
    const run = tsc('-p', path.join(dir, 'tsconfig.json'));
    assert.notEqual(run.status, 0);
    const errors = run.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    assert.equal(errors.length, expected, run.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
