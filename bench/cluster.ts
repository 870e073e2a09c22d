// Cluster benchmark: a 1,000-GPU cluster reserved and every agent told, and a deploy race checked for double bookings.
import WebSocket from "ws";
import { generateIdentity, TokenSigner } from "../agent/identity.ts";
import type { Coordinator } from "../scripts/local-coordinator.ts";

export interface ClusterBenchResult {
	gpus: number;
	nodes: number;
	/** POST /v1/clusters sent → every member's WebSocket received its `assign`. */
	reserve_and_tell_ms: number;
	/** POST sent → the response (reserved, held, messages handed to the shards). */
	response_ms: number;
	/** POST sent → status `running` (every agent answered `ready`). */
	running_ms: number;
	race: { deploys: number; won: number; nodes_booked: number; double_booked: number; over_capacity: boolean };
}

async function call<T>(
	c: Coordinator,
	path: string,
	o: { method?: string; body?: unknown; auth?: string; ip?: string } = {},
): Promise<{ status: number; body: T }> {
	const headers: Record<string, string> = {
		"content-type": "application/json",
		"cf-connecting-ip": o.ip ?? "203.0.113.1",
	};
	if (o.auth) headers.authorization = `Bearer ${o.auth}`;
	const res = await fetch(`${c.url}${path}`, {
		method: o.method ?? (o.body ? "POST" : "GET"),
		headers,
		body: o.body ? JSON.stringify(o.body) : undefined,
	});
	return { status: res.status, body: (await res.json()) as T };
}

async function pool<T>(items: T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
	let i = 0;
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (i < items.length) await fn(items[i++] as T);
		}),
	);
}

interface Sim {
	id: string;
	ws: WebSocket;
	assignedAt: Map<string, number>;
}

/** Registers and connects `nodes` simulated agents (1 GPU each) that answer `assign` with `ready`. */
async function fleet(c: Coordinator, key: string, nodes: number, log: (m: string) => void): Promise<Sim[]> {
	const sims: Sim[] = [];
	await pool(
		Array.from({ length: nodes }, (_, i) => i),
		32,
		async (i) => {
			const identity = generateIdentity();
			const { status, body } = await call<{ node: { id: string } }>(c, "/v1/nodes", {
				auth: key,
				body: {
					name: `sim-${i}`,
					public_key: identity.publicKey,
					hardware: { gpu_model: "RTX 4090", gpu_count: 1, vram_gb: 24, cpu_cores: 16, ram_gb: 64 },
				},
			});
			if (status !== 201) throw new Error(`registration failed: ${status}`);
			const token = await new TokenSigner(identity, body.node.id).mint();
			const ws = new WebSocket(`${c.url.replace("http", "ws")}/v1/nodes/${body.node.id}/connect`, {
				headers: { authorization: `Bearer ${token}` },
			});
			const sim: Sim = { id: body.node.id, ws, assignedAt: new Map() };
			await new Promise<void>((resolve, reject) => {
				ws.on("message", (data) => {
					const text = String(data);
					if (!text.startsWith("{")) return;
					const m = JSON.parse(text) as { type: string; cluster_id?: string };
					if (m.type === "welcome") resolve();
					if (m.type === "assign" && m.cluster_id) {
						sim.assignedAt.set(m.cluster_id, Date.now());
						ws.send(JSON.stringify({ type: "ready", cluster_id: m.cluster_id }));
					}
				});
				ws.on("error", reject);
			});
			// Keepalives from the moment it is connected: registering the rest of the fleet takes longer than OFFLINE_AFTER_S.
			const keepalive = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), 5000);
			keepalive.unref();
			ws.on("close", () => clearInterval(keepalive));
			sims.push(sim);
		},
	);
	log(`cluster: ${sims.length} simulated agents online`);
	return sims;
}

