// Type test of the WebSocket typings (SPEC §2.4): pair, hibernation handlers and ctx API,
// the 101 hand-off, as Cloudflare code writes them.
import {
  DurableObject,
  WebSocketPair,
  WebSocketRequestResponsePair,
  type DurableObjectNamespace,
  type WebSocket,
  type WebSocketResponseInit,
} from '../../index.js';
import { assertType, type Equals } from './expect.js';

interface Env {
  ROOMS: DurableObjectNamespace<Room>;
}

export class Room extends DurableObject<Env> {
  override async fetch(_request: Request): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, ['lobby']);
    server.serializeAttachment({ name: 'ann' });
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
    const init = { status: 101, webSocket: client } satisfies WebSocketResponseInit;
    return new Response(null, init);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const who: unknown = ws.deserializeAttachment();
    for (const other of this.ctx.getWebSockets('lobby')) other.send(typeof message === 'string' ? `${String(who)}: ${message}` : message);
    assertType<Equals<ReturnType<typeof this.ctx.getTags>, string[]>>();
    assertType<Equals<ReturnType<typeof this.ctx.getWebSocketAutoResponseTimestamp>, Date | null>>();
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string, wasClean: boolean): void {
    if (wasClean) ws.close(code, reason);
  }
}

export async function client(env: Env): Promise<void> {
  const res = await env.ROOMS.getByName('lobby').fetch('http://x/', { headers: { Upgrade: 'websocket' } });
  const ws = res.webSocket;
  if (ws) {
    ws.accept();
    ws.addEventListener('message', (e) => {
      assertType<Equals<typeof e.data, string | ArrayBuffer>>();
    });
    ws.addEventListener('close', (e) => {
      assertType<Equals<typeof e.code, number>>();
    });
    ws.send(new Uint8Array([1]));
    assertType<Equals<typeof WebSocketPair.prototype[0], WebSocket>>();
    // @ts-expect-error close reasons are strings
    ws.close(1000, 5);
  }
  // @ts-expect-error WebSocket ends come from WebSocketPair, not a constructor
  new (null as unknown as typeof WebSocket)('ws://x');
  // @ts-expect-error tags are strings
  (null as unknown as Room)['ctx'].acceptWebSocket(null as unknown as WebSocket, [1]);
}
