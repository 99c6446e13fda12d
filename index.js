// durable-facets: Cloudflare-style Durable Objects with facets for Node.js.
export { Runtime } from './lib/runtime.js';
export { DurableObject, RpcTarget, WorkerEntrypoint } from './lib/durable-object.js';
export { DurableObjectId } from './lib/ids.js';
export { DurableObjectNamespace } from './lib/namespace.js';
