// Concurrent deploys racing for the same capacity: nothing double-booked, never more than there is.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callJson, grant, newAccount, onlineFleet } from "./helpers.ts";

describe("deploy races", () => {
	it("books no node twice when 20 deploys race for 10 GPUs", async () => {
		const { stopAll } = await onlineFleet(10, { gpu_model: "RTX 4090" });
		const renters = await Promise.all(
			Array.from({ length: 20 }, async (_, i) => {
				const r = await newAccount(`racer-${i}`);
				await grant(r.id, 100_000);
				return r;
			}),
		);
		const results = await Promise.all(
			renters.map((r, i) =>
				callJson<{ cluster?: { id: string; nodes: { node_id: string }[] }; error?: { code: string } }>("/v1/clusters", {
					auth: r.key,
					body: { gpu_model: "RTX 4090", gpu_count: 1 + (i % 2), hours: 1 },
				}),
			),
		);
		const won = results.filter((r) => r.status === 201);
		const lost = results.filter((r) => r.status !== 201);
		expect(lost.every((r) => r.status === 422 || r.status === 402)).toBe(true);
		const booked = won.flatMap((r) => r.body.cluster?.nodes.map((n) => n.node_id) ?? []);
		expect(new Set(booked).size).toBe(booked.length);
		expect(booked.length).toBeLessThanOrEqual(10);
		expect(won.length).toBeGreaterThan(0);
		// Every loser's credits are untouched; every winner holds exactly once.
		const holds = await env.DB.prepare(
			"SELECT account_id, count(*) AS n FROM credit_entries WHERE kind = 'hold' GROUP BY account_id",
		).all<{ n: number }>();
		expect(holds.results.every((h) => h.n === 1)).toBe(true);
		expect(holds.results.length).toBe(won.length);
		stopAll();
	});

	it("creates one cluster when the same Idempotency-Key races with itself", async () => {
		const { stopAll } = await onlineFleet(4, { gpu_model: "RTX 3090" });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		const results = await Promise.all(
			Array.from({ length: 8 }, () =>
				callJson<{ cluster: { id: string } }>("/v1/clusters", {
					auth: renter.key,
					body: { gpu_model: "RTX 3090", gpu_count: 2, hours: 1 },
					headers: { "idempotency-key": "same-click" },
				}),
			),
		);
		expect(results.filter((r) => r.status === 201)).toHaveLength(1);
		expect(new Set(results.map((r) => r.body.cluster.id)).size).toBe(1);
		const holds = await env.DB.prepare(
			"SELECT count(*) AS n FROM credit_entries WHERE kind = 'hold' AND account_id = ?",
		)
			.bind(renter.id)
			.first<{ n: number }>();
		expect(holds?.n).toBe(1);
		stopAll();
	});
});
