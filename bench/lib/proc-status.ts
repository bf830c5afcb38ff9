/**
 * A child process's memory and CPU time from `/proc` (Linux): VmRSS (the resident set now) and
 * VmHWM (its peak) from `/proc/<pid>/status`, user plus system time from `/proc/<pid>/stat`.
 */
import { readFile } from 'node:fs/promises';

/** Resident memory of a process, in bytes. */
export interface ProcMemory {
  rssBytes: number;
  /** The peak resident set so far. */
  hwmBytes: number;
}

export const MB = 1024 * 1024;

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ; 100 on Linux x86 and arm64). */
const USER_HZ = 100;

/** Reads VmRSS and VmHWM (reported in kB) from the text of `/proc/<pid>/status`. */
export function parseProcStatus(text: string): ProcMemory {
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, 'm').exec(text);
    if (m?.[1] === undefined) throw new Error(`/proc status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

/**
 * User plus system CPU time, in ms, from the text of `/proc/<pid>/stat` (fields 14 and 15, counted
 * after the command name, which is in parentheses and may hold spaces).
 */
export function parseProcStatCpuMs(text: string): number {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unreadable /proc stat');
  return ((utime + stime) * 1000) / USER_HZ;
}

export async function readProcMemory(pid: number): Promise<ProcMemory> {
  return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
}

export async function readProcCpuMs(pid: number): Promise<number> {
  return parseProcStatCpuMs(await readFile(`/proc/${pid}/stat`, 'utf8'));
}
