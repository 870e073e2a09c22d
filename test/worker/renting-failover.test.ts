// A node dies mid-job: it is replaced from the pool and the renter is refunded for the gap; with no spare, degraded.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callJson, eventually, grant, newAccount, onlineFleet } from "./helpers.ts";

interface ClusterView {
	id: string;
	status: string;
	refunded_cents: number;
	nodes: { node_id: string; state: string }[];
	events: { kind: string; for?: string[] }[];
}

async function cluster(key: string, id: string): Promise<ClusterView> {
	return (await callJson<{ cluster: ClusterView }>(`/v1/clusters/${id}`, { auth: key })).body.cluster;
}

describe("failover", () => {
	it("replaces a member that goes offline and refunds the gap", async () => {
		const { fleet, stopAll } = await onlineFleet(3, { gpu_model: "RTX 4090" });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		const { body } = await callJson<{ cluster: ClusterView }>("/v1/clusters", {
			auth: renter.key,
			body: { gpu_model: "RTX 4090", gpu_count: 2, hours: 2 },
		});
		const id = body.cluster.id;
		await eventually(async () => (await cluster(renter.key, id)).status === "running");
		const victim = fleet.find((f) => body.cluster.nodes.some((n) => n.node_id === f.node.id));
		victim?.stop();
		victim?.link.ws.close(1001, "machine died");
		await eventually(async () => {
			const c = await cluster(renter.key, id);
			return (
				c.status === "running" &&
				c.nodes.filter((n) => n.state === "ready").length === 2 &&
				c.nodes.some((n) => n.state === "lost")
			);
		});
		const c = await cluster(renter.key, id);
		expect(c.events.map((e) => e.kind)).toEqual(expect.arrayContaining(["node_lost", "replacement", "node_ready"]));
		expect(c.events.find((e) => e.kind === "replacement")?.for).toEqual([victim?.node.id]);
		const spare = fleet.find((f) => !body.cluster.nodes.some((n) => n.node_id === f.node.id));
		expect(c.nodes.find((n) => n.node_id === spare?.node.id)?.state).toBe("ready");
		await callJson(`/v1/clusters/${id}`, { method: "DELETE", auth: renter.key });
		const entries = (
			await callJson<{ entries: { kind: string; memo: string | null }[] }>("/v1/billing", { auth: renter.key })
		).body.entries;
		expect(entries.filter((e) => e.kind === "refund").length).toBeGreaterThanOrEqual(1);
		stopAll();
	});

	it("runs degraded when no replacement exists, and refunds what is missing", async () => {
		const { fleet, stopAll } = await onlineFleet(2, { gpu_model: "H100" });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		const { body } = await callJson<{ cluster: ClusterView & { hold_cents: number } }>("/v1/clusters", {
			auth: renter.key,
			body: { gpu_model: "H100", gpu_count: 2, hours: 1 },
		});
		const id = body.cluster.id;
		await eventually(async () => (await cluster(renter.key, id)).status === "running");
		fleet[0]?.stop();
		fleet[0]?.link.ws.close(1001);
		await eventually(async () => (await cluster(renter.key, id)).status === "degraded");
		await runDurableObjectAlarm(env.CLUSTERS.getByName(id));
		expect((await cluster(renter.key, id)).events.map((e) => e.kind)).toContain("no_replacement");
		const done = (
			await callJson<{ cluster: { charged_cents: number; refunded_cents: number; hold_cents: number } }>(
				`/v1/clusters/${id}`,
				{ method: "DELETE", auth: renter.key },
			)
		).body.cluster;
		expect(done.charged_cents + done.refunded_cents).toBe(done.hold_cents);
		expect(done.refunded_cents).toBeGreaterThan(done.hold_cents / 2);
		stopAll();
	});
});
