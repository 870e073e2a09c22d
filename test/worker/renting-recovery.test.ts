// Multi-step changes that fail half-way are completed by the next try: no notice lost, no hold or node stranded.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callJson, eventually, grant, newAccount, onlineFleet, quietFleet } from "./helpers.ts";

/** Runs `fn` while a D1 table is missing (a storage failure at the boundary), then puts the table back. */
async function withoutTable<T>(table: string, fn: () => Promise<T>): Promise<T> {
	await env.DB.exec(`ALTER TABLE ${table} RENAME TO ${table}_away`);
	try {
		return await fn();
	} finally {
		await env.DB.exec(`ALTER TABLE ${table}_away RENAME TO ${table}`);
	}
}

const failure = (p: Promise<unknown>) =>
	p.then(
		() => null,
		(e: unknown) => e,
	);

async function credits(key: string) {
	return (
		await callJson<{
			available_cents: number;
			held_cents: number;
			entries: { kind: string; available_delta_cents: number }[];
		}>("/v1/billing", { auth: key })
	).body;
}

/** Which cluster the scheduler has reserved a node for. */
function reservedFor(nodeId: string): Promise<string | null> {
	return runInDurableObject(
		env.SCHEDULER.getByName("global"),
		(_, state) =>
			state.storage.sql.exec("SELECT cluster_id FROM capacity WHERE node_id = ?", nodeId).one().cluster_id as
				| string
				| null,
	);
}

/** A renter with credits and a cluster of healthy agents that is running. */
async function running(gpuModel: string, gpuCount: number, nodes = gpuCount) {
	const f = await onlineFleet(nodes, { gpu_model: gpuModel });
	const renter = await newAccount("renter");
	await grant(renter.id, 1_000_000);
	const res = await callJson<{ cluster: { id: string; nodes: { node_id: string }[] } }>("/v1/clusters", {
		auth: renter.key,
		body: { gpu_model: gpuModel, gpu_count: gpuCount, hours: 1 },
	});
	expect(res.status).toBe(201);
	const stub = env.CLUSTERS.getByName(res.body.cluster.id);
	await eventually(async () => (await stub.view())?.status === "running");
	return { ...f, renter, stub, id: res.body.cluster.id, members: res.body.cluster.nodes.map((n) => n.node_id) };
}

describe("a lost node's notice", () => {
	it("is delivered again by the shard's retry when the cluster could not take it the first time", async () => {
		const { stub, members, stopAll } = await running("RTX 3090", 1);
		// The cluster's storage fails once (its state cannot be read), then recovers.
		const saved = await runInDurableObject(stub, (_, state) => {
			const v = state.storage.sql.exec("SELECT v FROM state").one().v;
			state.storage.sql.exec("UPDATE state SET v = 'unreadable'");
			return v;
		});
		const change = {
			nodeId: members[0] as string,
			to: "offline",
			seq: 1e9,
			at: Date.now(),
			lastSeenAt: null,
			transport: "ws" as const,
		};
		const scheduler = env.SCHEDULER.getByName("global");
		const err = await failure(scheduler.onChanges([change]));
		expect(err).toBeInstanceOf(Error);
		await runInDurableObject(stub, (_, state) => void state.storage.sql.exec("UPDATE state SET v = ?", saved));
		await scheduler.onChanges([change]); // the shard's outbox keeps the change and sends it again
		expect((await stub.view())?.nodes.find((n) => n.node_id === members[0])?.state).toBe("lost");
		stopAll();
	});
});

