// `npm start`: the README example. Each room is a Durable Object on its own thread.
import { Runtime } from 'durable-facets';

const rt = new Runtime({
  main: new URL('./chat.mjs', import.meta.url),
  durableObjects: { ROOMS: 'Room' },
  vars: { GREETING: 'hi' },
});

const lobby = rt.env.ROOMS.getByName('lobby');
console.log('members:', await lobby.join('alice'));
await lobby.post('alice', 'hello, world');

const kitchen = rt.env.ROOMS.getByName('kitchen');
await kitchen.announce('lobby', 'dinner is ready');

for (const m of await lobby.history()) console.log(`[lobby] ${m.user}: ${m.text}`);

// The module's default export serves HTTP, on a runtime thread (as `wrangler dev`).
const server = await rt.listen({ port: 0 });
await fetch(new URL('room/lobby', server.url), { method: 'POST', body: JSON.stringify({ user: 'bob', text: 'over HTTP' }) });
const viaHttp = await (await fetch(new URL('room/lobby', server.url))).json();
console.log(`GET ${server.url}room/lobby: ${viaHttp.length} messages, last: ${viaHttp.at(-1).text}`);
await server.close();

try {
  await lobby.post('mallory', 'sneaky');
} catch (e) {
  console.log(`error crossed the thread boundary: ${e.name}: ${e.message} (remote: ${e.remote})`);
}

await rt.dispose();
