// The network fee in an account's billing. Fee entries sit on the network's account, so the renter and the operators
// see them through the fee view (workers/services/fees.ts): per billing step, charge = payouts to operators + fee.
// The ledger is written as a Cluster object writes it: the domain's billing steps and movements, recorded in D1.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NETWORK_ACCOUNT, hold, record } from "../../workers/db/credits.ts";
import { applyStep, billingStep } from "../../workers/domain/billing.ts";
import { HOUR_MS, movements, newCluster, startTerm } from "../../workers/domain/cluster.ts";
import type { Quote } from "../../workers/domain/pricing.ts";
import { fees } from "../../workers/services/fees.ts";
import { callJson, grant, newAccount } from "./helpers.ts";

interface Billing {
	entries: { kind: string; available_delta_cents: number; held_delta_cents: number; cluster_id: string | null }[];
	fees?: Awaited<ReturnType<typeof fees>>;
}

const billing = async (key: string) => (await callJson<Billing>("/v1/billing", { auth: key })).body;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
let clusters = 0;

/**
 * A running cluster of `renter`'s at `price` cents per GPU-hour on the given nodes (node → owner), billed once per
 * entry of `hours` (GPU-hours delivered per node in that step); the last step is final. Returns its id.
 */
async function rent(
	renter: { id: string },
	price: number,
	owners: Record<string, string>,
	hours: Record<string, number>[],
): Promise<string> {
	const id = `clu_feetest${++clusters}`;
	const gpus = Object.keys(owners).length;
	const q = { price_per_gpu_hour_cents: price, hold_cents: price * gpus * 2 } as Quote;
	const spec = { account_id: renter.id, gpu_model: "H100", gpu_count: gpus, hours: 2, region: null };
	const st = newCluster(id, { ...spec, max_price_per_gpu_hour_cents: null }, "hash", q, Date.now());
	startTerm(st, Date.now());
	expect(await hold(env.DB, renter.id, st.hold_cents, id, Date.now())).toBe(true);
	for (const [n, step] of hours.entries()) {
		for (const [node, h] of Object.entries(step))
			st.billing.deliveredMs[node] = (st.billing.deliveredMs[node] ?? 0) + h * HOUR_MS;
		const final = n === hours.length - 1;
		const s = billingStep(st.billing, price, st.hold_cents, final);
		const o = { n, final, owners: new Map(Object.entries(owners)), network: NETWORK_ACCOUNT };
		await record(env.DB, movements(st, s, o), Date.now());
		st.billing = applyStep(st.billing, s);
	}
	return id;
}

async function networkFees(clusterId: string): Promise<number> {
	const r = await env.DB.prepare(
		"SELECT coalesce(sum(available_delta), 0) AS fee FROM credit_entries WHERE kind = 'fee' AND cluster_id = ?",
	)
		.bind(clusterId)
		.first<{ fee: number }>();
	return r?.fee ?? 0;
}

describe("the fee view", () => {
	it("shows the renter and each operator the fee of every step they were charged or paid in, adding up", async () => {
		const renter = await newAccount("renter");
		const other = await newAccount("other");
		const op1 = await newAccount("op1");
		const op2 = await newAccount("op2");
		await grant(renter.id, 1_000_000);
		await grant(other.id, 1_000_000);
		// Three 1-GPU nodes at 249¢: an hour on all three, then a final half hour on two of them (the third was lost).
		const owners = { node_a: op1.id, node_b: op1.id, node_c: op2.id };
		const c1 = await rent(renter, 249, owners, [
			{ node_a: 1, node_b: 1, node_c: 1 },
			{ node_a: 0.5, node_b: 0.5 },
		]);
		// Another renter's cluster on op2's node: in op2's view, not in the renter's.
		const c2 = await rent(other, 37, { node_d: op2.id }, [{ node_d: 0.25 }]);

		const r = await fees(env.DB, renter.id, 200);
		const charges = (await billing(renter.key)).entries.filter((e) => e.kind === "charge");
		expect(charges.length).toBe(2);
		expect(r.steps.map((s) => [s.kind, s.cluster_id, s.step])).toEqual([
			["fee", c1, 1],
			["fee", c1, 0],
		]);
		expect(r.steps.map((s) => s.charge_cents)).toEqual([249, 3 * 249]);
		for (const s of r.steps) {
			expect(s.charge_cents).toBe(s.payouts_cents + s.fee_cents);
			expect(s.paid_by_you_cents).toBe(s.charge_cents);
			expect(s.paid_to_you_cents).toBe(0);
		}
		// The renter's charges, as its own entries show them, are the operators' payouts plus the network's fees.
		const charged = -sum(charges.map((e) => e.held_delta_cents));
		const fee = await networkFees(c1);
		expect(fee).toBe(996 - Math.floor(996 * 0.95));
		expect(r.as_renter).toEqual({ charges_cents: charged, payouts_cents: charged - fee, fees_cents: fee });
		expect(r.as_operator).toEqual({ payouts_cents: 0, fees_cents: 0 });
		// At least 5 % of the cluster's charges (a step alone may keep less: rounding is settled on the running total).
		expect(r.as_renter.fees_cents * 20).toBeGreaterThanOrEqual(r.as_renter.charges_cents);

		// Each operator: the steps that paid it, with what it was paid in each; its payouts as its own entries show them.
		for (const op of [op1, op2]) {
			const o = await fees(env.DB, op.id, 200);
			const paid = (await billing(op.key)).entries.filter((e) => e.kind === "payout");
			expect(o.as_operator.payouts_cents).toBe(sum(paid.map((e) => e.available_delta_cents)));
			expect(sum(o.steps.map((s) => s.paid_to_you_cents))).toBe(o.as_operator.payouts_cents);
			expect(o.as_operator.fees_cents).toBe(sum(o.steps.map((s) => s.fee_cents)));
			expect(o.as_renter).toEqual({ charges_cents: 0, payouts_cents: 0, fees_cents: 0 });
			for (const s of o.steps) {
				expect(s.charge_cents).toBe(s.payouts_cents + s.fee_cents);
				expect(s.paid_to_you_cents).toBeGreaterThan(0);
				expect(s.paid_by_you_cents).toBe(0);
			}
		}
		expect((await fees(env.DB, op1.id, 200)).steps.map((s) => [s.cluster_id, s.step])).toEqual([
			[c1, 1],
			[c1, 0],
		]);
		// op2's node was lost before the last step: paid in c1's first step and in c2's only one.
		expect((await fees(env.DB, op2.id, 200)).steps.map((s) => [s.cluster_id, s.step])).toEqual([
			[c2, 0],
			[c1, 0],
		]);

		// The limit keeps the newest steps; the totals still cover all of them.
		const one = await fees(env.DB, renter.id, 1);
		expect(one.steps.map((s) => s.step)).toEqual([1]);
		expect(one.as_renter).toEqual(r.as_renter);
	});

	it("is the `fees` of GET /v1/billing", async () => {
		const renter = await newAccount("renter");
		await grant(renter.id, 10_000);
		await rent(renter, 249, { node_x: (await newAccount("op")).id }, [{ node_x: 1 }]);
		const view = await fees(env.DB, renter.id, 200);
		expect(view.steps.length).toBe(1);
		expect((await billing(renter.key)).fees).toEqual(view);
	});
});
