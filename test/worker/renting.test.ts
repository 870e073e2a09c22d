// Renting in the real runtime: quotes, deploys that reserve and tell agents, credits held and refunded, idempotency.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TEST_ADMIN_TOKEN, callJson, eventually, grant, newAccount, onlineFleet, type Link } from "./helpers.ts";

interface ClusterView {
	id: string;
	status: string;
	hold_cents: number;
	charged_cents: number;
	refunded_cents: number;
	price_per_gpu_hour_cents: number;
	nodes: { node_id: string; state: string }[];
	events: { kind: string }[];
}

async function deploy(key: string, body: Record<string, unknown>, idem?: string) {
	return callJson<{ cluster: ClusterView; error?: { code: string; message: string; available_gpus?: number } }>(
		"/v1/clusters",
		{
			auth: key,
			body,
			headers: idem ? { "idempotency-key": idem } : {},
		},
	);
}

async function cluster(key: string, id: string): Promise<ClusterView> {
	return (await callJson<{ cluster: ClusterView }>(`/v1/clusters/${id}`, { auth: key })).body.cluster;
}

async function billing(key: string) {
	return (
		await callJson<{
			available_cents: number;
			held_cents: number;
			entries: { kind: string; available_delta_cents: number; held_delta_cents: number }[];
		}>("/v1/billing", { auth: key })
	).body;
}

function messages(link: Link, type: string) {
	return link.messages.filter((m) => m.type === type);
}

describe("prices and quotes", () => {
	it("quotes price, hold and the network fee from the utilisation of the model", async () => {
		await onlineFleet(2, { gpu_model: "NVIDIA A100 80GB" });
		const { status, body } = await callJson<{
			quote: {
				price_per_gpu_hour_cents: number;
				total_cents: number;
				hold_cents: number;
				fee_cents: number;
				multiplier: number;
			};
		}>("/v1/quotes", { body: { gpu_model: "A100", gpu_count: 2, hours: 3 } });
		expect(status).toBe(200);
		// None of the 2 online A100s is reserved: the price is the base, whatever the order's size. The fee is what
		// billing keeps of a 774¢ charge: 774 − floor(95 % of 774) = 39¢ (not floor(5 %) = 38¢).
		expect(body.quote).toMatchObject({
			multiplier: 1,
			price_per_gpu_hour_cents: 129,
			total_cents: 129 * 2 * 3,
			hold_cents: 129 * 2 * 3,
			fee_cents: 39,
		});
		const prices = await callJson<{ prices: { gpu_model: string; online_gpus: number }[] }>("/v1/prices");
		expect(prices.body.prices.find((p) => p.gpu_model === "A100")?.online_gpus).toBe(2);
	});

	it("refuses unknown models and absurd counts or hours with 400", async () => {
		for (const body of [
			{ gpu_model: "GTX 9999", gpu_count: 1, hours: 1 },
			{ gpu_model: "A100", gpu_count: 0, hours: 1 },
			{ gpu_model: "A100", gpu_count: 1, hours: 100000 },
		]) {
			expect((await callJson("/v1/quotes", { body })).status).toBe(400);
		}
	});
});

