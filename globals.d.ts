// `durable-facets/globals`: the Cloudflare names as globals, as `@cloudflare/workers-types`
// declares them, so object code written for Cloudflare compiles unchanged against
// durable-facets (and the same source against workers-types when building for Cloudflare):
//
//   // tsconfig.json
//   { "compilerOptions": { "types": ["durable-facets/globals"] } }
//
// Each global is the type of the same name exported by "durable-facets" (index.d.ts). Only
// names that exist in the runtime's threads are values (`WebSocketPair`,
// `WebSocketRequestResponsePair`); the rest are types, as `instanceof DurableObjectNamespace`
// has nothing to test against here. Also declares the module "cloudflare:workers" (no
// `paths` mapping needed). Do not combine with workers-types in one compilation: both declare
// these globals.
//
// A script (no top-level import or export): its declarations are global.

type DurableObjectState<Props = unknown> = import('./index.js').DurableObjectState<Props>;
type DurableObjectStorage = import('./index.js').DurableObjectStorage;
type DurableObjectTransaction = import('./index.js').DurableObjectTransaction;
type DurableObjectGetOptions = import('./index.js').DurableObjectGetOptions;
type DurableObjectPutOptions = import('./index.js').DurableObjectPutOptions;
type DurableObjectListOptions = import('./index.js').DurableObjectListOptions;
type DurableObjectGetAlarmOptions = import('./index.js').DurableObjectGetAlarmOptions;
type DurableObjectSetAlarmOptions = import('./index.js').DurableObjectSetAlarmOptions;
type DurableObjectAbortOptions = import('./index.js').DurableObjectAbortOptions;
type SqlStorage = import('./index.js').SqlStorage;
type SqlStorageCursor<T extends Record<string, SqlStorageValue>> = import('./index.js').SqlStorageCursor<T>;
type SqlStorageValue = import('./index.js').SqlStorageValue;
type SyncKvStorage = import('./index.js').SyncKvStorage;
type SyncKvListOptions = import('./index.js').SyncKvListOptions;
type AlarmInvocationInfo = import('./index.js').AlarmInvocationInfo;
type DurableObjectId = import('./index.js').DurableObjectId;
type DurableObjectNamespace<T extends Rpc.DurableObjectBranded | undefined = undefined> =
  import('./index.js').DurableObjectNamespace<T>;
type DurableObjectNamespaceNewUniqueIdOptions = import('./index.js').DurableObjectNamespaceNewUniqueIdOptions;
type DurableObjectNamespaceGetDurableObjectOptions = import('./index.js').DurableObjectNamespaceGetDurableObjectOptions;
type DurableObjectJurisdiction = import('./index.js').DurableObjectJurisdiction;
type DurableObjectLocationHint = import('./index.js').DurableObjectLocationHint;
type DurableObjectStub<T extends Rpc.DurableObjectBranded | undefined = undefined> = import('./index.js').DurableObjectStub<T>;
type DurableObjectFacets = import('./index.js').DurableObjectFacets;
type FacetStartupOptions<T extends Rpc.DurableObjectBranded | undefined = undefined> =
  import('./index.js').FacetStartupOptions<T>;
type DurableObjectClass<T extends Rpc.DurableObjectBranded | undefined = undefined> = import('./index.js').DurableObjectClass<T>;
type LoopbackDurableObjectClass<T extends Rpc.DurableObjectBranded | undefined = undefined> =
  import('./index.js').LoopbackDurableObjectClass<T>;
type LoopbackDurableObjectNamespace<T extends Rpc.DurableObjectBranded | undefined = undefined> =
  import('./index.js').LoopbackDurableObjectNamespace<T>;
type Fetcher<T extends Rpc.DurableObjectBranded | undefined = undefined> = import('./index.js').Fetcher<T>;
type ExecutionContext<Props = unknown> = import('./index.js').ExecutionContext<Props>;
type ExportedHandler<Env = unknown> = import('./index.js').ExportedHandler<Env>;
type ExportedHandlerFetchHandler<Env = unknown> = import('./index.js').ExportedHandlerFetchHandler<Env>;
type WorkerLoader = import('./index.js').WorkerLoader;
type WorkerStub = import('./index.js').WorkerStub;
type WorkerStubEntrypointOptions = import('./index.js').WorkerStubEntrypointOptions;
/** Cloudflare's name for the code a worker loader runs. */
type WorkerLoaderWorkerCode = import('./index.js').WorkerCode;

/** `new WebSocketPair()`: two connected ends (a global in the runtime's threads). */
declare var WebSocketPair: typeof import('./index.js').WebSocketPair;
type WebSocketPair = import('./index.js').WebSocketPair;
/** The pair of `ctx.setWebSocketAutoResponse()` (a global in the runtime's threads). */
declare var WebSocketRequestResponsePair: typeof import('./index.js').WebSocketRequestResponsePair;
type WebSocketRequestResponsePair = import('./index.js').WebSocketRequestResponsePair;

/**
 * Cloudflare's additions to the platform's `WebSocket` (merged into the one the `DOM` lib or
 * `@types/node` declares): the ends of a `WebSocketPair` and hibernatable sockets.
 */
interface WebSocket {
  accept(options?: { allowHalfOpen?: boolean }): void;
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): any;
}

/** `new Response(null, { status: 101, webSocket: client })` hands a socket over. */
interface ResponseInit {
  webSocket?: WebSocket | import('./index.js').WebSocket | null;
}

/** The RPC brand and stub types, as workers-types' global `Rpc` namespace. */
declare namespace Rpc {
  type DurableObjectBranded = import('./index.js').DurableObjectBranded;
  type RpcTargetBranded = import('./index.js').RpcTargetBranded;
  type WorkerEntrypointBranded = import('./index.js').WorkerEntrypointBranded;
  type Stubable = import('./index.js').Rpc.Stubable;
  type Stub<T extends Stubable> = import('./index.js').Rpc.Stub<T>;
  type Result<R> = import('./index.js').Rpc.Result<R>;
  type Stubify<T> = import('./index.js').Rpc.Stubify<T>;
}

/** Cloudflare code imports its base classes and `env` from here; in the runtime's threads it is this package. */
declare module 'cloudflare:workers' {
  export { DurableObject, RpcTarget, WorkerEntrypoint, env } from 'durable-facets';
}
