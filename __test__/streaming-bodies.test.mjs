// SPEC §2.2 (`stub.fetch`) and §2.3 (`rt.fetch`, `rt.listen`): bodies stream across threads
// both ways with backpressure — nothing is buffered whole, the 32 MiB RPC payload cap does
// not apply to bodies, errors and cancellation cross, E-order holds around a fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { runtime, fixture, until } from './helpers.mjs';
import { pattern, measure, patternStream } from './fixtures/streaming-pattern.mjs';

const MB = 1024 * 1024;
const SIZE = 100 * MB;

const sinks = (t) => runtime(t, { main: fixture('streaming-objects.mjs'), durableObjects: { SINK: 'Sink' } });

/** SHA-256 of the first `n` pattern bytes. */
function patternHash(n) {
  const h = createHash('sha256');
  for (let at = 0; at < n; at += MB) h.update(pattern(at, Math.min(MB, n - at)));
  return h.digest('hex');
}

const post = (body) => ({ method: 'POST', body, duplex: 'half' });

test('a 100 MB request body streams to an object chunk by chunk with bounded memory', async (t) => {
  const rt = sinks(t);
  const stub = rt.env.SINK.getByName('upload');
  await stub.consumed(); // started: its thread's memory is not the body's
  const chunk = 64 * 1024;
  let produced = 0;
  let pulls = 0;
  let maxOutstanding = 0;
  let maxRss = 0;
  let maxArrayBuffers = 0;
  const rss0 = process.memoryUsage().rss;
  const body = new ReadableStream({
    async pull(c) {
      if (produced >= SIZE) return c.close();
      // How far the object's reader lags behind what was produced (asked while it reads).
      maxOutstanding = Math.max(maxOutstanding, produced - (await stub.consumed()));
      c.enqueue(pattern(produced, chunk));
      produced += chunk;
      pulls++;
      if (pulls % 16 === 0) {
        const mem = process.memoryUsage();
        maxRss = Math.max(maxRss, mem.rss);
        maxArrayBuffers = Math.max(maxArrayBuffers, mem.arrayBuffers);
      }
    },
  });
  const res = await stub.fetch('http://sink/measure', post(body));
  const m = await res.json();
  assert.equal(m.bytes, SIZE);
  assert.equal(m.hash, patternHash(SIZE));
  assert.equal(pulls, SIZE / chunk, 'the source was pulled chunk by chunk');
  assert.ok(m.chunks >= SIZE / (256 * 1024), `the object read ${m.chunks} chunks`);
  // Each pull asks the object first: the answer lags by what is in flight at most.
  assert.ok(maxOutstanding <= 2 * MB, `at most 2 MiB outstanding, saw ${maxOutstanding}`);
  // A body buffered whole would be held at once (100 MB) by each thread's heap. Streamed,
  // each heap holds a few chunks plus what its garbage collector has not reclaimed yet:
  // collections paced by the bytes moved (lib/gc.js) keep that to ~13–24 MB here (V8 alone
  // let each thread reach ~34–45 MB).
  assert.ok(maxArrayBuffers < 40 * MB, `main thread: ${(maxArrayBuffers / MB).toFixed(1)} MB of ArrayBuffers`);
  assert.ok(m.maxArrayBuffers < 40 * MB, `object thread: ${(m.maxArrayBuffers / MB).toFixed(1)} MB of ArrayBuffers`);
  t.diagnostic(`RSS growth ${((maxRss - rss0) / MB).toFixed(1)} MB (process-wide, includes allocator and GC slack)`);
  t.diagnostic(`ArrayBuffers: main ${(maxArrayBuffers / MB).toFixed(1)} MB, object ${(m.maxArrayBuffers / MB).toFixed(1)} MB`);
});

test('a streaming response is read chunk by chunk before the producer has finished', async (t) => {
  const rt = sinks(t);
  const stub = rt.env.SINK.getByName('slow');
  const res = await stub.fetch('http://sink/slow');
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  assert.equal(dec.decode((await reader.read()).value), 'first chunk');
  // The producer waits for this call before it makes the second chunk.
  assert.equal(await stub.go(), true);
  assert.equal(dec.decode((await reader.read()).value), 'second chunk');
  assert.equal((await reader.read()).done, true);
});

test('a call made right after a fetch with a streaming body is delivered after it, without waiting for the body', async (t) => {
  const rt = sinks(t);
  const stub = rt.env.SINK.getByName('order');
  let marked;
  const markDone = new Promise((r) => (marked = r));
  let sent = 0;
  const body = new ReadableStream({
    async pull(c) {
      // The body ends only once the later call has been answered.
      if (sent === 2) await markDone;
      if (sent === 3) return c.close();
      c.enqueue(pattern(sent * 100_000, 100_000));
      sent++;
    },
  });
  const fetching = stub.fetch('http://sink/measure', post(body));
  const log = await stub.mark(1);
  marked();
  assert.deepEqual(log, ['fetch', 'mark 1']);
  assert.equal((await (await fetching).json()).bytes, 300_000);
});

test('a request body that errors mid-stream makes the object read reject with that error', async (t) => {
  const rt = sinks(t);
  let n = 0;
  const body = new ReadableStream({
    pull(c) {
      if (n++ < 3) c.enqueue(pattern(0, 100_000));
      else c.error(new TypeError('upload broke'));
    },
  });
  const res = await rt.env.SINK.getByName('err').fetch('http://sink/read-error', post(body));
  assert.deepEqual(await res.json(), { failed: true, name: 'TypeError', message: 'upload broke' });
});

test('a response body that errors mid-stream makes the caller read reject with that error', async (t) => {
  const rt = sinks(t);
  const res = await rt.env.SINK.getByName('err').fetch('http://sink/error-response');
  const reader = res.body.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), 'partial');
  await assert.rejects(reader.read(), (e) => e instanceof RangeError && e.message === 'producer broke');
});

