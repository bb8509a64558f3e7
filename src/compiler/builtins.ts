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
    doc: "thread id of the current task",
  },
  pid: {
    name: "pid",
    type: { kind: "int", size: 4, signed: true },
    doc: "process id (thread group id) of the current task",
  },
  comm: {
    name: "comm",
    type: { kind: "string", size: 16 },
    doc: "command name of the current task",
  },
  cpu: {
    name: "cpu",
    type: { kind: "int", size: 4, signed: false },
    doc: "CPU the event fired on",
  },
  uid: {
    name: "uid",
    type: { kind: "int", size: 4, signed: false },
    doc: "user id of the current task",
  },
  cgroup: {
    name: "cgroup",
    type: { kind: "int", size: 8, signed: false },
    doc: "cgroup v2 id of the current task",
  },
};

export function findBuiltin(name: string): Builtin | undefined {
  return Object.hasOwn(BUILTINS, name) ? BUILTINS[name as BuiltinName] : undefined;
}
