// Copyright 2026 the airlock authors. MIT license.

/**
 * The relay of the WebSocket tunnel example: serves the page (`index.html`, the bundled `page.js`, the
 * `ca.pem` the page trusts) from `--root`, and carries each WebSocket on `/tunnel` to one TCP connection to
 * `--target`, bytes as they are. The TLS runs in the page and in the server behind the relay: the relay sees
 * only ciphertext. It relays to its one `--target`, never where a client asks.
 *
 * Run it with Deno (no dependencies); see index.html for the whole example:
 *
 *     deno run --allow-net --allow-read examples/websocket_tunnel/relay.ts \
 *       --port 8080 --target 127.0.0.1:4433 --root examples/websocket_tunnel/public
 *
 * It prints `LISTENING <port>` once it accepts connections.
 *
 * @module
 */

const args = new Map<string, string>();
for (let i = 0; i + 1 < Deno.args.length; i += 2) args.set(Deno.args[i]!, Deno.args[i + 1]!);
const port = Number(args.get("--port") ?? "8080");
const [targetHost, targetPort] = (args.get("--target") ?? "127.0.0.1:4433").split(":");
const root = args.get("--root") ?? new URL("./public", import.meta.url).pathname;

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  pem: "application/x-pem-file",
};

/** One WebSocket to one TCP connection: messages in order to the socket, the socket's bytes as messages. */
function tunnel(ws: WebSocket): void {
  ws.binaryType = "arraybuffer";
  const connecting = Deno.connect({ hostname: targetHost!, port: Number(targetPort) });
  let sending = connecting.then((conn) => conn.writable.getWriter());
  ws.onmessage = (event) => {
    if (!(event.data instanceof ArrayBuffer)) return ws.close(1003, "binary messages only");
    const bytes = new Uint8Array(event.data);
    sending = sending.then(async (writer) => (await writer.write(bytes), writer));
  };
  let ended = false;
  const end = (why?: unknown) => {
    if (ended) return; // the other side's errors, once the tunnel is being torn down, are no news
    ended = true;
    if (why) console.error(`tunnel: ${why instanceof Error ? why.message : why}`);
    connecting.then((conn) => conn.close(), () => {}).catch(() => {});
    if (ws.readyState === WebSocket.OPEN) ws.close(why ? 1011 : 1000);
  };
  ws.onclose = () => end();
  sending.catch(end);
  connecting.then(async (conn) => {
    for await (const chunk of conn.readable) ws.send(chunk);
    end(); // the server closed its side
  }).catch(end);
}

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ port }) => console.log(`LISTENING ${port}`),
}, async (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/tunnel") {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("a WebSocket only\n", { status: 426 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    tunnel(socket);
    return response;
  }
  const name = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
  if (!/^[\w-]+\.(html|js|pem)$/.test(name)) return new Response("not found\n", { status: 404 });
  try {
    const body = await Deno.readFile(`${root}/${name}`);
    return new Response(body, { headers: { "content-type": TYPES[name.split(".").pop()!]! } });
  } catch {
    return new Response("not found\n", { status: 404 });
  }
});