describe("deploying a cluster", () => {
	it("reserves nodes, holds credits, tells every agent, and runs once all are ready", async () => {
		const { fleet, stopAll } = await onlineFleet(3, { gpu_model: "RTX 4090" });
		const renter = await newAccount("renter");
		await grant(renter.id, 10_000);
		const { status, body } = await deploy(renter.key, { gpu_model: "RTX 4090", gpu_count: 2, hours: 1 });
		expect(status).toBe(201);
		const c = body.cluster;
		expect(c.nodes).toHaveLength(2);
		const assigned = fleet.filter((f) => c.nodes.some((n) => n.node_id === f.node.id));
		for (const f of assigned) expect((await f.link.next("assign")).cluster_id).toBe(c.id);
		await eventually(async () => (await cluster(renter.key, c.id)).status === "running");
		const b = await billing(renter.key);
		expect(b.held_cents).toBe(c.hold_cents);
		expect(b.available_cents).toBe(10_000 - c.hold_cents);
		stopAll();
	});

	it("answers 402 when credits are short, and reserves nothing", async () => {
		await onlineFleet(1, { gpu_model: "RTX 4080" });
		const renter = await newAccount("poor");
		await grant(renter.id, 1);
		const { status, body } = await deploy(renter.key, { gpu_model: "RTX 4080", gpu_count: 1, hours: 1 });
		expect(status).toBe(402);
		expect(body.error?.code).toBe("payment_required");
		const rich = await newAccount("rich");
		await grant(rich.id, 10_000);
		expect((await deploy(rich.key, { gpu_model: "RTX 4080", gpu_count: 1, hours: 1 })).status).toBe(201);
	});

	it("answers 422 with the available count when capacity is short", async () => {
		await onlineFleet(2, { gpu_model: "RTX 3090" });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		const { status, body } = await deploy(renter.key, { gpu_model: "RTX 3090", gpu_count: 5, hours: 1 });
		expect(status).toBe(422);
		expect(body.error?.available_gpus).toBe(2);
		expect((await billing(renter.key)).held_cents).toBe(0);
	});

	it("answers 422 when the price is above the renter's cap", async () => {
		await onlineFleet(1, { gpu_model: "Apple M2" });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		const { status, body } = await deploy(renter.key, {
			gpu_model: "Apple M-series",
			gpu_count: 1,
			hours: 1,
			max_price_per_gpu_hour: 0.05,
		});
		expect(status).toBe(422);
		expect(body.error?.message).toMatch(/above your cap/);
	});

	it(
		"returns the same cluster for a repeated Idempotency-Key, " + "holds once, and refuses the key with another body",
		async () => {
			await onlineFleet(2, { gpu_model: "L40S" });
			const renter = await newAccount();
			await grant(renter.id, 100_000);
			const first = await deploy(renter.key, { gpu_model: "L40S", gpu_count: 1, hours: 2 }, "order-42");
			const again = await deploy(renter.key, { gpu_model: "L40S", gpu_count: 1, hours: 2 }, "order-42");
			expect(first.status).toBe(201);
			expect(again.status).toBe(200);
			expect(again.body.cluster.id).toBe(first.body.cluster.id);
			expect((await billing(renter.key)).entries.filter((e) => e.kind === "hold")).toHaveLength(1);
			expect((await deploy(renter.key, { gpu_model: "L40S", gpu_count: 2, hours: 2 }, "order-42")).status).toBe(409);
		},
	);

	it("grants credits once per Idempotency-Key (201; a replay 200) and refuses it with another body (409)", async () => {
		const renter = await newAccount();
		const grantWith = (amount_cents: number) =>
			callJson<{ entry: { id: number; available_delta_cents: number } }>("/v1/admin/credits", {
				auth: TEST_ADMIN_TOKEN,
				body: { account_id: renter.id, amount_cents },
				headers: { "idempotency-key": "payment-99" },
			});
		const first = await grantWith(500);
		const again = await grantWith(500);
		// Created once (201); the replay answers 200 with the same body, as a replayed cluster deploy does.
		expect([first.status, again.status]).toEqual([201, 200]);
		expect(again.body).toEqual(first.body);
		const other = await grantWith(50_000);
		expect(other.status).toBe(409);
		expect((await billing(renter.key)).available_cents).toBe(500);
		// Only the grant that changed the balance is in the audit log.
		const audited = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE action = ? AND target = ?")
			.bind("credits.grant", `account:${renter.id}`)
			.first<{ n: number }>();
		expect(audited?.n).toBe(1);
	});

	it("releases the nodes on DELETE and refunds the unused hold; the ledger balances", async () => {
		const { fleet, stopAll } = await onlineFleet(1, { gpu_model: "H100" });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		const { body } = await deploy(renter.key, { gpu_model: "H100", gpu_count: 1, hours: 4 });
		const id = body.cluster.id;
		await eventually(async () => (await cluster(renter.key, id)).status === "running");
		const del = await callJson<{ cluster: ClusterView }>(`/v1/clusters/${id}`, { method: "DELETE", auth: renter.key });
		expect(del.body.cluster.status).toBe("terminated");
		expect(del.body.cluster.charged_cents + del.body.cluster.refunded_cents).toBe(del.body.cluster.hold_cents);
		expect(await fleet[0]?.link.next("release")).toMatchObject({ cluster_id: id });
		const b = await billing(renter.key);
		expect(b.held_cents).toBe(0);
		expect(b.available_cents).toBe(100_000 - del.body.cluster.charged_cents);
		// Conservation: every cent granted is somewhere (renters' balances, operators' payouts, the network fee).
		const sums = await env.DB.prepare(
			"SELECT sum(CASE WHEN kind = 'grant' THEN available_delta ELSE 0 END) AS granted, " +
				"sum(available_delta + held_delta) AS total FROM credit_entries",
		).first<{ granted: number; total: number }>();
		expect(sums?.total).toBe(sums?.granted);
		// The node is free again.
		const again = await deploy(renter.key, { gpu_model: "H100", gpu_count: 1, hours: 1 });
		expect(again.status).toBe(201);
		stopAll();
	});

	it("lets only the owner read or terminate a cluster", async () => {
		await onlineFleet(1, { gpu_model: "RTX 4090" });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		const { body } = await deploy(renter.key, { gpu_model: "RTX 4090", gpu_count: 1, hours: 1 });
		const other = await newAccount();
		expect((await callJson(`/v1/clusters/${body.cluster.id}`, { auth: other.key })).status).toBe(403);
		expect((await callJson(`/v1/clusters/${body.cluster.id}`, { method: "DELETE", auth: other.key })).status).toBe(403);
		expect((await cluster(renter.key, body.cluster.id)).status).not.toBe("terminated");
		expect((await callJson("/v1/clusters/clu_doesnotexist00", { auth: renter.key })).status).toBe(404);
	});
});