test('an object that cancels the request body cancels the caller stream, with its reason', async (t) => {
  const rt = sinks(t);
  let cancelled;
  const reason = new Promise((r) => (cancelled = r));
  let at = 0;
  const body = new ReadableStream({
    pull(c) {
      c.enqueue(pattern(at, 100_000));
      at += 100_000;
    },
    cancel: (why) => cancelled(why),
  });
  const res = await rt.env.SINK.getByName('cancel').fetch('http://sink/cancel-request', post(body));
  assert.ok((await res.json()).first > 0);
  assert.equal(await reason, 'enough');
});

test('a caller that cancels the response body cancels the object stream, with its reason', async (t) => {
  const rt = sinks(t);
  const stub = rt.env.SINK.getByName('cancel');
  const res = await stub.fetch('http://sink/endless');
  const reader = res.body.getReader();
  assert.ok((await reader.read()).value.byteLength > 0);
  await reader.cancel('bye');
  assert.deepEqual(await until(async () => {
    const s = await stub.cancelState();
    return s.cancelled && s;
  }), { cancelled: true, reason: 'bye' });
});

test('non-ASCII text bodies keep every character when split across chunks, both ways', async (t) => {
  const rt = sinks(t);
  const text = 'héllo wörld — 日本語 🌍🚀 ✓ '.repeat(20_000); // ~700 KB, streamed
  const bytes = new TextEncoder().encode(text);
  // Odd-sized chunks split multi-byte characters.
  let at = 0;
  const body = new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + 9_999));
      at += 9_999;
    },
  });
  const res = await rt.env.SINK.getByName('text').fetch('http://sink/text', { ...post(body), headers: { 'x-tag': 'ü' } });
  assert.equal(await res.text(), `ü|${text}`);
  const small = await rt.env.SINK.getByName('text').fetch('http://sink/text', { method: 'POST', body: 'ça marche ✓ 🎉', headers: { 'x-tag': 'ß' } });
  assert.equal(await small.text(), 'ß|ça marche ✓ 🎉');
});

test('an object can return the request body as its response body (echo), over 32 MiB', async (t) => {
  const rt = sinks(t);
  const size = 40 * MB;
  const res = await rt.env.SINK.getByName('echo').fetch('http://sink/echo', post(patternStream(size)));
  assert.equal(res.headers.get('x-echo'), '1');
  const m = await measure(res.body);
  assert.equal(m.bytes, size);
  assert.equal(m.hash, patternHash(size));
});

test('an object streams a body over 32 MiB to its facet and reads the echo back', async (t) => {
  const rt = sinks(t);
  const size = 40 * MB;
  const m = await rt.env.SINK.getByName('parent').throughFacet(size);
  assert.equal(m.bytes, size);
  assert.equal(m.hash, patternHash(size));
});

test('a 100 MB response body streams from an object to the caller', async (t) => {
  const rt = sinks(t);
  const res = await rt.env.SINK.getByName('down').fetch(`http://sink/download?bytes=${SIZE}`);
  const m = await measure(res.body);
  assert.equal(m.bytes, SIZE);
  assert.equal(m.hash, patternHash(SIZE));
  assert.ok(m.chunks >= SIZE / (256 * 1024));
});

test('rt.fetch streams request and response bodies over 32 MiB through the entry point', async (t) => {
  const rt = sinks(t);
  const size = 40 * MB;
  const up = await (await rt.fetch('http://app/measure', post(patternStream(size)))).json();
  assert.equal(up.bytes, size);
  assert.equal(up.hash, patternHash(size));
  const down = await measure((await rt.fetch(`http://app/download?bytes=${size}`)).body);
  assert.equal(down.bytes, size);
  assert.equal(down.hash, patternHash(size));
});

/** One request through node:http; the body written chunk by chunk with backpressure. */
function httpRequest(url, { method = 'GET', chunks = null } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: chunks ? { 'transfer-encoding': 'chunked' } : {} }, resolve);
    req.on('error', reject);
    if (chunks === null) return req.end();
    (async () => {
      for (const c of chunks) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
      req.end();
    })().catch(reject);
  });
}

function* patternChunks(total, size = 64 * 1024) {
  for (let at = 0; at < total; at += size) yield pattern(at, Math.min(size, total - at));
}

test('rt.listen streams a 100 MB chunked upload and a 100 MB download for a real HTTP client', async (t) => {
  const rt = sinks(t);
  const l = await rt.listen({ port: 0 });
  t.after(() => l.close());
  const up = await httpRequest(`${l.url}measure`, { method: 'POST', chunks: patternChunks(SIZE) });
  assert.equal(up.statusCode, 200);
  let text = '';
  for await (const c of up) text += c;
  const m = JSON.parse(text);
  assert.equal(m.bytes, SIZE);
  assert.equal(m.hash, patternHash(SIZE));

  const down = await httpRequest(`${l.url}download?bytes=${SIZE}`);
  assert.equal(down.statusCode, 200);
  assert.equal(down.headers['transfer-encoding'], 'chunked');
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const c of down) {
    hash.update(c);
    bytes += c.length;
  }
  assert.equal(bytes, SIZE);
  assert.equal(hash.digest('hex'), patternHash(SIZE));
});

test('rt.dispose() rejects a body read waiting on an object, so nothing is left hanging', async (t) => {
  const rt = sinks(t);
  const res = await rt.env.SINK.getByName('slow').fetch('http://sink/slow');
  const reader = res.body.getReader();
  await reader.read(); // the first chunk; the second waits for go(), which never comes
  const second = assert.rejects(reader.read(), /disposed/);
  await rt.dispose();
  await second;
});
