// `npm run example:chat`: serves the chat room of worker.mjs over HTTP and WebSockets, as
// `wrangler dev` would. Open the printed URL in two browser tabs, or connect with any
// WebSocket client to ws://…/room/<name>?name=<you> and send {"text": "…"}.
import { Runtime } from 'durable-facets';

// The bindings are those wrangler.jsonc declares for Cloudflare (main, ROOMS → Room).
const rt = await Runtime.fromWranglerConfig(new URL('./wrangler.jsonc', import.meta.url), {
  // A quiet room is evicted after 10 s while its sockets stay open (hibernation).
  idleTimeoutMs: 10_000,
});

const port = Number(process.env.PORT ?? 8787);
const server = await rt.listen({ port });
console.log(`chat: open ${server.url}#lobby (WebSocket: ${server.url.replace('http', 'ws')}room/lobby?name=you)`);

const stop = async () => {
  await server.close();
  await rt.dispose();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
