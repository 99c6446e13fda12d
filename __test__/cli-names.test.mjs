// The durable-facets CLI with a wrangler configuration (binding names), names and alarms in
// `inspect`, `kv` with decoded values, `--json`, `--version`, and listings of what exists
// when an argument matches nothing. Every test spawns the real bin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../index.js';
import { fixture } from './helpers.mjs';

const CLI = fileURLToPath(new URL('../bin/durable-facets.js', import.meta.url));
const ALARM = Date.UTC(2030, 0, 1);
const HEX_NAME = 'ab'.repeat(32);

let work; // the project directory: wrangler.jsonc and data/
let data;
let aliceId;
let bobId;

/** Runs the CLI in `cwd` (default: the project directory, whose wrangler.jsonc it finds). */
function cli(args, cwd = work) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
}

function ok(args, cwd) {
  const r = cli(args, cwd);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test.before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'df-cli-names-'));
  data = path.join(work, 'data');
  fs.writeFileSync(path.join(work, 'wrangler.jsonc'), `// the project's configuration
{
  "main": ${JSON.stringify(fileURLToPath(fixture('cli-objects.mjs')))},
  "durable_objects": { "bindings": [{ "name": "STORES", "class_name": "Store" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Store"] }],
}
`);
  const rt = await Runtime.fromWranglerConfig(path.join(work, 'wrangler.jsonc'), { storage: data, warmThreads: 0 });
  const alice = rt.env.STORES.getByName('alice-store');
  await alice.fill();
  await alice.remindAt(ALARM);
  await alice.leaf('docs', 'title', 'Hello');
  const bob = rt.env.STORES.getByName('bob-store');
  await bob.fill();
  // A name that looks like an id: reachable with --name only.
  await rt.env.STORES.getByName(HEX_NAME).leaf('x', 'k', 'v');
  aliceId = rt.env.STORES.idFromName('alice-store').toString();
  bobId = rt.env.STORES.idFromName('bob-store').toString();
  await rt.dispose();
});
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test('inspect shows the binding, the known name and the pending alarm of each object', () => {
  const out = ok(['inspect', data]);
  assert.match(out, /^Store\/ \(3 objects; binding STORES\)$/m);
  assert.match(out, new RegExp(`^  ${aliceId}  "alice-store"  \\d+(\\.\\d)? KiB  alarm 2030-01-01T00:00:00\\.000Z$`, 'm'));
  assert.match(out, new RegExp(`^  ${bobId}  "bob-store"  \\d+(\\.\\d)? KiB$`, 'm'));
  assert.match(out, /^ {4}└─ docs {2}\(#1, \d+(\.\d)? KiB\)$/m);
});

test('inspect --json gives namespaces, objects, names, alarms and facets', () => {
  const result = JSON.parse(ok(['inspect', data, '--json']));
  assert.equal(result.dir, data);
  assert.equal(result.namespaces.length, 1);
  const [ns] = result.namespaces;
  assert.deepEqual({ ...ns, objects: undefined }, { uniqueKey: 'Store', className: 'Store', bindings: ['STORES'], objects: undefined });
  const alice = ns.objects.find((o) => o.id === aliceId);
  assert.equal(alice.name, 'alice-store');
  assert.equal(alice.alarm, '2030-01-01T00:00:00.000Z');
  assert.deepEqual(alice.facets.map((f) => [f.name, f.facetId]), [['', 0], ['docs', 1]]);
  assert.ok(alice.facets.every((f) => f.databaseSize > 0));
  assert.equal(ns.objects.find((o) => o.id === bobId).name, 'bob-store');
});

test('sql accepts the binding name of the wrangler configuration in the current directory', () => {
  const out = ok(['sql', data, 'STORES', 'bob-store', "SELECT count(*) AS n FROM _cf_KV"]);
  assert.equal(out, 'n\n-\n8\n(1 row)\n');
});

test('sql accepts the class name, with --config naming the configuration', () => {
  const out = ok(['sql', data, 'Store', 'bob-store', '--config', path.join(work, 'wrangler.jsonc'), "SELECT key FROM _cf_KV WHERE key = 'count'"], os.tmpdir());
  assert.equal(out, 'key\n-----\ncount\n(1 row)\n');
});

test('bindings to classes of other Workers in the configuration do not stop the CLI', () => {
  const config = path.join(work, 'with-script-name.jsonc');
  fs.writeFileSync(config, JSON.stringify({
    main: 'x.js',
    durable_objects: { bindings: [{ name: 'REMOTE', class_name: 'Elsewhere', script_name: 'other' }, { name: 'STORES', class_name: 'Store' }] },
  }));
  assert.equal(ok(['sql', data, 'STORES', 'bob-store', '--config', config, 'SELECT 1 AS one']), 'one\n---\n1\n(1 row)\n');
});

test('--json may come before the command', () => {
  assert.deepEqual(JSON.parse(ok(['--json', 'inspect', data])), JSON.parse(ok(['inspect', data, '--json'])));
});

test('sql --json gives typed cells: numbers, text, null and blobs as base64', () => {
  const out = ok(['sql', data, 'STORES', 'bob-store', '--json', "SELECT 7 AS i, 1.5 AS r, 'x' AS t, NULL AS n, x'ff00' AS b"]);
  assert.deepEqual(JSON.parse(out), { columns: ['i', 'r', 't', 'n', 'b'], rows: [[7, 1.5, 'x', null, { base64: '/wA=' }]] });
});

test('kv prints every entry in key order with its value decoded', () => {
  const out = ok(['kv', data, 'STORES', 'alice-store']);
  const rows = out.trimEnd().split('\n');
  assert.match(rows[0], /^key +\| value$/);
  const entries = Object.fromEntries(rows.slice(2, -1).map((r) => r.split(' | ').map((c) => c.trim())));
  assert.deepEqual(entries, {
    big: '12345678901234567890n',
    bytes: 'Uint8Array(3) [ 1, 2, 255 ]',
    count: '42',
    map: "Map(1) { 'x' => 1 }",
    nothing: 'null',
    set: 'Set(2) { 1, 2 }',
    'user:alice': "{ name: 'Alice', tags: [ 'a', 'b' ], joined: 2026-01-02T00:00:00.000Z }",
    'user:bob': "'plain text'",
  });
  assert.deepEqual(Object.keys(entries), Object.keys(entries).sort());
  assert.equal(rows.at(-1), '(8 entries)');
});

test('kv --prefix keeps the keys that start with the prefix', () => {
  const out = ok(['kv', data, 'STORES', 'alice-store', '--prefix', 'user:']);
  assert.match(out, /^user:alice \| \{ name: 'Alice'/m);
  assert.match(out, /^user:bob {3}\| 'plain text'$/m);
  assert.doesNotMatch(out, /^count/m);
  assert.match(out, /\(2 entries with prefix "user:"\)\n$/);
});

test('kv --json gives values in a JSON form', () => {
  const entries = JSON.parse(ok(['kv', data, 'Store', aliceId, '--json']));
  assert.deepEqual(entries, [
    { key: 'big', value: '12345678901234567890' },
    { key: 'bytes', value: { base64: 'AQL/' } },
    { key: 'count', value: 42 },
    { key: 'map', value: { x: 1 } },
    { key: 'nothing', value: null },
    { key: 'set', value: [1, 2] },
    { key: 'user:alice', value: { name: 'Alice', tags: ['a', 'b'], joined: '2026-01-02T00:00:00.000Z' } },
    { key: 'user:bob', value: 'plain text' },
  ]);
});

test('kv --facet reads a facet database', () => {
  assert.equal(ok(['kv', data, 'STORES', 'alice-store', '--facet', 'docs']), "key   | value\n------+--------\ntitle | 'Hello'\n(1 entry)\n");
});

test('an unknown namespace lists the namespaces and bindings that exist', () => {
  const r = cli(['kv', data, 'ROOMS', 'alice-store']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `durable-facets: no namespace, binding or class "ROOMS" in ${data}.\nNamespaces of ${data}:\n  Store (binding STORES)\n`);
});

test('an unknown object lists the objects of the namespace with the names known', () => {
  const r = cli(['sql', data, 'STORES', 'carol-store', 'SELECT 1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^durable-facets: no database for carol-store \(name → id [0-9a-f]{64}\) in namespace Store\.\nObjects of Store:\n/);
  assert.match(r.stderr, new RegExp(`^  ${aliceId}  "alice-store"$`, 'm'));
  assert.match(r.stderr, new RegExp(`^  ${bobId}  "bob-store"$`, 'm'));
  assert.doesNotMatch(r.stderr, /Usage:/);
});

test('an unknown facet lists the facets of the object', () => {
  const r = cli(['kv', data, 'STORES', 'alice-store', '--facet', 'images']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `durable-facets: object ${aliceId} has no facet images.\nFacets of ${aliceId}:\n  docs\n`);
});

test('--name reads a name that is 64 hex digits as a name, not an id', () => {
  assert.match(ok(['kv', data, 'STORES', HEX_NAME, '--name', '--facet', 'x']), /^k {3}\| 'v'$/m);
  const r = cli(['kv', data, 'STORES', HEX_NAME, '--facet', 'x']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`^durable-facets: no database for ${HEX_NAME} in namespace Store\\.`));
});

test('an object whose root stored nothing is reported with its facets', () => {
  const r = cli(['sql', data, 'STORES', HEX_NAME, '--name', 'SELECT 1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^durable-facets: object [0-9a-f]{64} has no database of its own \(it never stored anything\)\.\nFacets of [0-9a-f]{64}:\n  x\n$/);
});

test('--json output of a miss is still an error on stderr with exit code 2', () => {
  const r = cli(['kv', data, 'STORES', 'nobody', '--json']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /no database for nobody/);
});

test('inspect of a namespace directory names the storage directory to inspect instead', () => {
  const r = cli(['inspect', path.join(data, 'Store')]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `durable-facets: ${path.join(data, 'Store')} is the directory of one namespace, not a storage directory: inspect ${data}\n`);
});

test('--version prints the package version', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(ok(['--version']), `durable-facets ${pkg.version}\n`);
});

test('--help after a command prints the usage and exits 0', () => {
  assert.match(ok(['kv', '--help']), /^Usage:\n.*durable-facets inspect/);
});

test('an unknown option is bad usage (exit 2)', () => {
  const r = cli(['inspect', data, '--frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^durable-facets: unknown option for inspect: --frobnicate\n\nUsage:/);
});

test('a --config that does not parse is reported with file:line:column', () => {
  const bad = path.join(work, 'broken.jsonc');
  fs.writeFileSync(bad, '{\n  "main": "x.js",,\n}\n');
  const r = cli(['sql', data, 'STORES', 'bob-store', '--config', bad, 'SELECT 1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`^durable-facets: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:18: invalid JSON: PropertyNameExpected`));
  assert.doesNotMatch(r.stderr, /Usage:/);
});

test('reading leaves no file behind in the storage directory', () => {
  const files = () => fs.readdirSync(path.join(data, 'Store')).sort();
  const before = files();
  ok(['inspect', data]);
  ok(['sql', data, 'STORES', 'alice-store', 'SELECT count(*) FROM _cf_KV']);
  ok(['kv', data, 'STORES', 'alice-store', '--facet', 'docs']);
  assert.deepEqual(files(), before);
  assert.ok(before.every((f) => !f.endsWith('-wal') && !f.endsWith('-shm')), before.join(', '));
});

test('types prints declarations of the bindings of the wrangler configuration', () => {
  const r = cli(['types', '--out', '-']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /STORES: .*DurableObjectNamespace<.*Store>/);
});