export async function benchCluster(
	c: Coordinator,
	gpus: number,
	log: (m: string) => void,
): Promise<ClusterBenchResult> {
	const operator = (
		await call<{ api_key: string }>(c, "/v1/accounts", { body: { name: "bench operator" }, ip: "203.0.113.2" })
	).body.api_key;
	const sims = await fleet(c, operator, gpus, log);
	const renter = await call<{ api_key: string; account: { id: string } }>(c, "/v1/accounts", {
		body: { name: "bench renter" },
		ip: "203.0.113.3",
	});
	await call(c, "/v1/admin/credits", {
		auth: c.adminToken,
		body: { account_id: renter.body.account.id, amount_cents: 1_000_000_000 },
	});

	// Connected is not yet schedulable: the flips reach the scheduler through the shards' outboxes. Wait for them.
	for (let i = 0; i < 600; i++) {
		const p = await call<{ prices: { gpu_model: string; online_gpus: number; reserved_gpus: number }[] }>(
			c,
			"/v1/prices",
		);
		const rtx = p.body.prices.find((x) => x.gpu_model === "RTX 4090");
		if (rtx && rtx.online_gpus - rtx.reserved_gpus >= gpus) break;
		await new Promise((r) => setTimeout(r, 100));
	}
	log(`cluster: deploying ${gpus} GPUs…`);
	const t0 = Date.now();
	const res = await call<{ cluster: { id: string; nodes: { node_id: string }[] } }>(c, "/v1/clusters", {
		auth: renter.body.api_key,
		body: { gpu_model: "RTX 4090", gpu_count: gpus, hours: 1 },
	});
	const responseMs = Date.now() - t0;
	if (res.status !== 201) throw new Error(`deploy failed: ${res.status} ${JSON.stringify(res.body)}`);
	const id = res.body.cluster.id;
	const members = new Set(res.body.cluster.nodes.map((n) => n.node_id));
	const byId = new Map(sims.map((s) => [s.id, s]));
	for (let i = 0; i < 600 && [...members].some((m) => !byId.get(m)?.assignedAt.has(id)); i++)
		await new Promise((r) => setTimeout(r, 10));
	const told = [...members].map((m) => byId.get(m)?.assignedAt.get(id) ?? Number.NaN);
	const tellMs = Math.max(...told) - t0;
	let runningMs = Number.NaN;
	for (let i = 0; i < 600; i++) {
		const v = await call<{ cluster: { status: string } }>(c, `/v1/clusters/${id}`, { auth: renter.body.api_key });
		if (v.body.cluster.status === "running") {
			runningMs = Date.now() - t0;
			break;
		}
		await new Promise((r) => setTimeout(r, 20));
	}
	log(
		`cluster: ${gpus} GPUs reserved and told in ${tellMs} ms (response ${responseMs} ms, running after ${runningMs} ms)`,
	);
	await call(c, `/v1/clusters/${id}`, { method: "DELETE", auth: renter.body.api_key });

	// The race: 20 deploys at once for overlapping capacity (each asks for 10 % of the pool).
	const each = Math.max(1, Math.floor(gpus / 10));
	const results = await Promise.all(
		Array.from({ length: 20 }, () =>
			call<{ cluster?: { nodes: { node_id: string }[] } }>(c, "/v1/clusters", {
				auth: renter.body.api_key,
				body: { gpu_model: "RTX 4090", gpu_count: each, hours: 1 },
			}),
		),
	);
	const booked = results.flatMap((r) => (r.status === 201 ? (r.body.cluster?.nodes ?? []).map((n) => n.node_id) : []));
	const race = {
		deploys: 20,
		won: results.filter((r) => r.status === 201).length,
		nodes_booked: booked.length,
		double_booked: booked.length - new Set(booked).size,
		over_capacity: booked.length > gpus,
	};
	log(
		`cluster: race — ${race.won}/20 deploys won, ` +
			`${race.nodes_booked} nodes booked, ${race.double_booked} double-booked`,
	);
	for (const s of sims) s.ws.close(1000);
	return {
		gpus,
		nodes: sims.length,
		reserve_and_tell_ms: tellMs,
		response_ms: responseMs,
		running_ms: runningMs,
		race,
	};
}

// Standalone: `node bench/cluster.ts [--gpus N]`
if (import.meta.url === `file://${process.argv[1]}`) {
	const { startCoordinator } = await import("../scripts/local-coordinator.ts");
	const i = process.argv.indexOf("--gpus");
	const c = await startCoordinator();
	try {
		console.log(
			JSON.stringify(await benchCluster(c, i > 0 ? Number(process.argv[i + 1]) : 1000, (m) => console.log(m)), null, 2),
		);
	} finally {
		await c.stop();
	}
}
