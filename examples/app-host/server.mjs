// App host: an HTTP server where each tenant is a root Durable Object and each app a facet
// whose code is uploaded at run time (worker loader) and gets its own SQLite database.
//
//   PORT=8787 APP_HOST_DATA=./data APP_HOST_TOKEN=… node examples/app-host/server.mjs
//
// It runs uploaded code, so no web page may reach it: every request needs the token printed at
// start (`Authorization: Bearer <token>`; random unless APP_HOST_TOKEN fixes it), the `Host` header must name this server
// (defeats DNS rebinding), request bodies must be JSON, and it listens on 127.0.0.1 only.
import http from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Runtime } from 'durable-facets';

const MAX_BODY = 1024 * 1024; // 1 MiB
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/; // tenant and app names
const METHOD = /^[A-Za-z_$][\w$]*$/; // app method names

const port = process.env.PORT === undefined || process.env.PORT === '' ? 8787 : Number(process.env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`app-host: invalid PORT ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}
const storage = process.env.APP_HOST_DATA || new URL('./data/', import.meta.url);
/** A fixed token (scripts, a restart that keeps clients working) must be as hard to guess as a random one. */
const TOKEN = /^[A-Za-z0-9._~-]{32,256}$/;
const fixedToken = process.env.APP_HOST_TOKEN;
if (fixedToken !== undefined && fixedToken !== '' && !TOKEN.test(fixedToken)) {
  console.error('app-host: APP_HOST_TOKEN must be 32-256 characters of A-Z a-z 0-9 . _ ~ - (e.g. `openssl rand -hex 24`)');
  process.exit(2);
}
const token = fixedToken || randomBytes(24).toString('hex');
const expectedAuth = Buffer.from(`Bearer ${token}`);

let rt;
try {
  // The bindings are the ones Cloudflare reads (wrangler.jsonc); what only durable-facets has
  // is added here.
  rt = await Runtime.fromWranglerConfig(new URL('./wrangler.jsonc', import.meta.url), {
    // "isolate": an app that breaks (bad code, ctx.abort(), out of memory) stops alone; its tenant
    // and the tenant's other apps keep running.
    durableObjects: { TENANTS: { facetFailure: 'isolate' } },
    // One synchronous run longer than this (an endless loop) breaks the app; `abort` stops it sooner.
    cpuTimeoutMs: 10_000,
    storage,
  });
} catch (e) {
  // e.g. `Storage directory <dir> is in use.` (another app host runs on the same data)
  console.error(`app-host: ${e.message}`);
  process.exit(1);
}

/** An HTTP error with a JSON body `{ error: { name, message } }`. */
class HttpError extends Error {
  constructor(status, name, message, headers = {}) {
    super(message);
    this.status = status;
    this.errorName = name;
    this.headers = headers;
  }
}

/** JSON.stringify for RPC results: BigInt, Map, Set and binary data have no JSON form of their own. */
function toJson(value) {
  return JSON.stringify(value ?? null, (_, v) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Map) return Object.fromEntries(v);
    if (v instanceof Set) return [...v];
    if (v instanceof ArrayBuffer) return { base64: Buffer.from(v).toString('base64') };
    if (ArrayBuffer.isView(v)) return { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    return v;
  });
}

function send(res, status, body, headers = {}) {
  let text;
  try {
    text = toJson(body);
  } catch (e) {
    status = 500;
    text = JSON.stringify({ error: { name: 'SerializationError', message: `Result is not JSON-serializable: ${e.message}` } });
  }
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/** Host check: only `127.0.0.1:<port>` and `localhost:<port>` (a rebound DNS name is refused). */
function checkHost(req, actualPort) {
  const host = (req.headers.host ?? '').toLowerCase();
  if (host !== `127.0.0.1:${actualPort}` && host !== `localhost:${actualPort}`) {
    throw new HttpError(421, 'MisdirectedRequest', 'Unexpected Host header.');
  }
  // Browsers send Origin on cross-origin requests; none is ours.
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://127.0.0.1:${actualPort}` && origin !== `http://localhost:${actualPort}`) {
    throw new HttpError(403, 'Forbidden', 'Cross-origin requests are not allowed.');
  }
}

function checkToken(req) {
  const given = Buffer.from(req.headers.authorization ?? '');
  if (given.length !== expectedAuth.length || !timingSafeEqual(given, expectedAuth)) {
    throw new HttpError(401, 'Unauthorized', 'Missing or wrong token.', { 'WWW-Authenticate': 'Bearer' });
  }
}

function hasBody(req) {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The request body as a JSON object (POST), or `{}` when there is none (GET/DELETE). */
async function readJson(req) {
  if (req.method !== 'POST' && !hasBody(req)) return {};
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'UnsupportedMediaType', 'Request bodies must be Content-Type: application/json.');
  }
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
    throw new HttpError(413, 'PayloadTooLarge', `Request body is larger than ${MAX_BODY} bytes.`);
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'PayloadTooLarge', `Request body is larger than ${MAX_BODY} bytes.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '' && req.method !== 'POST') return {};
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'BadRequest', `Invalid JSON: ${e.message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'BadRequest', 'The request body must be a JSON object.');
  }
  return body;
}

function name(value, what) {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new HttpError(400, 'BadRequest', `Invalid ${what} name: 1-64 characters [A-Za-z0-9._-], starting with a letter or digit.`);
  }
  return value;
}

const tenant = (t) => rt.env.TENANTS.getByName(t);

/** A Tenant method's `{ value } | { status, error }` as an HTTP response. */
function reply(res, result) {
  if (result.error) send(res, result.status ?? 500, { error: result.error });
  else send(res, 200, result.value);
}

