// End-to-end support: a really started coordinator, real agent processes (the CLI), and HTTP calls to both.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
	SHORT_TIMINGS,
	startCoordinator,
	type Coordinator,
	type CoordinatorOptions,
} from "../../scripts/local-coordinator.ts";

export { startCoordinator, type Coordinator };

const ROOT = new URL("../..", import.meta.url).pathname;
const AGENT = join(ROOT, "agent/bin.ts");

/** Short timings so a silent death takes seconds (scripts/local-coordinator.ts, shared with the bench). */
export const E2E_VARS: Record<string, string> = { ...SHORT_TIMINGS };

export function coordinator(o: CoordinatorOptions = {}): Promise<Coordinator> {
	return startCoordinator({ ...o, vars: { ...E2E_VARS, ...o.vars } });
}

export async function api<T = Record<string, unknown>>(
	c: Coordinator,
	path: string,
	o: { method?: string; body?: unknown; auth?: string } = {},
): Promise<{ status: number; body: T }> {
	const headers: Record<string, string> = {};
	if (o.auth) headers.authorization = `Bearer ${o.auth}`;
	if (o.body !== undefined) headers["content-type"] = "application/json";
	const res = await fetch(`${c.url}${path}`, {
		method: o.method ?? (o.body !== undefined ? "POST" : "GET"),
		headers,
		body: o.body === undefined ? undefined : JSON.stringify(o.body),
	});
	const text = await res.text();
	return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function newAccount(c: Coordinator, name = "operator"): Promise<string> {
	const { status, body } = await api<{ api_key: string }>(c, "/v1/accounts", { body: { name } });
	if (status !== 201) throw new Error(`sign-up failed: ${status}`);
	return body.api_key;
}

/** Runs an agent command to completion (init, register, status). */
export function agentCommand(config: string, args: string[]): { code: number; stdout: string; stderr: string } {
	const r = spawnSync(process.execPath, [AGENT, ...args, "--config", config], { encoding: "utf8", cwd: ROOT });
	return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface AgentEvent {
	event: string;
	[k: string]: unknown;
}

/** A running `pulsegrid-agent run --json` process and the events it printed. */
export class RunningAgent {
	readonly events: AgentEvent[] = [];
	readonly process: ChildProcess;
	readonly exited: Promise<number | null>;
	private waiters: { pred: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }[] = [];

	constructor(
		readonly config: string,
		readonly nodeId: string,
		/** Extra `run` flags; by default the agent measures no bandwidth (a test agent would upload ~100 MB each). */
		runFlags: string[] = ["--no-bandwidth"],
	) {
		this.process = spawn(process.execPath, [AGENT, "run", "--json", ...runFlags, "--config", config], {
			cwd: ROOT,
			stdio: ["ignore", "pipe", "pipe"],
		});
		let buffer = "";
		this.process.stdout?.on("data", (chunk: Buffer) => {
			buffer += chunk.toString("utf8");
			for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
				const line = buffer.slice(0, i).trim();
				buffer = buffer.slice(i + 1);
				if (line.startsWith("{")) this.push(JSON.parse(line) as AgentEvent);
			}
		});
		this.exited = new Promise((resolve) => this.process.once("exit", (code) => resolve(code)));
	}

	private push(e: AgentEvent): void {
		this.events.push(e);
		for (const w of this.waiters.filter((w) => w.pred(e))) {
			this.waiters.splice(this.waiters.indexOf(w), 1);
			w.resolve(e);
		}
	}

	/** The `n`-th event named `event` (1-based), waiting for it if need be. */
	waitFor(event: string, n = 1, timeoutMs = 60_000): Promise<AgentEvent> {
		const seen = this.events.filter((e) => e.event === event);
		if (seen.length >= n) return Promise.resolve(seen[n - 1] as AgentEvent);
		let count = seen.length;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(
				() =>
					reject(
						new Error(
							`agent ${this.nodeId}: no '${event}' #${n} within ${timeoutMs} ms; ` +
								`events: ${JSON.stringify(this.events.slice(-10))}`,
						),
					),
				timeoutMs,
			);
			this.waiters.push({
				pred: (e) => e.event === event && ++count >= n,
				resolve: (e) => {
					clearTimeout(timer);
					resolve(e);
				},
			});
		});
	}

	signal(sig: NodeJS.Signals): void {
		this.process.kill(sig);
	}
}

/** init + register + run, as a new operator would; returns the running agent. */
export async function startAgent(
	c: Coordinator,
	apiKey: string,
	name: string,
	runFlags?: string[],
): Promise<RunningAgent> {
	const config = join(mkdtempSync(join(tmpdir(), "pulsegrid-agent-")), "agent.json");
	const init = agentCommand(config, ["init", "--coordinator", c.url]);
	if (init.code !== 0) throw new Error(`agent init failed: ${init.stderr}`);
	const reg = agentCommand(config, [
		"register",
		"--api-key",
		apiKey,
		"--name",
		name,
		"--gpu-model",
		"RTX 4090",
		"--gpu-count",
		"1",
		"--vram-gb",
		"24",
		"--cpu-cores",
		"8",
		"--ram-gb",
		"32",
		"--json",
	]);
	if (reg.code !== 0) throw new Error(`agent register failed: ${reg.stderr}`);
	const nodeId = /node_[A-Za-z0-9_-]+/.exec(reg.stdout)?.[0];
	if (!nodeId) throw new Error(`no node id in register output: ${reg.stdout}`);
	return new RunningAgent(config, nodeId, runFlags);
}

export interface NodeView {
	id: string;
	status: string;
	last_seen_at: string | null;
	uptime_24h: number;
}
export interface FlipView {
	from: string;
	to: string;
	reason: string;
	at: string;
	incident_id: string | null;
}

export async function nodeStatus(c: Coordinator, id: string): Promise<string> {
	return (await api<{ node: NodeView }>(c, `/v1/nodes/${id}`)).body.node.status;
}

export async function flips(c: Coordinator, id: string): Promise<FlipView[]> {
	return (await api<{ flips: FlipView[] }>(c, `/v1/nodes/${id}/flips`)).body.flips;
}

/** Polls until `check` holds; bounded, so a broken coordinator fails the test instead of hanging it. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return;
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error(`timed out waiting for: ${what}`);
}
