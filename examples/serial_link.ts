// Copyright 2026 the airlock authors. MIT license.

/**
 * TLS over a serial link, on Deno or Node: each end opens its tty device with `node:tty` and hands it to
 * `connectTls` as a web stream pair. The server answers one client: it reads the client's message up to
 * its close_notify, replies, and closes with its own close_notify.
 *
 * A serial line has no framing and no end. Bytes arrive in whatever pieces the line and the driver hand
 * over: a TLS record may come in many reads, several records in one. No framing layer is needed, since TLS
 * records carry their own length and the engine reassembles them. But there is no end of stream, so the
 * session ends with close_notify both ways (then each side closes its device), never with an EOF; and a
 * line that goes quiet is caught only by a timeout (`handshakeTimeoutMs` here, yours after the handshake).
 * Bytes left on the line from before (a previous session, noise) end the handshake with an alert: start
 * on a clean line. The device must be raw (no echo, no line editing, no CR/LF translation): `socat …
 * pty,raw,echo=0` makes it so; for a real port, `stty -F /dev/ttyUSB0 115200 raw -echo` first.
 *
 * The server makes a throwaway self-signed certificate for "serial.example" and writes it (PEM) to CERT
 * for the client to trust: the out-of-band step a real deployment does once.
 *
 *     socat -d -d pty,raw,echo=0,link=/tmp/ttyA pty,raw,echo=0,link=/tmp/ttyB &   # a null-modem cable
 *     deno run -A examples/serial_link.ts server /tmp/ttyA /tmp/serial-cert.pem   # first: it writes CERT
 *     node --import tsx examples/serial_link.ts client /tmp/ttyB /tmp/serial-cert.pem "hello over the wire"
 *
 * (`node:tty`, not `Deno.open`: a Deno file's read blocks a thread, and while one waits on a tty, the same
 * process's writes to that tty do not go out, as of Deno 2.9.)
 *
 * @module
 */

import fs from "node:fs";
import process from "node:process";
import { Readable } from "node:stream";
import tty from "node:tty";
import {
  createBioPair,
  createClient,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  pemEncode,
} from "../mod.ts";
import { type ByteStreamTransport, connectTls, type TlsStream } from "../adapters/mod.ts";
import { selfSignedCertificate } from "./_cert.ts";

/**
 * The device as a byte stream: a tty reader (non-blocking, so a pending read holds up nothing) and a tty
 * writer. The writable is made by hand: `Writable.toWeb`'s close waits for a readable side that a tty
 * writer never ends.
 */
function openDevice(path: string): ByteStreamTransport {
  const input = new tty.ReadStream(fs.openSync(path, "r"));
  const output = new tty.WriteStream(fs.openSync(path, "w"));
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => new Promise((resolve, reject) => output.write(chunk, (e) => e ? reject(e) : resolve())),
    close: () => new Promise((resolve) => output.end(resolve)),
    abort: () => void output.destroy(),
  });
  return { readable: Readable.toWeb(input) as ReadableStream<Uint8Array>, writable };
}

function describe(info: HandshakeInfo): string {
  return `${info.version} ${info.cipherSuite} ${info.group}`;
}

async function readAll(tls: TlsStream): Promise<string> {
  return await new Response(tls.readable).text(); // up to the peer's close_notify
}

async function send(tls: TlsStream, text: string): Promise<void> {
  const writer = tls.writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close(); // close_notify
}

async function server(device: string, certFile: string): Promise<void> {
  const cert = await selfSignedCertificate("serial.example");
  fs.writeFileSync(certFile, pemEncode(cert.der, "CERTIFICATE"));
  const key = await loadPrivateKey(cert.keyPkcs8);
  const { engine, network } = createBioPair();
  const transport = openDevice(device);
  console.log(`server: waiting on ${device}`);
  // No handshake timeout: it would count while the line waits for a client.
  const tls = await connectTls(
    createServer({ certificates: [{ chain: [cert.der], key }] }, engine),
    network,
    transport,
  );
  console.log(`server: ${describe(tls.info)}`);
  const received = await readAll(tls);
  const bytes = new TextEncoder().encode(received).length;
  const preview = received.length > 40 ? `${received.slice(0, 40)}…` : received;
  console.log(`server: received ${bytes} bytes: "${preview}"`);
  await send(tls, `${bytes} bytes received`);
  await tls.closed;
}

async function client(device: string, certFile: string, message: string): Promise<void> {
  const { engine, network } = createBioPair();
  const trustAnchors = [fs.readFileSync(certFile, "utf8")];
  const engineClient = createClient({ serverName: "serial.example", trustAnchors }, engine);
  const tls = await connectTls(engineClient, network, openDevice(device), { handshakeTimeoutMs: 10_000 });
  console.log(`client: ${describe(tls.info)}, server verified as serial.example`);
  await send(tls, message); // a TLS 1.3 half-close: the reply still comes
  console.log(`client: received "${await readAll(tls)}"`);
  await tls.closed;
}

const [role, device, certFile, message = "hello over a serial link"] = process.argv.slice(2);
if ((role !== "server" && role !== "client") || !device || !certFile) {
  console.error("usage: serial_link.ts server|client DEVICE CERT [MESSAGE]");
  process.exit(2);
}
(role === "server" ? server(device, certFile) : client(device, certFile, message)).then(
  () => console.log(`${role}: closed with close_notify both ways`),
  (error: unknown) => {
    console.error(`${role}:`, error);
    process.exit(1);
  },
);
