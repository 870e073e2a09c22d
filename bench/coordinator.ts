// Starts the real coordinator for the bench from a frozen copy of the code, and finds its inner workerd entry past
// wrangler's proxy.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Coordinator, CoordinatorOptions } from "../scripts/local-coordinator.ts";
import { fdCount, fdLimit, listeningPorts, processTree, treeCpuMs } from "./proc.ts";

export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** What was benchmarked: a commit, and whether uncommitted changes were included. */
export interface CodeSnapshot {
	root: string;
	source: "worktree" | "head";
	commit: string;
	dirtyFiles: string[];
	remove(): void;
}

function git(args: string[]): string {
	const r = spawnSync("git", args, { cwd: REPO, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
	if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
	return r.stdout;
}

/**
 * `wrangler dev` rebuilds and restarts the worker whenever a source file changes, which drops every
 * WebSocket. Others edit this tree while a 20-minute bench runs, so the coordinator runs from a copy:
 * the working tree as it was at start (default) or the committed HEAD (`--head`). node_modules is linked.
 */
export function snapshotCode(source: "worktree" | "head"): CodeSnapshot {
	const commit = git(["rev-parse", "HEAD"]).trim();
	const dirtyFiles = git(["status", "--porcelain", "--untracked-files=all"])
		.split("\n")
		.filter(Boolean)
		.map((l) => l.slice(3));
	const root = mkdtempSync(join(tmpdir(), "pulsegrid-bench-code-"));
	if (source === "head") {
		const tar = spawnSync("sh", ["-c", `git archive HEAD | tar -x -C '${root}'`], { cwd: REPO, encoding: "utf8" });
		if (tar.status !== 0) throw new Error(`git archive failed: ${tar.stderr}`);
	} else {
		for (const file of git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
			.split("\0")
			.filter(Boolean)) {
			if (file.startsWith("node_modules/")) continue;
			mkdirSync(join(root, dirname(file)), { recursive: true });
			try {
				copyFileSync(join(REPO, file), join(root, file));
			} catch {
				/* deleted in the working tree */
			}
		}
	}
	symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
	return {
		root,
		source,
		commit,
		dirtyFiles: source === "head" ? [] : dirtyFiles,
		remove: () => rmSync(root, { recursive: true, force: true }),
	};
}

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
	/**
	 * How many more WebSockets the coordinator can accept before a workerd runs out of descriptors, keeping
	 * `reserve` free. workerd holds every accepted socket twice (accept4, then fcntl F_DUPFD_CLOEXEC: seen with
	 * strace), and the dev proxy holds four per proxied WebSocket; past its limit the worker's workerd dies.
	 */
	socketBudget(reserve: number): number;
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

/**
 * `vars` are only ever where the outside world is and its credentials (the fake Bot API's address, the bot
 * token, the webhook secret): every coordinator setting stays at its wrangler.toml default.
 */
export async function startBenchCoordinator(
	code: CodeSnapshot,
	opts: { viaProxy: boolean; persistDir?: string; vars?: Record<string, string> },
): Promise<BenchCoordinator> {
	const { startCoordinator } = (await import(join(code.root, "scripts/local-coordinator.ts"))) as {
		startCoordinator(o?: CoordinatorOptions): Promise<Coordinator>;
	};
	const coordinator = await startCoordinator({
		...(opts.persistDir ? { persistDir: opts.persistDir } : {}),
		...(opts.vars ? { vars: opts.vars } : {}),
	});
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
		if (!user)
			throw new Error(`could not find the user worker's workerd entry among ${workerds.length} workerd processes`);
		const url = opts.viaProxy ? coordinator.url : `http://127.0.0.1:${user.port}`;
		const userPid = user.pid;
		return {
			coordinator,
			url,
			publicUrl: coordinator.url,
			viaProxy: opts.viaProxy,
			userWorkerdPid: userPid,
			proxyWorkerdPid: proxyPid,
			rootPid,
			cpuMs: () => treeCpuMs(rootPid),
			fds: () => ({
				user: fdCount(userPid),
				proxy: proxyPid === null ? null : fdCount(proxyPid),
				tree: processTree(rootPid).reduce((s, p) => s + fdCount(p.pid), 0),
			}),
			socketBudget: (reserve) => {
				const room = (pid: number, perSocket: number) =>
					Math.floor(((fdLimit(pid) ?? Infinity) - reserve - fdCount(pid)) / perSocket);
				return Math.min(room(userPid, 2), opts.viaProxy && proxyPid !== null ? room(proxyPid, 4) : Infinity);
			},
			stop: () => coordinator.stop(),
		};
	} catch (err) {
		await coordinator.stop();
		throw err;
	}
}

/** The [vars] of the snapshot's wrangler.toml (string values only): the settings the coordinator runs with. */
export function wranglerVars(root: string): Record<string, string> {
	const text = readFileSync(join(root, "wrangler.toml"), "utf8");
	const vars: Record<string, string> = {};
	let inVars = false;
	for (const raw of text.split("\n")) {
		const line = raw.trim();
		if (line.startsWith("[")) inVars = line === "[vars]";
		else if (inVars) {
			const m = /^([A-Z0-9_]+)\s*=\s*"([^"]*)"/.exec(line);
			if (m) vars[m[1] as string] = m[2] as string;
		}
	}
	return vars;
}
