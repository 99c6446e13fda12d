// SPEC §2.2/§2.3: what a streamed body's chunks may be on the sending side, and how an upload
// ends when its client goes away. Chunks cross as raw bytes copied straight from the views
// the body produced (lib/raw-bytes.js), and each thread collects its dead chunks as it goes
// (lib/gc.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { runtime, fixture, until } from './helpers.mjs';

const rt = (t) => runtime(t, { main: fixture('streaming-chunks.mjs'), durableObjects: { SINK: 'Sink', LOG: 'Log' } });

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

test('chunks that are views into larger buffers, of any typed-array kind, arrive as exactly their bytes', async (t) => {
  const backing = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 31 + (i >> 9)) & 255;
  // Offsets and lengths that are not multiples of anything, several views of one buffer,
  // a wider element type and a DataView: more than one pull's worth (256 KiB) in all.
  const views = [
    backing.subarray(1, 70_001),
    new Uint16Array(backing.buffer, 100_000, 40_000),
    new DataView(backing.buffer, 300_003, 500_000),
    backing.subarray(900_001, 2_900_001),
    backing.subarray(5, 6),
  ];
  const expected = Buffer.concat(views.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));
  let i = 0;
  const body = new ReadableStream({
    pull(c) {
      if (i === views.length) return c.close();
      c.enqueue(views[i++]);
    },
  });
  const res = await rt(t).env.SINK.getByName('views').fetch('http://sink/', { method: 'POST', body, duplex: 'half' });
  const m = await res.json();
  assert.equal(m.bytes, expected.length);
  assert.equal(m.hash, sha256(expected));
});

test('streaming a body past the collection threshold gives user code no gc global', async (t) => {
  const size = 24 * 1024 * 1024; // three young collections' worth (lib/gc.js YOUNG_GC_BYTES)
  let at = 0;
  const body = new ReadableStream({
    pull(c) {
      if (at >= size) return c.close();
      c.enqueue(new Uint8Array(64 * 1024).fill(at & 255));
      at += 64 * 1024;
    },
  });
  const res = await rt(t).env.SINK.getByName('gc').fetch('http://sink/', { method: 'POST', body, duplex: 'half' });
  const m = await res.json();
  assert.equal(m.bytes, size);
  assert.equal(m.gc, 'undefined', 'the object thread');
  assert.equal(typeof globalThis.gc, 'undefined', 'the main thread');
});

test('a client that disconnects mid-upload through rt.listen makes the body read of the entry point reject (aborted)', async (t) => {
  const r = rt(t);
  const l = await r.listen({ port: 0 });
  t.after(() => l.close());
  const log = r.env.LOG.getByName('log');
  const req = http.request(`${l.url}upload`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } });
  req.on('error', () => {});
  req.write(new Uint8Array(256 * 1024));
  await until(async () => (await log.list()).includes('reading'));
  req.destroy();
  const entries = await until(async () => {
    const e = await log.list();
    return e.length > 1 && e;
  });
  // Node's own error for a request whose client went away (ECONNRESET "aborted").
  assert.deepEqual(entries, ['reading', 'error aborted']);
});
