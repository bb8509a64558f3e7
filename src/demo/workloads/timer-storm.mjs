// The memcached-irq demo's fault: `taskset -c CPU node timer-storm.mjs COUNT EVERY_MS` arms
// COUNT timerfds on its CPU to expire at the same instant, every EVERY_MS. Their callbacks
// all run in one local timer interrupt: milliseconds of hard-interrupt work on that CPU, the
// nearest thing to a slow driver's interrupt handler a host that loads no module allows.
import koffi from "koffi";
import { nameThread } from "./thread-name.mjs";

nameThread("timer-storm");

const [count, everyMs] = process.argv.slice(2).map(Number);
const libc = koffi.load("libc.so.6");
const timerfdCreate = libc.func("int timerfd_create(int clockid, int flags)");
// struct itimerspec passed as its 32 bytes: one buffer for all the calls of a round.
const timerfdSettime = libc.func("int timerfd_settime(int fd, int flags, void *value, void *old)");
const CLOCK_MONOTONIC = 1; // process.hrtime() reads the same clock
const TFD_TIMER_ABSTIME = 1;

const leadMs = BigInt(Math.floor(everyMs / 2));
const fds = [];
for (let i = 0; i < count; i++) {
  const fd = timerfdCreate(CLOCK_MONOTONIC, 0);
  if (fd < 0) break; // out of descriptors: fewer timers, a shorter interrupt
  fds.push(fd);
}
const pause = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  // Far enough ahead that every timer is armed before the first one expires.
  const at = process.hrtime.bigint() + 1_000_000n * leadMs;
  const value = Buffer.alloc(32); // it_interval zero: one expiry per arming
  value.writeBigInt64LE(at / 1_000_000_000n, 16);
  value.writeBigInt64LE(at % 1_000_000_000n, 24);
  const started = performance.now();
  for (const fd of fds) timerfdSettime(fd, TFD_TIMER_ABSTIME, value, null);
  if (process.env.LTSH_DEMO_DEBUG)
    console.error(`armed ${fds.length} in ${performance.now() - started} ms`);
  Atomics.wait(pause, 0, 0, everyMs);
}
