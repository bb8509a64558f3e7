// Child process for the user-space probe cleanup tests: loads a program named argv[2],
// attaches it to the workload's semaphore-guarded USDT probe (argv[3]: path, argv[4]: file
// offset, argv[5]: semaphore offset), defines a uprobe_events entry on the same probe,
// prints "ready", then waits to be signalled.

import { assemble, encode } from "../../src/compiler/bpf/asm.ts";
import { exit, Mov, R0 } from "../../src/compiler/bpf/insn.ts";
import { BpfProgType, closeFd, loadProgram } from "../../src/kernel/bpf.ts";
import { onCleanup } from "../../src/kernel/cleanup.ts";
import { attachUprobe } from "../../src/kernel/uprobe.ts";
import { UprobeEvents } from "../../src/kernel/uprobe-events.ts";

const [name, path, fileOffset, refCtrOffset] = process.argv.slice(2);
const target = { path, fileOffset: Number(fileOffset), refCtrOffset: Number(refCtrOffset) };
const fd = loadProgram({
  name,
  type: BpfProgType.KPROBE,
  insns: encode(assemble([Mov.imm(R0, 0), exit()])),
  license: "GPL",
});
const link = attachUprobe(fd, target);
UprobeEvents.create([{ name: "hold", ...target }]);
onCleanup(() => {
  link.close();
  closeFd(fd);
});
process.stdout.write("ready\n");
setInterval(() => {}, 1000);