describe("a step interrupted half-way", () => {
	it(
		"completes a termination whose final bill failed on the next DELETE: " + "hold settled, nodes freed and told",
		async () => {
			const { fleet, renter, stub, id, members, stopAll } = await running("H100", 1);
			const first = await withoutTable("credit_entries", () =>
				callJson(`/v1/clusters/${id}`, { method: "DELETE", auth: renter.key }),
			);
			expect(first.status).toBe(500);
			const again = await callJson<{
				cluster: { status: string; hold_cents: number; charged_cents: number; refunded_cents: number };
			}>(`/v1/clusters/${id}`, { method: "DELETE", auth: renter.key });
			expect(again.body.cluster.status).toBe("terminated");
			expect(again.body.cluster.charged_cents + again.body.cluster.refunded_cents).toBe(again.body.cluster.hold_cents);
			expect((await credits(renter.key)).held_cents).toBe(0);
			expect(await reservedFor(members[0] as string)).toBeNull();
			expect(await fleet[0]?.link.next("release")).toMatchObject({ cluster_id: id });
			expect(await runDurableObjectAlarm(stub)).toBe(false); // nothing left to do
			stopAll();
		},
	);

	it(
		"completes a node's loss whose bookkeeping failed on the next alarm: " + "freed, told to stop, and replaced",
		async () => {
			const { fleet, stub, members, stopAll } = await running("A100", 2, 3);
			const victim = members[0] as string;
			expect(await withoutTable("rentals", () => failure(stub.nodeLost(victim, Date.now())))).toBeInstanceOf(Error);
			expect(await runDurableObjectAlarm(stub)).toBe(true);
			const spare = fleet.find((f) => !members.includes(f.node.id));
			await eventually(
				async () => (await stub.view())?.nodes.find((n) => n.node_id === spare?.node.id)?.state === "ready",
			);
			expect((await stub.view())?.nodes.find((n) => n.node_id === victim)?.state).toBe("lost");
			expect(await reservedFor(victim)).toBeNull();
			expect(await fleet.find((f) => f.node.id === victim)?.link.next("release")).toMatchObject({ type: "release" });
			stopAll();
		},
	);

	it("undoes a deploy that failed half-way on its alarm: nodes freed, credits held refunded", async () => {
		const { fleet, stopAll } = await onlineFleet(1, { gpu_model: "L40S" });
		const renter = await newAccount("renter");
		await grant(renter.id, 100_000);
		const node = fleet[0]?.node.id as string;
		const body = { gpu_model: "L40S", gpu_count: 1, hours: 1 };
		// Holding the credits fails after the node was reserved; then recording the cluster fails after they were held.
		for (const table of ["credit_entries", "clusters"]) {
			expect((await withoutTable(table, () => callJson("/v1/clusters", { auth: renter.key, body }))).status).toBe(500);
			const clusterId = await reservedFor(node);
			expect(clusterId).not.toBeNull();
			expect(await runDurableObjectAlarm(env.CLUSTERS.getByName(clusterId as string))).toBe(true);
			expect(await reservedFor(node)).toBeNull();
			expect(await credits(renter.key)).toMatchObject({ available_cents: 100_000, held_cents: 0 });
		}
		expect((await callJson("/v1/clusters", { auth: renter.key, body })).status).toBe(201);
		stopAll();
	});

	it(
		"undoes a deploy that stopped after it was recorded " + "when the renter deletes it: nodes freed, hold refunded",
		async () => {
			// A model no other test here rents (their idle nodes would be placed first), and no `ready` racing the state set
			// below.
			const { fleet, stopAll } = await quietFleet(1, "RTX 4090");
			const renter = await newAccount("renter");
			await grant(renter.id, 100_000);
			const node = fleet[0]?.node.id as string;
			const res = await callJson<{ cluster: { id: string } }>("/v1/clusters", {
				auth: renter.key,
				body: { gpu_model: "RTX 4090", gpu_count: 1, hours: 1 },
			});
			expect(res.status).toBe(201);
			const id = res.body.cluster.id;
			// As if the object died after writing the cluster's row and holding the credits, before it finished setting up,
			// and the renter's DELETE comes before the alarm that would undo it.
			await runInDurableObject(env.CLUSTERS.getByName(id), async (_, state) => {
				const st = JSON.parse(state.storage.sql.exec("SELECT v FROM state").one().v as string) as Record<
					string,
					unknown
				>;
				state.storage.sql.exec("UPDATE state SET v = ?", JSON.stringify({ ...st, setup: true }));
				state.storage.sql.exec("DELETE FROM members");
				await state.storage.deleteAlarm();
			});
			expect(await reservedFor(node)).toBe(id);
			const deleted = await callJson<{ cluster: { status: string } }>(`/v1/clusters/${id}`, {
				method: "DELETE",
				auth: renter.key,
			});
			expect(deleted).toMatchObject({ status: 200, body: { cluster: { status: "failed" } } });
			expect(await reservedFor(node)).toBeNull();
			expect(await credits(renter.key)).toMatchObject({ available_cents: 100_000, held_cents: 0 });
			stopAll();
		},
	);

	it("resumes a deploy that failed half-way when the request is retried with its Idempotency-Key", async () => {
		const { stopAll } = await onlineFleet(1, { gpu_model: "RTX 4080" });
		const renter = await newAccount("renter");
		await grant(renter.id, 100_000);
		const deploy = () =>
			callJson<{ cluster: { id: string; hold_cents: number } }>("/v1/clusters", {
				auth: renter.key,
				body: { gpu_model: "RTX 4080", gpu_count: 1, hours: 1 },
				headers: { "idempotency-key": "order-7" },
			});
		expect((await withoutTable("clusters", deploy)).status).toBe(500);
		const retried = await deploy();
		expect(retried.status).toBe(201);
		const id = retried.body.cluster.id;
		await eventually(
			async () =>
				(await callJson<{ cluster: { status: string } }>(`/v1/clusters/${id}`, { auth: renter.key })).body.cluster
					?.status === "running",
		);
		const b = await credits(renter.key);
		expect(b.entries.filter((e) => e.kind === "hold")).toHaveLength(1);
		expect(b.held_cents).toBe(retried.body.cluster.hold_cents);
		stopAll();
	});
});
