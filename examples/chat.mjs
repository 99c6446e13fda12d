// Durable Object classes of the README example: one Room per chat room.
import { DurableObject } from 'cloudflare:workers';

export class Room extends DurableObject {
  members = new Set();
  messages = [];

  join(user) {
    this.members.add(user);
    return [...this.members];
  }

  post(user, text) {
    if (!this.members.has(user)) throw new Error(`${user} has not joined ${this.ctx.id.name}`);
    this.messages.push({ user, text, at: Date.now() });
    return this.messages.length;
  }

  history() {
    return this.messages;
  }

  // Rooms call each other through their env bindings, as on Cloudflare.
  async announce(otherRoom, text) {
    const other = this.env.ROOMS.getByName(otherRoom);
    await other.join('bot');
    return other.post('bot', `${this.env.GREETING} from ${this.ctx.id.name}: ${text}`);
  }
}

// The Worker's entry point (rt.fetch, rt.listen): `GET /room/<name>` lists a room's messages,
// `POST /room/<name>` with `{ "user", "text" }` posts one.
export default {
  async fetch(request, env) {
    const match = /^\/room\/([^/]+)$/.exec(new URL(request.url).pathname);
    if (match === null) return new Response('not found', { status: 404 });
    const room = env.ROOMS.getByName(decodeURIComponent(match[1]));
    if (request.method === 'POST') {
      const { user, text } = await request.json();
      await room.join(user);
      return Response.json({ count: await room.post(user, text) });
    }
    return Response.json(await room.history());
  },
};
