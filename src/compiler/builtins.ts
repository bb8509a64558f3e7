// The builtins: values read from the context of the CPU that fires the probe (not from the
// event's fields). One entry per builtin; `$name` always means the builtin.

import type { BuiltinName, ValueType } from "./plan.ts";

export interface Builtin {
  name: BuiltinName;
  type: ValueType;
  doc: string;
}

export const BUILTINS: Record<BuiltinName, Builtin> = {
  tid: {
    name: "tid",
    type: { kind: "int", size: 4, signed: true },
    doc: "the current task's thread id",
  },
  pid: {
    name: "pid",
    type: { kind: "int", size: 4, signed: true },
    doc: "the current task's process id",
  },
  comm: {
    name: "comm",
    type: { kind: "string", size: 16 },
    doc: "the current task's command name",
  },
  cpu: {
    name: "cpu",
    type: { kind: "int", size: 4, signed: false },
    doc: "the CPU the event fired on",
  },
  uid: {
    name: "uid",
    type: { kind: "int", size: 4, signed: false },
    doc: "the current task's user id",
  },
  cgroup: {
    name: "cgroup",
    type: { kind: "int", size: 8, signed: false },
    doc: "the current task's cgroup v2 id",
  },
};

export function findBuiltin(name: string): Builtin | undefined {
  return Object.hasOwn(BUILTINS, name) ? BUILTINS[name as BuiltinName] : undefined;
}
