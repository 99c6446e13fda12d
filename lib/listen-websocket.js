// `rt.listen()`'s WebSocket bridge (SPEC §2.4): frames of a real client connection (the `ws`
// package's server side) to and from the end the entry point handed over in its 101
// response. The end is accepted on the main thread; the core delivers its events here.
import { WebSocket as WsClient } from 'ws';

/** Close codes a client may send that `close()` refuses to echo (reserved ones). */
function echoable(code) {
  return Number.isInteger(code) && code >= 1000 && code <= 4999 && ![1004, 1005, 1006, 1015].includes(code);
}

/**
 * Bridges `client` (a `ws` connection) and `end` (a durable-facets WebSocket) both ways.
 * @param {import('ws').WebSocket} client
 * @param {import('./websocket.js').WebSocket} end
 */
export function bridgeWebSocket(client, end) {
  end._sink = {
    message(data) {
      // Text arrives as a string, binary as a Buffer: `ws` sends each as such.
      if (client.readyState === WsClient.OPEN) client.send(data);
    },
    close(code, reason, clean) {
      if (client.readyState !== WsClient.OPEN) return;
      if (!clean) client.terminate();
      else if (echoable(code)) client.close(code, reason);
      else client.close();
    },
  };
  end.accept();
  client.on('message', (data, isBinary) => {
    if (end.readyState !== 1) return;
    // `ws` hands a Buffer of its own (fragments as an array of them): no copy needed here,
    // the core copies the bytes as it takes them.
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data;
    end.send(isBinary ? bytes : bytes.toString('utf8'));
  });
  client.on('close', (code, reason) => {
    if (end.readyState === 3) return;
    // No Close frame (1006): the object hears workerd's "disconnected without sending Close
    // frame"; otherwise the client's code and reason (1005: a Close without a code).
    if (code === 1006 || (!echoable(code) && code !== 1005)) end._leave();
    else end._leave(code, reason.toString('utf8'));
  });
  // A protocol error (a bad frame): the object's webSocketError hears it; the close that
  // `ws` reports next finds the end done with.
  client.on('error', (e) => {
    if (end.readyState !== 3) end._fail(e?.message ?? String(e));
  });
}
