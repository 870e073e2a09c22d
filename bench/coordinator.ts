// Starts the real coordinator for the bench (scripts/local-coordinator.ts) and finds its inner workerd entry, past wrangler's proxy.
import { startCoordinator, type Coordinator } from "../scripts/local-coordinator.ts";
import { fdCount, listeningPorts, processTree, treeCpuMs } from "./proc.ts";

/**
 * `wrangler dev` runs two workerd processes: a ProxyWorker on the public port, which forwards every
 * request (and every WebSocket, holding two sockets for each) to the user worker's own Miniflare entry
 * on a random loopback port. With 10,000 WebSockets the proxy alone would need ~20,000 descriptors,
 * the per-process limit here. So the bench talks to the inner entry directly: the same worker bundle,
 * wrangler.toml, bindings and local D1/DO state, minus the dev-proxy hop (`--via-proxy` keeps the hop).
 */
export interface BenchCoordinator {
	coordinator: Coordinator;
	/** Where the bench sends requests: the inner entry (default) or wrangler's public port. */
	url: string;
	publicUrl: string;
	viaProxy: boolean;
	/** The workerd that runs the worker and its Durable Objects, and the proxy's workerd. */
	userWorkerdPid: number;
	proxyWorkerdPid: number | null;
	rootPid: number;
	cpuMs(): number;
	fds(): { user: number; proxy: number | null; tree: number };
	stop(): Promise<void>;
}

async function isOurEntry(port: number): Promise<boolean> {
	try {
		const res = await fetch(`http://127.0.0.1:${port}/openapi.json`, { signal: AbortSignal.timeout(3000) });
		if (!res.ok) return false;
		const doc = (await res.json()) as { openapi?: unknown; info?: { title?: unknown } };
		return typeof doc.openapi === "string" && doc.info?.title === "pulsegrid coordinator";
	} catch {
		return false;
	}
}

export async function startBenchCoordinator(opts: { viaProxy: boolean; logFile?: string }): Promise<BenchCoordinator> {
	const coordinator = await startCoordinator(opts.logFile ? { logFile: opts.logFile } : {});
	const rootPid = coordinator.process.pid as number;
	try {
		const workerds = processTree(rootPid).filter((p) => p.comm === "workerd");
		let user: { pid: number; port: number } | null = null;
		let proxyPid: number | null = null;
		for (const w of workerds) {
			const ports = listeningPorts(w.pid);
			if (ports.includes(coordinator.port)) {
				proxyPid = w.pid;
				continue;
			}
			for (const port of ports) {
				if (await isOurEntry(port)) user = { pid: w.pid, port };
			}
		}
		if (!user) throw new Error(`could not find the user worker's workerd entry among ${workerds.length} workerd processes`);
		const url = opts.viaProxy ? coordinator.url : `http://127.0.0.1:${user.port}`;
		const userPid = user.pid;
		return {
			coordinator, url, publicUrl: coordinator.url, viaProxy: opts.viaProxy, userWorkerdPid: userPid, proxyWorkerdPid: proxyPid, rootPid,
			cpuMs: () => treeCpuMs(rootPid),
			fds: () => ({
				user: fdCount(userPid),
				proxy: proxyPid === null ? null : fdCount(proxyPid),
				tree: processTree(rootPid).reduce((s, p) => s + fdCount(p.pid), 0),
			}),
			stop: () => coordinator.stop(),
		};
	} catch (err) {
		await coordinator.stop();
		throw err;
	}
}
