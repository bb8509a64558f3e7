// Names the calling thread (its comm, what traces and the :show timeline print), so that a
// demo's fault is recognisable on screen: `rt-intruder`, not Node's `MainThread`. Unlike
// process.title this leaves /proc/PID/cmdline alone (the demo tests find workloads by it).
import koffi from "koffi";

export function nameThread(name) {
  const libc = koffi.load("libc.so.6");
  const self = libc.func("unsigned long pthread_self(void)");
  const setName = libc.func("int pthread_setname_np(unsigned long thread, const char *name)");
  if (setName(self(), name.slice(0, 15)) !== 0) console.error(`could not name the thread ${name}`);
}
