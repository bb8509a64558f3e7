// The jack demo's intruder: run by `taskset -c CPU node busy-rt.mjs PRIO BUSY_MS EVERY_MS`, it
// names itself rt-intruder, takes SCHED_FIFO PRIO, then spins BUSY_MS out of every EVERY_MS (a
// real-time thread that hogs its CPU in bursts; spinning for ever would starve the CPU and
// trip the kernel's RT throttling instead). Node's start-up runs before the priority is
// taken: it is not the fault, and a trace then names the fault by its own name only.
import koffi from "koffi";
import { nameThread } from "./thread-name.mjs";

const [priority, busyMs, everyMs] = process.argv.slice(2).map(Number);
nameThread("rt-intruder");
const libc = koffi.load("libc.so.6");
const setScheduler = libc.func("int sched_setscheduler(int pid, int policy, int *param)");
const SCHED_FIFO = 1;
if (setScheduler(0, SCHED_FIFO, [priority]) !== 0) {
  console.error(`busy-rt: sched_setscheduler(SCHED_FIFO ${priority}) failed`);
  process.exit(1);
}
const pause = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  // Sleep first: the scheduler's next switch-in of this thread, which names the task in a
  // trace, comes after the rename (a task renamed while it runs keeps its old name there).
  Atomics.wait(pause, 0, 0, everyMs - busyMs);
  const until = performance.now() + busyMs;
  while (performance.now() < until) {
    // spin: the CPU is taken for the whole burst
  }
}
