// Readiness of kernel files on Node's own event loop: koffi's poll handle puts a descriptor in
// libuv's epoll, so a BPF ring buffer or an ltsh module's device wakes the reader at once,
// with no polling timer and no thread.

import koffi from "koffi";
import {
  closeRaw,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_EVENT_SIZE,
  EPOLLIN,
  NativeMemory,
  native,
} from "./libc.ts";

/** koffi.node.poll: a libuv poll handle; the callback gets (status, events). */
export type KoffiPoll = (
  fd: number,
  opts: { readable: boolean },
  cb: () => void,
) => { close(): void };

/** koffi's poll handle, where this koffi has one. */
export function koffiPoll(): KoffiPoll | undefined {
  return (koffi as { node?: { poll?: KoffiPoll } }).node?.poll;
}

/**
 * Calls onReadable whenever the device open as `fd` has data, until close(). Null when it
 * cannot be watched: no poll handle in this koffi, or a file epoll refuses (a regular file,
 * a device without poll(2)), which is tried on an epoll of our own first: koffi aborts the
 * process on that refusal.
 */
export function watchDevice(fd: number, onReadable: () => void): { close(): void } | null {
  const poll = koffiPoll();
  if (poll === undefined || !epollAccepts(fd)) return null;
  return poll(fd, { readable: true }, onReadable);
}

function epollAccepts(fd: number): boolean {
  const libc = native();
  const epfd = libc.epollCreate1(EPOLL_CLOEXEC);
  if (epfd < 0) return false;
  const event = NativeMemory.alloc(EPOLL_EVENT_SIZE);
  event.view.setUint32(0, EPOLLIN, true);
  const accepted = libc.epollCtl(epfd, EPOLL_CTL_ADD, fd, event.ptr) === 0;
  event.free();
  closeRaw(epfd);
  return accepted;
}
