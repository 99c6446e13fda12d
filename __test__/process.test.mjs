// Behaviours that need a process of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const indexUrl = new URL('../index.js', import.meta.url).href;
const fixtureUrl = new URL('./fixtures/objects.mjs', import.meta.url).href;

function run(code, env = {}) {
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
}

test('a script that never calls dispose() exits once no call is in flight', () => {
  const r = run(`
    import { Runtime } from ${JSON.stringify(indexUrl)};
    const rt = new Runtime({ main: ${JSON.stringify(fixtureUrl)}, durableObjects: { ECHO: 'Echo' }, idleTimeoutMs: 60000 });
    console.log(await rt.env.ECHO.getByName('a').inc());
  `);
  assert.equal(r.signal, null, 'not killed by the timeout');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1');
});

test('the process stays alive while a call is in flight', () => {
  const r = run(`
    import { Runtime } from ${JSON.stringify(indexUrl)};
    const rt = new Runtime({ main: ${JSON.stringify(fixtureUrl)}, durableObjects: { ECHO: 'Echo' } });
    rt.env.ECHO.getByName('a').sleepThenInc(300).then((v) => console.log('result', v));
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'result 1');
});

test('a missing native binary fails with a message naming the platform', () => {
  const r = run(`await import(${JSON.stringify(indexUrl)})`, {
    NAPI_RS_NATIVE_LIBRARY_PATH: fileURLToPath(new URL('./fixtures/no-such-binary.node', import.meta.url)),
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`no native binary for this platform \\(${process.platform}-${process.arch}`));
});
