// durable-facets: Cloudflare-style Durable Objects with facets for Node.js.
export { Runtime } from './lib/runtime.js';
/** Runtime options from a wrangler configuration; see lib/wrangler-config.js (loaded on first use). */
export const readWranglerConfig = async (path, overrides) =>
  (await import('./lib/wrangler-config.js')).readWranglerConfig(path, overrides);
export { DurableObject, RpcTarget, WorkerEntrypoint } from './lib/durable-object.js';
// `env` of "cloudflare:workers" (set inside the runtime's threads; undefined elsewhere).
export { env } from './lib/worker/env.js';
export { DurableObjectId } from './lib/ids.js';
export { DurableObjectNamespace } from './lib/namespace.js';
// WebSockets, as Workers (SPEC §2.4): also globals inside the runtime's threads.
export { WebSocket, WebSocketPair, WebSocketRequestResponsePair } from './lib/websocket.js';
