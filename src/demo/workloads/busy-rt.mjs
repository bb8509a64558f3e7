// The jack demo's intruder: run by `chrt -f PRIO taskset -c CPU node busy-rt.mjs BUSY_MS EVERY_MS`,
// it spins BUSY_MS out of every EVERY_MS (a real-time thread that hogs its CPU in bursts;
// spinning for ever would starve the CPU and trip the kernel's RT throttling instead).
const [busyMs, everyMs] = process.argv.slice(2).map(Number);
const pause = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  const until = performance.now() + busyMs;
  while (performance.now() < until) {
    // spin: the CPU is taken for the whole burst
  }
  Atomics.wait(pause, 0, 0, everyMs - busyMs);
}
