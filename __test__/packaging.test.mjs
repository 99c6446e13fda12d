// Packaging (issue 11): what a fresh clone's `npm install` does with the committed manifest
// and lockfile. better-sqlite3 is a bench-only baseline, not installed by default; the
// lockfile is one that both npm 10 (Node 20's) and npm 11 keep as it is; no installed
// package declares an engine range that excludes the supported Node 20; every napi target
// has its npm/<platform> package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));

/** The lowest Node version package.json supports (`>=20.19` → 20.19.0). */
const NODE_FLOOR = /^>=\s*(\d+)\.(\d+)$/.exec(pkg.engines.node).slice(1).map(Number).concat(0);

/**
 * Whether version `v` ([major, minor, patch]) satisfies npm range `range`: `||`, space-
 * separated comparators (>=, >, <=, <, =), caret, tilde, x-ranges and hyphen ranges,
 * which is what engine fields use.
 */
function satisfies(v, range) {
  const cmp = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  const parse = (s) => s.replace(/^v/, '').split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : null));
  const full = (parts) => [0, 1, 2].map((i) => parts[i] ?? 0);
  const nparts = (parts) => parts.filter((p) => p !== null && p !== undefined).length;
  return range.split('||').some((alt) => {
    const a = alt.trim().replace(/\s*-\s+/, ' - ');
    if (a === '' || a === '*') return true;
    const hyphen = /^(\S+) - (\S+)$/.exec(a);
    if (hyphen) {
      // A partial upper bound takes its whole last part: `18 - 20` is `>=18.0.0 <21.0.0`.
      const up = parse(hyphen[2]);
      const n = nparts(up);
      const below = n === 3 ? cmp(v, full(up)) <= 0 : cmp(v, n === 1 ? [up[0] + 1, 0, 0] : [up[0], up[1] + 1, 0]) < 0;
      return cmp(v, full(parse(hyphen[1]))) >= 0 && below;
    }
    return a.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).every((c) => {
      const [, op = '', ver] = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(c);
      const parts = parse(ver);
      const n = nparts(parts);
      const lo = full(parts);
      if (op === '>=') return cmp(v, lo) >= 0;
      if (op === '>') return cmp(v, lo) > 0;
      if (op === '<=') return cmp(v, lo) <= 0;
      if (op === '<') return cmp(v, lo) < 0;
      let hi;
      if (op === '^') hi = lo[0] > 0 || n === 1 ? [lo[0] + 1, 0, 0] : lo[1] > 0 || n === 2 ? [0, lo[1] + 1, 0] : [0, 0, lo[2] + 1];
      else if (op === '~') hi = n === 1 ? [lo[0] + 1, 0, 0] : [lo[0], lo[1] + 1, 0];
      else if (n === 3) return cmp(v, lo) === 0;
      else hi = n === 1 ? [lo[0] + 1, 0, 0] : n === 2 ? [lo[0], lo[1] + 1, 0] : [Infinity, 0, 0];
      return cmp(v, lo) >= 0 && cmp(v, hi) < 0;
    });
  });
}

test('the range check reads engine ranges as npm does', () => {
  const v = [20, 19, 0];
  assert.equal(satisfies(v, '>=20.19'), true);
  assert.equal(satisfies(v, '>=22'), false);
  assert.equal(satisfies(v, '^22.20 || ^24.12 || >=25'), false);
  assert.equal(satisfies(v, '^20.17.0 || >=22.9.0'), true);
  assert.equal(satisfies(v, '^20.19.0 || ^22.13.0 || >=23.5.0'), true);
  assert.equal(satisfies(v, '^20.20'), false);
  assert.equal(satisfies(v, '>= 10'), true);
  assert.equal(satisfies(v, '^10 || ^12 || >=14'), true);
  assert.equal(satisfies(v, '18 - 20'), true);
  assert.equal(satisfies(v, '~20.18'), false);
  assert.equal(satisfies(v, '20.x'), true);
});

test('better-sqlite3 is not a dependency of any kind', () => {
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
    assert.equal(pkg[field]?.['better-sqlite3'], undefined, field);
  }
  assert.deepEqual(Object.keys(lock.packages).filter((k) => k.endsWith('node_modules/better-sqlite3')), []);
});

test('no test or benchmark imports better-sqlite3 statically', () => {
  const offenders = [];
  for (const dir of ['__test__', 'bench', 'scripts', 'examples', 'lib', 'bin']) {
    for (const entry of fs.readdirSync(path.join(root, dir), { recursive: true })) {
      if (!/\.(m|c)?js$/.test(entry)) continue;
      const text = fs.readFileSync(path.join(root, dir, entry), 'utf8');
      if (/^\s*import\s[^;]*from\s+['"]better-sqlite3['"]|require\(\s*['"]better-sqlite3['"]\s*\)/m.test(text)) {
        offenders.push(path.join(dir, entry));
      }
    }
  }
  assert.deepEqual(offenders, []);
});

test("the lockfile's root entry lists exactly package.json's dependencies", () => {
  const rootEntry = lock.packages[''];
  assert.equal(rootEntry.version, pkg.version);
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    assert.deepEqual(rootEntry[field] ?? {}, pkg[field] ?? {}, field);
  }
});

test('the lockfile is in the form npm 10 writes (npm 11 keeps it; npm 10 would drop libc fields)', () => {
  const withLibc = Object.entries(lock.packages).filter(([, v]) => 'libc' in v).map(([k]) => k);
  assert.deepEqual(withLibc, []);
  assert.equal(lock.lockfileVersion, 3);
});

test('no locked package requires a Node newer than the supported floor', () => {
  const excluded = [];
  for (const [name, entry] of Object.entries(lock.packages)) {
    const range = entry.engines?.node;
    if (name !== '' && range !== undefined && !satisfies(NODE_FLOOR, range)) excluded.push(`${name}: ${range}`);
  }
  assert.deepEqual(excluded, []);
});

test('every napi target has its npm/<platform> package, at the root version', () => {
  const platforms = {
    'x86_64-unknown-linux-gnu': ['linux-x64-gnu', 'x64', 'glibc'],
    'aarch64-unknown-linux-gnu': ['linux-arm64-gnu', 'arm64', 'glibc'],
    'x86_64-unknown-linux-musl': ['linux-x64-musl', 'x64', 'musl'],
  };
  assert.deepEqual(pkg.napi.targets.filter((t) => !(t in platforms)), []);
  for (const target of pkg.napi.targets) {
    const [platform, cpu, libc] = platforms[target];
    const sub = JSON.parse(fs.readFileSync(path.join(root, 'npm', platform, 'package.json'), 'utf8'));
    assert.equal(sub.name, `${pkg.name}-${platform}`);
    assert.equal(sub.version, pkg.version);
    assert.deepEqual([sub.os, sub.cpu, sub.libc], [['linux'], [cpu], [libc]]);
    assert.equal(sub.main, `${pkg.napi.binaryName}.${platform}.node`);
    assert.deepEqual(sub.files, [sub.main]);
    assert.equal(sub.engines.node, pkg.engines.node);
  }
});
