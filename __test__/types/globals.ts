// `durable-facets/globals` (globals.d.ts): object code written for Cloudflare, with the
// Cloudflare names as globals and "cloudflare:workers" declared (no `paths` needed).
/// <reference path="../../globals.d.ts" />
import { DurableObject, env } from 'cloudflare:workers';
import { assertType, type Equals } from './expect.js';
import type * as DF from '../../index.js';

interface GlobalEnv {
  GLOBAL_ROOMS: DurableObjectNamespace<GlobalRoom>;
  LOADER: WorkerLoader;
}

export class GlobalRoom extends DurableObject<GlobalEnv> {
  constructor(ctx: DurableObjectState, env: GlobalEnv) {
    super(ctx, env);
    const storage: DurableObjectStorage = ctx.storage;
    const sql: SqlStorage = storage.sql;
    const cursor: SqlStorageCursor<{ n: number }> = sql.exec<{ n: number }>('SELECT 1 AS n');
    const value: SqlStorageValue = cursor.one().n;
    const kv: SyncKvStorage = storage.kv;
    const id: DurableObjectId = ctx.id;
    const facets: DurableObjectFacets = ctx.facets;
    void value, kv, id, facets;
  }

  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    const retry: boolean | undefined = info?.isRetry;
    void retry;
  }

  other(): DurableObjectStub<GlobalRoom> {
    return this.env.GLOBAL_ROOMS.getByName('other');
  }

  socket(): Response {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    server.accept();
    server.serializeAttachment({ at: 1 });
    this.ctx.acceptWebSocket(server);
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
    return new Response(null, { status: 101, webSocket: client });
  }
}

// Each global is the package's type of the same name.
assertType<Equals<DurableObjectState, DF.DurableObjectState>>();
assertType<Equals<DurableObjectNamespace<GlobalRoom>, DF.DurableObjectNamespace<GlobalRoom>>>();
assertType<Equals<DurableObjectStub<GlobalRoom>, DF.DurableObjectStub<GlobalRoom>>>();
assertType<Equals<AlarmInvocationInfo, DF.AlarmInvocationInfo>>();
assertType<Equals<WorkerLoaderWorkerCode, DF.WorkerCode>>();

export default {
  async fetch(_request: Request, env: GlobalEnv, ctx: ExecutionContext): Promise<Response> {
    ctx.waitUntil(Promise.resolve());
    return env.GLOBAL_ROOMS.getByName('a').fetch('https://x/');
  },
} satisfies ExportedHandler<GlobalEnv>;

void env;
// @ts-expect-error DurableObjectNamespace is a type here, not a global value
void DurableObjectNamespace;
// @ts-expect-error the pair's ends are WebSockets
const notSocket: string = new WebSocketPair()[0];
void notSocket;
