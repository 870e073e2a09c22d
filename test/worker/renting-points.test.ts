// Rented work earns points: the compute part of the ledger comes from recorded rental intervals (own file: own capacity pool).
import { describe, expect, it } from "vitest";
import { TEST_ADMIN_TOKEN, callJson, eventually, grant, newAccount, onlineFleet, sleep } from "./helpers.ts";

async function deploy(key: string, body: Record<string, unknown>) {
	return callJson<{ cluster: { id: string } }>("/v1/clusters", { auth: key, body });
}

async function cluster(key: string, id: string) {
	return (await callJson<{ cluster: { status: string } }>(`/v1/clusters/${id}`, { auth: key })).body.cluster;
}

describe("rented time in the points ledger", () => {
	it("feeds rented GPU-seconds into the points ledger's compute part", async () => {
		const { fleet, stopAll } = await onlineFleet(1, { gpu_model: "RTX 4090", gpu_count: 2 });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		await callJson("/v1/admin/epochs/settle", { auth: TEST_ADMIN_TOKEN, body: {} });
		const { body } = await deploy(renter.key, { gpu_model: "RTX 4090", gpu_count: 2, hours: 1 });
		await eventually(async () => (await cluster(renter.key, body.cluster.id)).status === "running");
		await sleep(2500);
		await callJson(`/v1/clusters/${body.cluster.id}`, { method: "DELETE", auth: renter.key });
		const { body: settled } = await callJson<{ epoch: number }>("/v1/admin/epochs/settle", { auth: TEST_ADMIN_TOKEN, body: {} });
		const { body: p } = await callJson<{ inputs: { rented_gpu_seconds: number }; terms: { compute_points: number } }>(`/v1/nodes/${fleet[0]?.node.id}/points?epoch=${settled.epoch}`);
		expect(p.inputs.rented_gpu_seconds).toBeGreaterThanOrEqual(4); // 2 GPUs × ≥ 2 s
		expect(p.terms.compute_points).toBeGreaterThan(0);
		stopAll();
	});

});
