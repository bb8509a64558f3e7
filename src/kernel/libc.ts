// The few libc entry points ltsh needs (syscall, mmap, epoll, eventfd, malloc) bound with
// koffi, plus native scratch memory: the kernel reads attr pointers, so they must not move.

import koffi from "koffi";

/** x86_64 syscall numbers (asm/unistd_64.h). */
export const SYS = { close: 3, ioctl: 16, perf_event_open: 298, bpf: 321 } as const;

type Fn<A extends unknown[], R> = (...args: A) => R;
type Num = number | bigint;

/** The libc functions, bound on first use so importing this module never touches libc. */
function bind() {
  if (process.arch !== "x64" || process.platform !== "linux") {
    // The syscall numbers and the struct layouts in bpf.ts/perf.ts are x86_64 Linux ones.
    throw new Error(
      `live tracing supports x86_64 Linux only (this is ${process.platform}/${process.arch})`,
    );
  }
  const libc = koffi.load("libc.so.6");
  return {
    // glibc's syscall() is variadic, but on x86_64 integer arguments travel in the same
    // registers either way; fixed arities let koffi call it directly.
    syscall4: libc.func("long syscall(long nr, long a1, long a2, long a3)") as Fn<
      [number, Num, Num, Num],
      number
    >,
    syscall6: libc.func("long syscall(long nr, long a1, long a2, long a3, long a4, long a5)") as Fn<
      [number, Num, Num, Num, Num, Num],
      number
    >,
    mmap: libc.func(
      "void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)",
    ) as Fn<[null, number, number, number, number, number], bigint>,
    munmap: libc.func("int munmap(void *addr, size_t length)") as Fn<[bigint, number], number>,
    malloc: libc.func("void *malloc(size_t size)") as Fn<[number], bigint | null>,
    free: libc.func("void free(void *ptr)") as Fn<[bigint], void>,
    epollCreate1: libc.func("int epoll_create1(int flags)") as Fn<[number], number>,
    epollCtl: libc.func("int epoll_ctl(int epfd, int op, int fd, void *event)") as Fn<
      [number, number, number, bigint],
      number
    >,
    /** Called with .async on a worker thread so the event loop stays free while it blocks. */
    epollWait: libc.func("int epoll_wait(int epfd, void *events, int maxevents, int timeout)"),
    eventfd: libc.func("int eventfd(unsigned int initval, int flags)") as Fn<
      [number, number],
      number
    >,
    write: libc.func("long write(int fd, void *buf, size_t count)") as Fn<
      [number, bigint, number],
      number
    >,
    /** close(2), for .async: detaching a tracepoint program waits for an RCU grace period. */
    close: libc.func("int close(int fd)"),
    getpagesize: libc.func("int getpagesize(void)") as Fn<[], number>,
    setrlimit: libc.func("int setrlimit(int resource, void *rlim)") as Fn<[number, bigint], number>,
    getrlimit: libc.func("int getrlimit(int resource, void *rlim)") as Fn<[number, bigint], number>,
    strerror: libc.func("const char *strerror(int errnum)") as Fn<[number], string>,
  };
}

let bound: ReturnType<typeof bind> | null = null;

export function native(): ReturnType<typeof bind> {
  bound ??= bind();
  return bound;
}

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
/** (void *)-1 */
export const MAP_FAILED = 0xffffffffffffffffn;
export const EPOLL_CLOEXEC = 0x80000;
export const EPOLL_CTL_ADD = 1;
export const EPOLLIN = 1;
export const EPOLL_EVENT_SIZE = 12; // struct epoll_event is packed on x86_64
/** EFD_CLOEXEC | EFD_NONBLOCK */
export const EFD_CLOEXEC_NONBLOCK = 0x80800;

/** Raw syscall returning the result, or -errno on failure (so callers need no global state). */
export function sys(nr: number, a1: number | bigint, a2: number | bigint, a3: number | bigint) {
  const r = native().syscall4(nr, a1, a2, a3);
  return r < 0 ? -koffi.errno() : r;
}

export function sys5(
  nr: number,
  a1: number | bigint,
  a2: number | bigint,
  a3: number | bigint,
  a4: number | bigint,
  a5: number | bigint,
) {
  const r = native().syscall6(nr, a1, a2, a3, a4, a5);
  return r < 0 ? -koffi.errno() : r;
}

export function lastErrno(): number {
  return koffi.errno();
}

export function errnoMessage(errno: number): string {
  return native().strerror(errno);
}

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(koffi.os.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

export function closeRaw(fd: number): number {
  return sys(SYS.close, fd, 0, 0);
}

/** close(2) on a koffi worker thread; resolves with 0 or -errno. */
export function closeOnWorker(fd: number): Promise<number> {
  return new Promise((resolve) => {
    native().close.async(fd, (err: unknown, r: number) => {
      resolve(err ? -22 : r < 0 ? -lastErrno() : r);
    });
  });
}

const RLIMIT_MEMLOCK = 8;

/** Whether a kernel release (`uname -r`: "6.1.0-57-amd64") is `major`.`minor` or later. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const [a, b] = release.split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

/**
 * Before Linux 5.11, BPF maps and programs were charged to RLIMIT_MEMLOCK (64 KiB by
 * default), and going over it was an EPERM that looked like a missing privilege. Raise it
 * as libbpf does; newer kernels charge memory cgroups instead and need nothing.
 */
export function raiseMemlockLimit(release: string): void {
  if (kernelAtLeast(release, 5, 11)) return;
  const rlim = NativeMemory.alloc(16);
  try {
    rlim.view.setBigUint64(0, 0xffffffffffffffffn, true); // RLIM_INFINITY
    rlim.view.setBigUint64(8, 0xffffffffffffffffn, true);
    if (native().setrlimit(RLIMIT_MEMLOCK, rlim.ptr) === 0) return;
    // Without CAP_SYS_RESOURCE only the soft limit may rise, up to the hard one.
    if (native().getrlimit(RLIMIT_MEMLOCK, rlim.ptr) !== 0) return;
    rlim.view.setBigUint64(0, rlim.view.getBigUint64(8, true), true);
    native().setrlimit(RLIMIT_MEMLOCK, rlim.ptr);
  } finally {
    rlim.free();
  }
}

/** Wakes a thread blocked in epoll_wait on an eventfd. */
export function eventfdSignal(fd: number): void {
  const one = NativeMemory.alloc(8);
  one.view.setBigUint64(0, 1n, true);
  native().write(fd, one.ptr, 8);
  one.free();
}

/** Memory outside the JS heap, with a DataView over it (koffi.view: no copy). */
export class NativeMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private constructor(
    readonly ptr: bigint,
    readonly size: number,
  ) {
    const ab = koffi.view(ptr, size);
    this.bytes = new Uint8Array(ab);
    this.view = new DataView(ab);
  }

  static alloc(size: number): NativeMemory {
    const ptr = native().malloc(Math.max(size, 8));
    if (ptr === null || ptr === 0n) throw new Error(`out of memory allocating ${size} bytes`);
    const mem = new NativeMemory(ptr, Math.max(size, 8));
    mem.bytes.fill(0);
    return mem;
  }

  free(): void {
    native().free(this.ptr);
  }
}

/** A view over a foreign mapping such as an mmapped ring buffer (no copy). */
export function viewOf(ptr: bigint, size: number): ArrayBuffer {
  return koffi.view(ptr, size);
}
