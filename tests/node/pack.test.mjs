// `npm pack` of sdk/node works offline and the tarball holds the package and
// nothing else; the tarball installs offline (no dependencies to fetch) and
// imports by its name.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, tempDir } from './harness.mjs';

const PACKAGE_DIR = path.join(ROOT, 'sdk', 'node');
const NPM = process.env.TOKEND_NPM || 'npm';
const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8'));

let dir;
let env;

before(() => {
  dir = tempDir('tkn-pack-');
  // An empty cache of our own, offline: nothing may come from a registry.
  env = {
    ...process.env,
    npm_config_cache: path.join(dir, 'cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_registry: 'http://127.0.0.1:9/',
  };
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function npm(args, cwd) {
  const run = spawnSync(NPM, args, { cwd, env, encoding: 'utf8' });
  assert.equal(run.error, undefined, `cannot run ${NPM}: ${run.error?.message}`);
  assert.equal(run.status, 0, `npm ${args.join(' ')} failed:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

test('the manifest: no dependencies, ESM with declarations, tokend\'s version', () => {
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundledDependencies', 'scripts']) {
    assert.equal(manifest[field], undefined, `package.json has ${field}`);
  }
  assert.equal(manifest.type, 'module');
  assert.equal(manifest.exports['.'].types, './lib/index.d.ts');
  assert.equal(manifest.exports['.'].default, './lib/index.js');
  if (process.env.TOKEND_VERSION) assert.equal(manifest.version, process.env.TOKEND_VERSION);
});

test('npm pack works offline and packs exactly the package\'s files', () => {
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], PACKAGE_DIR));
  const tarball = path.join(dir, packed[0].filename);
  assert.ok(fs.existsSync(tarball), tarball);
  const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
  assert.equal(listing.status, 0, listing.stderr);
  const files = listing.stdout.trim().split('\n').sort();
  assert.deepEqual(files, [
    'package/README.md',
    'package/lib/client.js',
    'package/lib/connection.js',
    'package/lib/errors.js',
    'package/lib/index.d.ts',
    'package/lib/index.js',
    'package/package.json',
  ]);
});

test('the tarball installs offline and imports by name', () => {
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], PACKAGE_DIR));
  const app = path.join(dir, 'bot');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'a-bot', version: '1.0.0', type: 'module' }));
  npm(['install', '--no-package-lock', path.join(dir, packed[0].filename)], app);
  const installed = fs.readdirSync(path.join(app, 'node_modules')).filter((name) => !name.startsWith('.'));
  assert.deepEqual(installed, [manifest.name], 'nothing but the package itself');
  const script = `import { TokendClient, TokendError } from '${manifest.name}';
    const client = new TokendClient({ socket: '/tmp/x.sock' });
    console.log(typeof TokendError, client.socketPath);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'function /tmp/x.sock');
});
