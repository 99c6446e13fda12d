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

try {
  await lobby.post('mallory', 'sneaky');
} catch (e) {
  console.log(`error crossed the thread boundary: ${e.name}: ${e.message} (remote: ${e.remote})`);
}

await rt.dispose();
