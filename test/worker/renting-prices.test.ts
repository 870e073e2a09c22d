// One price at a moment: what `/v1/prices` shows is what a quote says and what a deploy pays, with capacity already
// reserved. (That a quote's total and fee are what billing charges and keeps is test/unit/pricing.test.ts.)
import { describe, expect, it } from "vitest";
import { callJson, grant, newAccount, onlineFleet } from "./helpers.ts";

interface Price {
	gpu_model: string;
	online_gpus: number;
	reserved_gpus: number;
	price_per_gpu_hour_cents: number;
}
interface Quote {
	price_per_gpu_hour_cents: number;
	total_cents: number;
	hold_cents: number;
	fee_cents: number;
}

async function price(model: string): Promise<Price> {
	const { body } = await callJson<{ prices: Price[] }>("/v1/prices");
	return body.prices.find((p) => p.gpu_model === model) as Price;
}

async function quote(model: string, gpu_count: number, hours: number): Promise<Quote> {
	const res = await callJson<{ quote: Quote }>("/v1/quotes", { body: { gpu_model: model, gpu_count, hours } });
	expect(res.status).toBe(200);
	return res.body.quote;
}

async function deploy(key: string, body: { gpu_model: string; gpu_count: number; hours: number }) {
	const res = await callJson<{ cluster: { price_per_gpu_hour_cents: number; hold_cents: number } }>("/v1/clusters", {
		auth: key,
		body,
	});
	expect(res.status).toBe(201);
	return res.body.cluster;
}

describe("prices, quotes and deploys", () => {
	it("agree at every moment, with capacity reserved", async () => {
		const { stopAll } = await onlineFleet(2, { gpu_model: "NVIDIA A100 80GB" });
		const renter = await newAccount("renter");
		await grant(renter.id, 1_000_000);

		// Nothing reserved: the base price everywhere, whatever the order's size (an order does not price itself).
		expect(await price("A100")).toMatchObject({ online_gpus: 2, reserved_gpus: 0, price_per_gpu_hour_cents: 129 });
		expect((await quote("A100", 2, 3)).price_per_gpu_hour_cents).toBe(129);
		const first = await deploy(renter.key, { gpu_model: "A100", gpu_count: 1, hours: 3 });
		expect(first.price_per_gpu_hour_cents).toBe(129);

		// 1 of 2 reserved: ceil(129 × 1.5) = 194¢, in `/v1/prices`, in a quote and in the next deploy.
		const shown = await price("A100");
		expect(shown).toMatchObject({ online_gpus: 2, reserved_gpus: 1, price_per_gpu_hour_cents: 194 });
		const q = await quote("A100", 1, 3);
		// 194¢ × 3 GPU-hours = 582¢, of which the network keeps 582 − floor(95 % of 582) = 30¢ (floor(5 %) was 29¢).
		expect(q).toMatchObject({ price_per_gpu_hour_cents: 194, total_cents: 582, hold_cents: 582, fee_cents: 30 });
		const second = await deploy(renter.key, { gpu_model: "A100", gpu_count: 1, hours: 3 });
		expect(second).toMatchObject({
			price_per_gpu_hour_cents: shown.price_per_gpu_hour_cents,
			hold_cents: q.hold_cents,
		});
		expect((await price("A100")).price_per_gpu_hour_cents).toBe(258);
		stopAll();
	});
});
