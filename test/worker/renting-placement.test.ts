// Placement by exact fill in the real runtime: a request the idle pool can meet with whole nodes is met, and a refusal
// says what is true of the pool (own file: own capacity pool).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callJson, grant, newAccount, onlineFleet } from "./helpers.ts";

describe("placement by exact fill", () => {
	it("rents 4 GPUs from idle nodes of 3, 3, 2 and 2 GPUs, and says why 1 or 5 more cannot be placed", async () => {
		const threes = await onlineFleet(2, { gpu_model: "L40S", gpu_count: 3 });
		const twos = await onlineFleet(2, { gpu_model: "L40S", gpu_count: 2 });
		const renter = await newAccount("exact");
		await grant(renter.id, 1_000_000);
		const { status, body } = await callJson<{ cluster: { nodes: { node_id: string }[] } }>("/v1/clusters", {
			auth: renter.key,
			body: { gpu_model: "L40S", gpu_count: 4, hours: 1 },
		});
		expect(status).toBe(201);
		expect(body.cluster.nodes.map((n) => n.node_id).sort()).toEqual(twos.fleet.map((f) => f.node.id).sort());

		// Left idle: 3 + 3. Neither 1 nor 5 is a sum of whole nodes; 7 is more than is idle.
		const refused = await callJson<{ error: { code: string; message: string; available_gpus: number } }>(
			"/v1/clusters",
			{ auth: renter.key, body: { gpu_model: "L40S", gpu_count: 5, hours: 1 } },
		);
		expect(refused.status).toBe(422);
		expect(refused.body.error).toMatchObject({ code: "unprocessable", available_gpus: 6 });
		expect(refused.body.error.message).toMatch(/^No set of idle online L40S nodes adds up to exactly 5 GPUs/);
		const scheduler = env.SCHEDULER.getByName("global");
		const one = await scheduler.reserve("clu_exact_probe", "L40S", 1, null);
		expect(one).toEqual({
			ok: false,
			available_gpus: 6,
			why:
				"No set of idle online L40S nodes adds up to exactly 1 GPU (a cluster takes whole nodes): 6 GPUs are idle, " +
				"on nodes of 3, 3 GPUs.",
		});
		const five = await scheduler.reserve("clu_exact_probe", "L40S", 5, null);
		expect(five.ok === false && five.why).toMatch(/exactly 5 GPUs.*below 5 is 3\.$/);
		const seven = await scheduler.reserve("clu_exact_probe", "L40S", 7, null);
		expect(seven.ok === false && seven.why).toBe("Only 6 idle L40S GPUs are online; 7 were asked for.");
		// The refusals reserved nothing: 6 GPUs are still there to rent.
		expect((await scheduler.reserve("clu_exact_probe", "L40S", 6, null)).ok).toBe(true);
		await scheduler.release("clu_exact_probe");
		threes.stopAll();
		twos.stopAll();
	});
});
