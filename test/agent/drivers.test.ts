// Assignments: parsing them safely, and the simulated driver's bookkeeping.
import { describe, expect, it } from "vitest";
import { SimulatedDriver, parseAssignment } from "../../agent/drivers.ts";

describe("parseAssignment", () => {
	it("reads a well-formed assign message", () => {
		expect(
			parseAssignment({
				type: "assign",
				cluster_id: "clu_abcdefgh12",
				gpu_count: 2,
				peers: ["node_a", "node_b"],
				duration_s: 3600,
			}),
		).toEqual({ cluster_id: "clu_abcdefgh12", gpu_count: 2, peers: ["node_a", "node_b"], duration_s: 3600 });
	});

	it("ignores malformed ones rather than starting work", () => {
		for (const bad of [
			{ cluster_id: "x", gpu_count: 1, peers: [], duration_s: 1 },
			{ cluster_id: "clu_abcdefgh12", gpu_count: 0, peers: [], duration_s: 1 },
			{ cluster_id: "clu_abcdefgh12", gpu_count: 1, peers: [3], duration_s: 1 },
			{ cluster_id: "clu_abcdefgh12", gpu_count: 1, peers: [], duration_s: -5 },
		])
			expect(parseAssignment(bad)).toBeNull();
	});
});

describe("SimulatedDriver", () => {
	it("runs a cluster's work from start until stop", async () => {
		const d = new SimulatedDriver();
		await d.start({ cluster_id: "clu_1", gpu_count: 1, peers: [], duration_s: 60 });
		expect(d.running()).toEqual(["clu_1"]);
		await d.stop("clu_1");
		expect(d.running()).toEqual([]);
	});
});
