// Finds the user worker's own entry behind `wrangler dev`'s proxy, whose sockets cost the proxy descriptors (thousands
// of agents need the direct door).
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { Coordinator } from "../../scripts/local-coordinator.ts";

function parentOf(pid: number): number | null {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
	} catch {
		return null;
	}
}

/** The process and all its descendants. */
function tree(root: number): number[] {
	const pids = readdirSync("/proc")
		.filter((n) => /^\d+$/.test(n))
		.map(Number);
	const out = [root];
	for (let i = 0; i < out.length; i++) for (const p of pids) if (parentOf(p) === out[i]) out.push(p);
	return out;
}

/** Loopback ports the given processes listen on (from /proc/net/tcp and their socket descriptors). */
function listeningPorts(pids: number[]): number[] {
	const byInode = new Map<string, number>();
	for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
		const f = line.trim().split(/\s+/);
		if (f[3] === "0A" && f[1]?.startsWith("0100007F:"))
			byInode.set(f[9] as string, parseInt((f[1] as string).split(":")[1] as string, 16));
	}
	const ports = new Set<number>();
	for (const pid of pids) {
		let fds: string[] = [];
		try {
			fds = readdirSync(`/proc/${pid}/fd`);
		} catch {
			/* exited */
		}
		for (const fd of fds) {
			try {
				const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
				const port = inode && byInode.get(inode);
				if (port) ports.add(port);
			} catch {
				/* closed meanwhile */
			}
		}
	}
	return [...ports];
}

/**
 * The URL of the worker's inner entry (same bundle, same storage), or the public URL if none answers like our worker.
 */
export async function innerEntry(c: Coordinator): Promise<string> {
	for (const port of listeningPorts(tree(c.process.pid as number))) {
		if (port === c.port) continue;
		try {
			const res = await fetch(`http://127.0.0.1:${port}/openapi.json`, { signal: AbortSignal.timeout(2000) });
			if (res.ok && ((await res.json()) as { info?: { title?: string } }).info?.title === "pulsegrid coordinator")
				return `http://127.0.0.1:${port}`;
		} catch {
			/* not it */
		}
	}
	return c.url;
}
