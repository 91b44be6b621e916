// What /proc says about a process: resident memory, CPU time and its TCP connections to a port.
// Linux only, like the bed. Parsers are pure and take the file text.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** VmRSS of /proc/<pid>/status, in MiB. */
export function parseRssMiB(status: string): number {
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error('no VmRSS in /proc/<pid>/status');
  return Number(kb) / 1024;
}

/** utime + stime of /proc/<pid>/stat, in clock ticks (the comm field may hold spaces). */
export function parseCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** Socket inodes of /proc/net/tcp{,6} lines ESTABLISHED to `port` on the remote side. */
export function establishedTo(tcpTable: string, port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const line of tcpTable.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    // f[2] remote address:port, f[3] state (01 = ESTABLISHED), f[9] inode
    if (f[2]?.endsWith(`:${hexPort}`) && f[3] === '01') inodes.add(f[9] as string);
  }
  return inodes;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export const rssMiB = (pid: number) => parseRssMiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
export const cpuSeconds = (pid: number) =>
  parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / TICKS_PER_SECOND;

/** How many TCP connections `pid` holds open to `port` (the apiserver's, MLflow's). */
export function connectionsTo(pid: number, port: number): number {
  const remote = new Set<string>();
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    try {
      for (const inode of establishedTo(readFileSync(table, 'utf8'), port)) remote.add(inode);
    } catch {
      // no IPv6 table
    }
  }
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && remote.has(m[1] as string)) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}
