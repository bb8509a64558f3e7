// Consumer of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF), following libbpf's protocol: the
// consumer page is mapped read-write, the producer page and the data (mapped twice, so a
// record that wraps is still contiguous) read-only. Woken by epoll: libuv's own (koffi's poll
// handle on the event loop), or epoll_wait on a koffi worker thread where that is missing.

import { KernelError } from "./errors.ts";
import {
  closeRaw,
  EFD_CLOEXEC_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_EVENT_SIZE,
  EPOLLIN,
  eventfdSignal,
  lastErrno,
  MAP_FAILED,
  MAP_SHARED,
  NativeMemory,
  native,
  PROT_READ,
  PROT_WRITE,
  viewOf,
} from "./libc.ts";
import { koffiPoll } from "./readable.ts";

/** Record header: u32 len (with these two flag bits) then u32 page offset. */
const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const HEADER_SIZE = 8;
const WORKER_WAIT_MS = 250;

export class RingBufferReader {
  private readonly pageSize: number;
  private readonly consumerPtr: bigint;
  private readonly producerPtr: bigint;
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  /** 2 × size bytes: the data area seen twice in a row. */
  private readonly data: Uint8Array;
  private readonly dataWords: Int32Array;
  private onRecord: ((data: Uint8Array) => void) | null = null;
  private poll: { close(): void } | null = null;
  private epfd = -1;
  private wakeFd = -1;
  private events: NativeMemory | null = null;
  private waiting: Promise<void> | null = null;
  private closed = false;
  private unmapped = false;
  private draining = false;
  /** Records delivered so far. */
  delivered = 0;

  /**
   * `size` is the map's max_entries: a power of two multiple of the page size.
   * `wake: "worker"` forces the epoll_wait-on-a-worker-thread path (tests cover both).
   */
  constructor(
    private readonly mapFd: number,
    private readonly size: number,
    private readonly options: { wake?: "loop" | "worker" } = {},
  ) {
    const libc = native();
    this.pageSize = libc.getpagesize();
    this.consumerPtr = libc.mmap(null, this.pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, mapFd, 0);
    if (this.consumerPtr === MAP_FAILED) throw mapError("consumer page", mapFd);
    this.producerPtr = libc.mmap(
      null,
      this.pageSize + 2 * size,
      PROT_READ,
      MAP_SHARED,
      mapFd,
      this.pageSize,
    );
    if (this.producerPtr === MAP_FAILED) {
      libc.munmap(this.consumerPtr, this.pageSize);
      throw mapError("producer pages", mapFd);
    }
    this.consumerPos = new BigUint64Array(viewOf(this.consumerPtr, 8));
    this.producerPos = new BigUint64Array(viewOf(this.producerPtr, 8));
    const data = viewOf(this.producerPtr + BigInt(this.pageSize), 2 * size);
    this.data = new Uint8Array(data);
    this.dataWords = new Int32Array(data);
  }

  /**
   * Calls onRecord for each committed record as it arrives. The array is a view into the
   * ring, valid only until onRecord returns: copy (slice) what must be kept.
   */
  start(onRecord: (data: Uint8Array) => void): void {
    if (this.onRecord !== null) throw new Error("RingBufferReader already started");
    this.onRecord = onRecord;
    const poll = koffiPoll();
    if (poll !== undefined && this.options.wake !== "worker") {
      // On the event loop's epoll: no thread hop per wakeup, and no worker held for good.
      this.poll = poll(this.mapFd, { readable: true }, () => this.drain());
    } else {
      this.startWorkerWait();
    }
    this.drain();
  }

  /** epoll_wait(-1) on a koffi worker thread; an eventfd wakes it for close(). */
  private startWorkerWait(): void {
    const libc = native();
    this.epfd = libc.epollCreate1(EPOLL_CLOEXEC);
    this.wakeFd = libc.eventfd(0, EFD_CLOEXEC_NONBLOCK);
    if (this.epfd < 0 || this.wakeFd < 0) throw new KernelError("create epoll", lastErrno());
    this.events = NativeMemory.alloc(EPOLL_EVENT_SIZE * 2);
    for (const fd of [this.mapFd, this.wakeFd]) {
      const ev = NativeMemory.alloc(EPOLL_EVENT_SIZE);
      ev.view.setUint32(0, EPOLLIN, true);
      ev.view.setBigUint64(4, BigInt(fd), true);
      const r = libc.epollCtl(this.epfd, EPOLL_CTL_ADD, fd, ev.ptr);
      ev.free();
      if (r < 0) throw new KernelError(`watch ring buffer fd ${fd}`, lastErrno());
    }
    this.wait();
  }

  private wait(): void {
    const events = this.events!;
    this.waiting = new Promise((resolve) => {
      // A bounded wait: Node joins its worker threads at exit, and one blocked for good on an
      // idle ring (a reader never closed) would hang the process.
      native().epollWait.async(this.epfd, events.ptr, 2, WORKER_WAIT_MS, (err: unknown) => {
        resolve();
        if (this.closed) return;
        if (err) throw err;
        this.drain();
        this.wait();
      });
    });
  }

  /** Consumes every committed record now; returns how many were delivered. */
  drain(): number {
    const deliver = this.onRecord;
    // Before start() there is nobody to hand records to: leave them in the ring. A drain()
    // from inside onRecord would deliver the current record again: the outer loop goes on.
    if (this.unmapped || deliver === null || this.draining) return 0;
    this.draining = true;
    try {
      return this.consume(deliver);
    } finally {
      this.draining = false;
    }
  }

  private consume(deliver: (data: Uint8Array) => void): number {
    let consumed = 0;
    let cons = Number(Atomics.load(this.consumerPos, 0));
    for (;;) {
      const prod = Number(Atomics.load(this.producerPos, 0));
      if (cons >= prod) break;
      let progressed = false;
      while (cons < prod) {
        const off = cons % this.size;
        const header = Atomics.load(this.dataWords, off >> 2) >>> 0;
        if (header & BUSY_BIT) break; // reserved but not yet committed: stop here
        const len = header & ~(BUSY_BIT | DISCARD_BIT);
        const next = cons + ((len + HEADER_SIZE + 7) & ~7);
        try {
          if ((header & DISCARD_BIT) === 0) {
            deliver(this.data.subarray(off + HEADER_SIZE, off + HEADER_SIZE + len));
            consumed++;
          }
        } finally {
          cons = next;
          progressed = true;
          // Store-release: the producer may reuse the space once it sees this.
          Atomics.store(this.consumerPos, 0, BigInt(cons));
        }
      }
      if (!progressed) break;
    }
    this.delivered += consumed;
    return consumed;
  }

  /** Stops waiting, delivers what is left, and unmaps the ring (the map fd stays open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.poll?.close();
    if (this.waiting !== null) {
      eventfdSignal(this.wakeFd);
      await this.waiting;
    }
    // Called from inside onRecord: let the running drain unwind before the ring goes away.
    while (this.draining) await new Promise((resolve) => setImmediate(resolve));
    this.drain();
    this.unmapped = true;
    const libc = native();
    libc.munmap(this.consumerPtr, this.pageSize);
    libc.munmap(this.producerPtr, this.pageSize + 2 * this.size);
    if (this.epfd >= 0) closeRaw(this.epfd);
    if (this.wakeFd >= 0) closeRaw(this.wakeFd);
    this.events?.free();
  }
}

function mapError(what: string, fd: number): KernelError {
  return new KernelError(`mmap ring buffer ${what} of map fd ${fd}`, lastErrno());
}
