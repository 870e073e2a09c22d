// Reads Linux /proc: a process tree, its CPU time, its open file descriptors, its listening TCP ports, machine CPU.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { spawnSync } from "node:child_process";

export interface ProcInfo {
	pid: number;
	ppid: number;
	comm: string;
	/** utime + stime, in milliseconds. */
	cpuMs: number;
}

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on every mainstream Linux). */
export const CLK_TCK = (() => {
	const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
	const n = Number(r.stdout?.trim());
	return Number.isFinite(n) && n > 0 ? n : 100;
})();

function readStat(pid: number): ProcInfo | null {
	let text: string;
	try {
		text = readFileSync(`/proc/${pid}/stat`, "utf8");
	} catch {
		return null; // exited
	}
	// comm is in parentheses and may hold spaces: split after the last ')'.
	const close = text.lastIndexOf(")");
	const comm = text.slice(text.indexOf("(") + 1, close);
	const f = text.slice(close + 2).split(" ");
	// After comm: state(0) ppid(1) … utime(11) stime(12).
	const ticks = Number(f[11]) + Number(f[12]);
	return { pid, ppid: Number(f[1]), comm, cpuMs: (ticks * 1000) / CLK_TCK };
}

/** The process and all its live descendants. */
export function processTree(rootPid: number): ProcInfo[] {
	const all: ProcInfo[] = [];
	for (const name of readdirSync("/proc")) {
		if (!/^\d+$/.test(name)) continue;
		const p = readStat(Number(name));
		if (p) all.push(p);
	}
	const byParent = new Map<number, ProcInfo[]>();
	for (const p of all) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
	const root = all.find((p) => p.pid === rootPid);
	if (!root) return [];
	const out: ProcInfo[] = [];
	const queue = [root];
	for (let i = 0; i < queue.length && i < 10_000; i++) {
		const p = queue[i] as ProcInfo;
		out.push(p);
		queue.push(...(byParent.get(p.pid) ?? []));
	}
	return out;
}

/** Total CPU time (ms) of the tree's live processes. */
export function treeCpuMs(rootPid: number): number {
	return processTree(rootPid).reduce((sum, p) => sum + p.cpuMs, 0);
}

export function fdCount(pid: number): number {
	try {
		return readdirSync(`/proc/${pid}/fd`).length;
	} catch {
		return 0;
	}
}

/** Busy and total CPU time of the whole machine (ms, summed over all cores), from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
	const line = readFileSync("/proc/stat", "utf8").split("\n")[0] as string;
	const v = line.trim().split(/\s+/).slice(1).map(Number);
	const total = v.reduce((a, b) => a + b, 0);
	const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
	return { busy: ((total - idle) * 1000) / CLK_TCK, total: (total * 1000) / CLK_TCK };
}

export function loadAverage(): number[] {
	return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}

/** TCP ports the process listens on (IPv4 and IPv6), found by matching its socket inodes in /proc/<pid>/net/tcp*. */
export function listeningPorts(pid: number): number[] {
	const inodes = new Set<string>();
	try {
		for (const fd of readdirSync(`/proc/${pid}/fd`)) {
			try {
				const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
				if (m) inodes.add(m[1] as string);
			} catch {
				/* fd closed meanwhile */
			}
		}
	} catch {
		return [];
	}
	const ports = new Set<number>();
	for (const file of ["tcp", "tcp6"]) {
		let text = "";
		try {
			text = readFileSync(`/proc/${pid}/net/${file}`, "utf8");
		} catch {
			continue;
		}
		for (const row of text.split("\n").slice(1)) {
			const c = row.trim().split(/\s+/);
			// local_address(1) st(3) … inode(9); st 0A = LISTEN.
			if (c.length < 10 || c[3] !== "0A" || !inodes.has(c[9] as string)) continue;
			ports.add(parseInt((c[1] as string).split(":")[1] as string, 16));
		}
	}
	return [...ports];
}

/** The process's soft limit on open descriptors, from /proc/<pid>/limits (null when unreadable or unlimited). */
export function fdLimit(pid: number): number | null {
	try {
		const line = readFileSync(`/proc/${pid}/limits`, "utf8")
			.split("\n")
			.find((l) => l.startsWith("Max open files"));
		const soft = Number(line?.trim().split(/\s+/)[3]);
		return Number.isFinite(soft) ? soft : null;
	} catch {
		return null;
	}
}