/** Routes: [method, pattern, handler(params, body, res)]. */
const routes = [
  ['GET', /^\/tenants$/, async (_, __, res) => send(res, 200, { ids: await rt.listIds('TENANTS') })],
  ['GET', /^\/tenants\/([^/]+)\/apps$/, async ([t], _, res) => reply(res, await tenant(name(t, 'tenant')).list())],
  ['GET', /^\/tenants\/([^/]+)\/inspect$/, async ([t], _, res) => send(res, 200, await rt.inspect('TENANTS', name(t, 'tenant')))],
  ['POST', /^\/tenants\/([^/]+)\/apps\/([^/]+)\/deploy$/, async ([t, a], body, res) => {
    if (typeof body.code !== 'string' || body.code === '') throw new HttpError(400, 'BadRequest', '"code" must be a non-empty string.');
    reply(res, await tenant(name(t, 'tenant')).deploy(name(a, 'app'), body.code));
  }],
  ['POST', /^\/tenants\/([^/]+)\/apps\/([^/]+)\/call$/, async ([t, a], body, res) => {
    const { method, args = [] } = body;
    // `then` would make the stub look like a promise; `fetch` is the HTTP handler, not RPC.
    if (typeof method !== 'string' || !METHOD.test(method) || method === 'then' || method === 'fetch') {
      throw new HttpError(400, 'BadRequest', '"method" must be the name of an RPC method of the app.');
    }
    if (!Array.isArray(args)) throw new HttpError(400, 'BadRequest', '"args" must be an array.');
    reply(res, await tenant(name(t, 'tenant')).call(name(a, 'app'), method, args));
  }],
  ['POST', /^\/tenants\/([^/]+)\/apps\/([^/]+)\/abort$/, async ([t, a], body, res) => {
    const reason = body.reason ?? 'Aborted by the app host.';
    if (typeof reason !== 'string') throw new HttpError(400, 'BadRequest', '"reason" must be a string.');
    reply(res, await tenant(name(t, 'tenant')).abort(name(a, 'app'), reason));
  }],
  ['POST', /^\/tenants\/([^/]+)\/apps\/([^/]+)\/clone$/, async ([t, a], body, res) => {
    reply(res, await tenant(name(t, 'tenant')).clone(name(a, 'app'), name(body.to, 'target app')));
  }],
  ['DELETE', /^\/tenants\/([^/]+)\/apps\/([^/]+)$/, async ([t, a], _, res) => {
    reply(res, await tenant(name(t, 'tenant')).delete(name(a, 'app')));
  }],
];

async function handle(req, res) {
  checkHost(req, server.address().port);
  checkToken(req);
  const { pathname } = new URL(req.url, 'http://localhost');
  const allowed = [];
  for (const [method, pattern, handler] of routes) {
    const m = pattern.exec(pathname);
    if (m === null) continue;
    if (method !== req.method) {
      allowed.push(method);
      continue;
    }
    const body = await readJson(req);
    return handler(m.slice(1), body, res);
  }
  if (allowed.length > 0) {
    throw new HttpError(405, 'MethodNotAllowed', `Use ${allowed.join(' or ')}.`, { Allow: allowed.join(', ') });
  }
  throw new HttpError(404, 'NotFound', `No route for ${req.method} ${pathname}.`);
}

let stopping = false;

/**
 * One line per request on stdout, when its response is sent (or the connection ends first):
 * time, method, path (no query: it could carry secrets), status, duration. Never the token.
 */
function logRequest(req, res) {
  const start = process.hrtime.bigint();
  let pathname;
  try {
    ({ pathname } = new URL(req.url, 'http://localhost'));
  } catch {
    pathname = '(unparsable URL)';
  }
  const line = (status) => {
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    console.log(`app-host: ${new Date().toISOString()} ${req.method} ${pathname} ${status} ${ms.toFixed(1)}ms`);
  };
  res.once('finish', () => line(res.statusCode));
  res.once('close', () => res.writableFinished || line('aborted'));
}

const server = http.createServer((req, res) => {
  logRequest(req, res);
  handle(req, res).catch((e) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof HttpError) {
      // The rest of a refused body is not read: close the connection rather than drain it.
      const close = req.complete ? {} : { Connection: 'close' };
      send(res, e.status, { error: { name: e.errorName, message: e.message } }, { ...e.headers, ...close });
    } else if (stopping) {
      send(res, 503, { error: { name: 'ServiceUnavailable', message: 'The app host is shutting down.' } }, { Connection: 'close' });
    } else {
      // A failure of the tenant object or of the runtime (not an app error: those arrive as data).
      console.error(`app-host: ${req.method} ${req.url}: ${e?.stack ?? e}`);
      send(res, 500, { error: { name: e?.name ?? 'Error', message: e?.message ?? String(e) } });
    }
  });
});
server.requestTimeout = 60_000;

server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address();
  console.log(`app-host listening on http://127.0.0.1:${actual} token=${token}`);
  console.log(`app-host data in ${storage instanceof URL ? fileURLToPath(storage) : storage}`);
});

server.on('error', async (e) => {
  console.error(`app-host: ${e.message}`);
  await rt.dispose();
  process.exit(1);
});

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`app-host: ${signal}, stopping`);
  const force = setTimeout(() => {
    console.error('app-host: shutdown took too long');
    process.exit(1);
  }, 10_000);
  force.unref();
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  // Calls still in flight are rejected by dispose() (and answered 503); pending writes commit.
  await rt.dispose();
  server.closeAllConnections();
  await closed;
  console.log('app-host stopped');
  process.exit(0);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
