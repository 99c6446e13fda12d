// The canonical Cloudflare chat room, unchanged for Cloudflare: the Worker routes
// `/room/<name>` (a WebSocket upgrade) to that room's Durable Object, which accepts the
// socket with the hibernation API and broadcasts every message to everyone in the room.
// While nobody talks, the room is evicted and its sockets stay open; the next message
// starts it again (constructor included) with each socket's attachment (the user's name).
import { DurableObject } from 'cloudflare:workers';

const HISTORY = 50;

export class Room extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, text TEXT, at INTEGER)',
    );
    // Keep-alives are answered without waking the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  async fetch(request) {
    if (request.headers.get('Upgrade') !== 'websocket') {
      return new Response('Expected a WebSocket upgrade', { status: 426 });
    }
    const name = new URL(request.url).searchParams.get('name') || 'anonymous';
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ name });
    const history = this.ctx.storage.sql
      .exec('SELECT name, text, at FROM messages ORDER BY id DESC LIMIT ?', HISTORY)
      .toArray()
      .reverse();
    server.send(JSON.stringify({ type: 'history', messages: history }));
    this.broadcast({ type: 'joined', name, count: this.ctx.getWebSockets().length });
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws, message) {
    const { name } = ws.deserializeAttachment();
    let text;
    try {
      text = String(JSON.parse(message).text ?? '').slice(0, 1000);
    } catch {
      ws.send(JSON.stringify({ type: 'error', error: 'Messages are JSON: {"text": "..."}' }));
      return;
    }
    const at = Date.now();
    this.ctx.storage.sql.exec('INSERT INTO messages (name, text, at) VALUES (?, ?, ?)', name, text, at);
    this.ctx.storage.sql.exec('DELETE FROM messages WHERE id <= (SELECT MAX(id) FROM messages) - ?', HISTORY);
    this.broadcast({ type: 'message', name, text, at });
  }

  async webSocketClose(ws, code, reason) {
    // The hibernation API does not answer a Close by itself.
    if (code !== 1005 && code !== 1006) ws.close(code, reason);
    const { name } = ws.deserializeAttachment();
    this.broadcast({ type: 'left', name, count: this.ctx.getWebSockets().filter((s) => s !== ws).length });
  }

  broadcast(event) {
    const data = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(data);
      } catch {
        // a socket that is closing
      }
    }
  }
}

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>durable-facets chat</title>
<style>body{font:15px system-ui;max-width:40em;margin:2em auto}#log{height:20em;overflow:auto;border:1px solid #ccc;padding:.5em}</style>
<h1>Room <span id="room"></span></h1><div id="log"></div>
<form id="f"><input id="t" autocomplete="off" placeholder="say something" style="width:80%"><button>Send</button></form>
<script>
const room = location.hash.slice(1) || 'lobby';
const name = prompt('Your name?') || 'anonymous';
document.getElementById('room').textContent = room;
const log = (s) => { const p = document.createElement('div'); p.textContent = s; document.getElementById('log').append(p); };
const ws = new WebSocket(\`\${location.origin.replace('http', 'ws')}/room/\${encodeURIComponent(room)}?name=\${encodeURIComponent(name)}\`);
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.type === 'history') m.messages.forEach((x) => log(x.name + ': ' + x.text));
  else if (m.type === 'message') log(m.name + ': ' + m.text);
  else if (m.type === 'joined' || m.type === 'left') log('* ' + m.name + ' ' + m.type + ' (' + m.count + ' here)');
};
ws.onclose = () => log('* disconnected');
document.getElementById('f').onsubmit = (e) => { e.preventDefault(); const t = document.getElementById('t'); ws.send(JSON.stringify({ text: t.value })); t.value = ''; };
</script>`;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const match = /^\/room\/([^/]+)$/.exec(url.pathname);
    if (match) return env.ROOMS.getByName(decodeURIComponent(match[1])).fetch(request);
    if (url.pathname === '/') return new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } });
    return new Response('not found', { status: 404 });
  },
};
