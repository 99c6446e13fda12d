// examples/app-host under memory pressure (issue 8, defect 4): an app that returns a huge
// string or over-allocates must not take the host process down. The host runs as a child
// process: before the fix it died with "FATAL ERROR: Reached heap limit".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../examples/app-host/server.mjs', import.meta.url));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-host-memory-'));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const APP = `import { DurableObject } from 'cloudflare:workers';
const hoard = [];
export class App extends DurableObject {
  big(n) { return 'x'.repeat(n); }
  hog(n) { const s = 'y'.repeat(n); s.charCodeAt(n - 1); hoard.push(s); return JSON.stringify({ s }).length; }
  ping() { return 'pong'; }
}`;

test('an app returning a 60 MB string or over-allocating leaves the app host running', async (t) => {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', APP_HOST_DATA: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => child.kill('SIGKILL'));
  const { url, token } = await new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      const m = /app-host listening on (\S+) token=([0-9a-f]+)/.exec(stdout);
      if (m) resolve({ url: m[1], token: m[2] });
    });
    exited.then(() => reject(new Error(`server exited early\n${stdout}\n${stderr}`)));
  });
  const post = async (pathname, body) => {
    const res = await fetch(url + pathname, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text };
  };
  assert.equal((await post('/tenants/t/apps/a/deploy', { code: APP })).status, 200);
  assert.equal((await post('/tenants/t/apps/b/deploy', { code: APP })).status, 200);

  // Whether a 60 MB result is delivered or refused (RPC payload cap), the host survives it.
  await post('/tenants/t/apps/a/call', { method: 'big', args: [60_000_000] });
  const hog = await post('/tenants/t/apps/a/call', { method: 'hog', args: [200_000_000] });
  assert.match(hog.text, /Durable Object exceeded its memory limit \(128 MB\)\./);

  assert.deepEqual(await post('/tenants/t/apps/b/call', { method: 'ping', args: [] }), { status: 200, text: '"pong"' });
  assert.deepEqual(await post('/tenants/t/apps/a/call', { method: 'ping', args: [] }), { status: 200, text: '"pong"' });
  child.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null }, stderr);
});
