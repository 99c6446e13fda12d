// What `import … from "cloudflare:workers"` resolves to inside the runtime's threads.
export { DurableObject, RpcTarget, WorkerEntrypoint } from './durable-object.js';
