// What `import … from "cloudflare:workers"` resolves to inside the runtime's threads
// (for `main` and `classes` modules; loader code gets the same classes and its own env).
export { DurableObject, RpcTarget, WorkerEntrypoint } from './durable-object.js';
export { env } from './worker/env.js';
