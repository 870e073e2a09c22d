// Hardware verification state: shown with the node, read by the ledger, and tied to the claim it checked.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LedgerRow } from "../../workers/db/ledger.ts";
import { recordVerification } from "../../workers/db/verifications.ts";
import { HARDWARE, callJson, connect, newAccount, registerNode, type TestNode } from "./helpers.ts";

interface Hardware {
	verified: boolean;
	verification: { state: string; tier?: string; measured_ms?: number; reason?: string; evidence?: unknown };
}

async function hardware(node: TestNode): Promise<Hardware> {
	return (await callJson<{ node: { hardware: Hardware } }>(`/v1/nodes/${node.id}`)).body.node.hardware;
}

const claim = { gpu_model: HARDWARE.gpu_model, gpu_count: HARDWARE.gpu_count };

describe("hardware verification", () => {
	it("is unverified until a verification of the node's claim is recorded, and shows it with the node", async () => {
		const node = await registerNode(await newAccount());
		expect(await hardware(node)).toMatchObject({ verified: false, verification: { state: "unverified" } });
		await recordVerification(env.DB, node.id, {
			state: "verified",
			...claim,
			tier: "consumer-high",
			measured_ms: 1840,
			method: "matmul-freivalds-v1",
			reason: null,
			evidence: null,
			updated_at: Date.parse("2026-12-01T00:00:00Z"),
		});
		expect(await hardware(node)).toMatchObject({
			verified: true,
			verification: {
				state: "verified",
				tier: "consumer-high",
				measured_ms: 1840,
				verified_at: "2026-12-01T00:00:00.000Z",
				method: "matmul-freivalds-v1",
			},
		});
	});

	it("counts for the claim it checked only: another GPU count is unverified again", async () => {
		const node = await registerNode(await newAccount());
		await recordVerification(env.DB, node.id, {
			state: "verified",
			gpu_model: claim.gpu_model,
			gpu_count: claim.gpu_count + 7,
			tier: "consumer-high",
			measured_ms: 1000,
			method: "matmul-freivalds-v1",
			reason: null,
			evidence: null,
			updated_at: Date.now(),
		});
		expect((await hardware(node)).verification).toEqual({ state: "unverified" });
	});

	it("shows a failure with its reason and evidence", async () => {
		const node = await registerNode(await newAccount());
		const evidence = { attempts: [{ measured_ms: 9100, deadline_ms: 2600 }] };
		await recordVerification(env.DB, node.id, {
			state: "failed",
			...claim,
			tier: null,
			measured_ms: null,
			method: "matmul-freivalds-v1",
			reason: "late",
			evidence: JSON.stringify(evidence),
			updated_at: Date.now(),
		});
		expect((await hardware(node)).verification).toMatchObject({ state: "failed", reason: "late", evidence });
	});

	it("is what the ledger records: a verified node's row says verified and earns the full tier weight", async () => {
		const owner = await newAccount();
		const plain = await registerNode(owner, { region: "verif" });
		const proven = await registerNode(owner, { region: "verif" });
		await recordVerification(env.DB, proven.id, {
			state: "verified",
			...claim,
			tier: "consumer-high",
			measured_ms: 1500,
			method: "matmul-freivalds-v1",
			reason: null,
			evidence: null,
			updated_at: Date.now(),
		});
		const settler = env.SETTLER.getByName("global");
		await settler.settleNow(Date.now());
		for (const n of [plain, proven]) await (await connect(n)).next("welcome");
		const { settled } = await settler.settleNow(Date.now() + 3000);
		const epoch = settled.at(-1)?.epoch as number;
		const row = (n: TestNode) =>
			env.DB.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?")
				.bind(epoch, n.id)
				.first<LedgerRow>();
		const [p, v] = [await row(plain), await row(proven)];
		expect([p?.verified, v?.verified]).toEqual([0, 1]);
		const breakdown = (n: TestNode) =>
			callJson<{ inputs: { verified: boolean }; terms: { unverified_factor: number } }>(
				`/v1/nodes/${n.id}/points?epoch=${epoch}`,
			);
		expect((await breakdown(proven)).body).toMatchObject({
			inputs: { verified: true },
			terms: { unverified_factor: 1 },
		});
		expect((await breakdown(plain)).body.terms.unverified_factor).toBe(0.5);
		expect(v?.points).toBeGreaterThan(p?.points ?? 0); // same time online: the verified one earns its full weight
	});
});
