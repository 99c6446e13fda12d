// SPEC §7: the testing helpers work under vitest. Runs the vitest project in
// fixtures/testing-vitest/ (one Runtime per test, every helper) in a child process, in
// vitest's default pool (child processes) and in its worker-thread pool, where the runtime's
// threads and the native addon live inside a vitest worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const vitestBin = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const project = fileURLToPath(new URL('./fixtures/testing-vitest/', import.meta.url));
/** The tests of fixtures/testing-vitest/counter.vitest.mjs. */
const TESTS = 4;

/** Runs `vitest run` on the project; resolves its JSON report. */
function vitest(...args) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [vitestBin, 'run', '--root', project, '--reporter=json', ...args],
      { encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, stdout, stderr) => {
        const json = stdout.slice(stdout.indexOf('{'));
        try {
          resolve({ report: JSON.parse(json), code: error?.code ?? 0, stderr });
        } catch {
          reject(new Error(`vitest printed no report (exit ${error?.code}):\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

function assertAllPassed({ report, code, stderr }) {
  const failures = report.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status !== 'passed'));
  assert.deepEqual(
    failures.map((a) => `${a.fullName}: ${a.failureMessages.join('\n')}`),
    [],
    stderr,
  );
  assert.equal(report.numTotalTests, TESTS, 'every test of the project ran');
  assert.equal(report.numPassedTests, TESTS);
  assert.equal(report.success, true);
  assert.equal(code, 0);
}

test("the helpers pass under vitest's default pool", async () => {
  assertAllPassed(await vitest());
});

test("the helpers pass under vitest's worker-thread pool", async () => {
  assertAllPassed(await vitest('--pool=threads'));
});
