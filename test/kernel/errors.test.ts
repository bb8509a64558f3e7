// Parts of the kernel layer that need no privileges: CPU lists, error messages, the
// memlock limit of kernels before 5.11.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { countCpuList } from "../../src/kernel/bpf.ts";
import {
  EACCES,
  ENOMEM,
  EPERM,
  KernelError,
  permissionHint,
  VerifierError,
} from "../../src/kernel/errors.ts";
import { NativeMemory, native, raiseMemlockLimit } from "../../src/kernel/libc.ts";

test("possible CPU lists count ranges and single CPUs", () => {
  assert.is(countCpuList("0-1\n"), 2);
  assert.is(countCpuList("0"), 1);
  assert.is(countCpuList("0-3,8,10-11"), 7);
});

test("EPERM and EACCES carry the one-line permission fix; other errors do not", () => {
  for (const errno of [EPERM, EACCES]) {
    const e = new KernelError("create map ltsh_pending", errno, permissionHint(errno));
    assert.ok(e.isUserFacing);
    assert.match(e.message, /^create map ltsh_pending: .*; not permitted: run as root \(sudo\)/);
    assert.match(e.message, /--replay/);
    assert.not.match(e.message, /\n/);
  }
  const other = new KernelError("lookup in map fd 5", ENOMEM, permissionHint(ENOMEM));
  assert.not.ok(other.isUserFacing);
  assert.match(other.message, /\(ENOMEM\)$/);
});

test("a verifier error names the program and summarises the log's last lines", () => {
  const log = "0: (95) exit\nR0 !read_ok\nprocessed 1 insns (limit 1000000)\n";
  const e = new VerifierError("ltsh_wakeup_b0", EACCES, log);
  assert.match(e.message, /ltsh_wakeup_b0/);
  assert.is(e.summary(2), "R0 !read_ok\nprocessed 1 insns (limit 1000000)");
});

/** [soft, hard] RLIMIT_MEMLOCK, read or (with soft) set through libc. */
function memlock(soft?: bigint): [bigint, bigint] {
  const rlim = NativeMemory.alloc(16);
  try {
    native().getrlimit(8, rlim.ptr);
    if (soft !== undefined) {
      rlim.view.setBigUint64(0, soft, true);
      native().setrlimit(8, rlim.ptr);
    }
    return [rlim.view.getBigUint64(0, true), rlim.view.getBigUint64(8, true)];
  } finally {
    rlim.free();
  }
}

test("before Linux 5.11 the memlock limit is raised (to the hard limit without privileges)", () => {
  const [soft] = memlock();
  try {
    memlock(65536n);
    raiseMemlockLimit("6.18.44");
    assert.is(memlock()[0], 65536n, "memory cgroups charge BPF on new kernels: left alone");
    raiseMemlockLimit("5.10.0");
    const [raised, hard] = memlock();
    assert.is(raised, hard, "soft limit up to the hard one (both infinite with CAP_SYS_RESOURCE)");
  } finally {
    memlock(soft);
  }
});

test.run();
