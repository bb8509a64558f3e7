// The memcached demos' client: `node mc-client.mjs PORT RATE KEY_LENGTH` sends one `get` at a
// time on one connection, RATE per second (a steady stream of small requests), and never
// queues more than one: a slow answer delays the next request, as a real client would see.
import { connect } from "node:net";

const [port, rate, keyLength] = process.argv.slice(2).map(Number);
const request = `get ${"k".repeat(keyLength)}\r\n`;
const gap = 1000 / rate;
const socket = connect(port, "127.0.0.1");
socket.setNoDelay(true);
let next = performance.now();
let reply = "";
function send() {
  next += gap;
  socket.write(request);
}
socket.on("connect", send);
socket.on("data", (data) => {
  reply += data.toString("latin1");
  if (!reply.endsWith("END\r\n")) return;
  reply = "";
  next = Math.max(next, performance.now() - gap);
  setTimeout(send, Math.max(0, next - performance.now()));
});
socket.on("error", () => process.exit(1));
