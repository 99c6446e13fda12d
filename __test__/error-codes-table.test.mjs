// The error taxonomy is declared once (core/src/error.rs, read through the binding); the README
// and index.d.ts list it for users and must list exactly the same codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { codes } from '../lib/error-codes.js';

const read = (file) => fs.readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
const table = Object.values(codes).sort();

test('the binding exposes one unique ERR_DO_ code per kind of failure', () => {
  assert.ok(table.length > 30);
  assert.equal(new Set(table).size, table.length);
  for (const code of table) assert.match(code, /^ERR_DO_[A-Z_]+$/);
});

test('the README lists exactly the codes of the table', () => {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('\n## ', readme.indexOf('## Error codes') + 1));
  const listed = [...section.matchAll(/^\| `(ERR_DO_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(listed, table);
});

test('index.d.ts declares exactly the codes of the table as DurableFacetsErrorCode', () => {
  const dts = read('index.d.ts');
  const start = dts.indexOf('export type DurableFacetsErrorCode =');
  const decl = dts.slice(start, dts.indexOf(';', start));
  const declared = [...decl.matchAll(/'(ERR_DO_[A-Z_]+)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(declared, table);
});

test('the native loader\'s own code (thrown before the table can be read) is in the table', () => {
  assert.match(read('lib/native.js'), new RegExp(`err\\.code = '${codes.NativeBinding}'`));
});
