// Durability: a caller that received a result can rely on the writes that produced it being
// durable. A child process appends to an object's storage and prints every acknowledged
// write; it is killed with SIGKILL mid-way, and a new runtime must find every acknowledged
// write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../index.js';
import { fixture } from './helpers.mjs';

const KILLS = 20;

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'df-durability-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const randomInt = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));

/**
 * Runs the writer on `dir` until the parent has received `target` acknowledgements, then
 * SIGKILLs it. Returns every acknowledged number (including lines that were already in the
 * pipe when the kill landed: they too were printed only after their write resolved).
 */
function writeUntilKilled(dir, mode, target, start = 0) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(fixture('durability-writer.mjs')), dir, mode, String(start)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const acked = [];
    let pending = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) acked.push(Number(line));
      if (!killed && acked.length >= target) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer exited with code ${code} signal ${signal} after ${acked.length} acks:\n${stderr}`));
        return;
      }
      // A partial last line was not completely written: it does not count.
      resolve(acked);
    });
  });
}

/** Opens a new runtime on `dir` and returns what the object "log" holds (SQL and KV). */
async function readBack(dir) {
  const rt = new Runtime({
    main: fixture('durability-objects.mjs'),
    durableObjects: { LOG: 'Log' },
    storage: dir,
    warmThreads: 0,
  });
  try {
    const stub = rt.env.LOG.getByName('log');
    return { sql: await stub.all(), kv: await stub.kvAll() };
  } finally {
    await rt.dispose();
  }
}

function assertAllPresent(acked, stored, context) {
  const have = new Set(stored);
  const missing = acked.filter((i) => !have.has(i));
  assert.deepEqual(missing, [], `acknowledged writes missing after SIGKILL (${context})`);
}

async function killLoop(t, mode, stored) {
  const history = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    const dir = tempDir(t);
    const target = randomInt(5, 200);
    const acked = await writeUntilKilled(dir, mode, target);
    assert.ok(acked.length >= target, `got ${acked.length} acks, waited for ${target}`);
    assert.deepEqual(acked, acked.map((_, i) => i), 'acks arrive in call order');
    const found = stored(await readBack(dir));
    history.push(`kill ${kill}: ${acked.length} acked, ${found.length} stored`);
    assertAllPresent(acked, found, `kill ${kill} of ${KILLS}, target ${target}; ${history.join('; ')}`);
  }
}

test('acknowledged SQL writes survive SIGKILL (20 kills)', async (t) => {
  await killLoop(t, 'sql', (r) => r.sql);
});

test('acknowledged KV writes survive SIGKILL (20 kills)', async (t) => {
  await killLoop(t, 'kv', (r) => r.kv);
});

test('a database recovered after SIGKILL keeps its acknowledged writes through further kills', async (t) => {
  const dir = tempDir(t);
  const allAcked = [];
  let next = 0;
  for (let kill = 1; kill <= 6; kill++) {
    const acked = await writeUntilKilled(dir, 'mixed', randomInt(5, 100), next);
    allAcked.push(...acked);
    const { sql, kv } = await readBack(dir);
    const found = [...sql, ...kv];
    assertAllPresent(allAcked, found, `kill ${kill} on one database`);
    next = Math.max(...found) + 1;
  }
});

test('writes acknowledged before dispose() are all there in a new runtime', async (t) => {
  const dir = tempDir(t);
  const rt = new Runtime({
    main: fixture('durability-objects.mjs'),
    durableObjects: { LOG: 'Log' },
    storage: dir,
    warmThreads: 0,
  });
  const stub = rt.env.LOG.getByName('log');
  const expected = [];
  for (let i = 0; i < 100; i++) {
    assert.equal(await stub.append(i), i);
    assert.equal(await stub.kvAppend(1000 + i), 1000 + i);
    expected.push(i);
  }
  await rt.dispose();
  const { sql, kv } = await readBack(dir);
  assert.deepEqual(sql, expected);
  assert.deepEqual(
    kv.sort((a, b) => a - b),
    expected.map((i) => 1000 + i),
  );
});
