// Staff adjustments that need a second staff member (issue 12, item 4): one to the author's own node, or of more than
// ADJUSTMENT_APPROVAL_POINTS, is pending and counts nowhere until another staff member approves it; every adjustment is
// public on the node's page with its reason.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ADJUSTMENT_APPROVAL_POINTS } from "../../workers/domain/adjustments.ts";
import { TEST_ADMIN_TOKEN, callJson, newAccount, registerNode, type TestNode } from "./helpers.ts";

interface AdjustmentView {
	id: string;
	points: number;
	reason: string;
	author: string;
	status: "applied" | "pending";
	needs_approval: string | null;
	approved_by: string | null;
}

type Caller = { id: string; key: string };

let epoch = 0;
let staffA: Caller;
let staffB: Caller;
let ownNode: TestNode; // owned by staff A
let othersNode: TestNode; // owned by an operator

async function makeStaff(account: Caller): Promise<void> {
	const path = `/v1/admin/accounts/${account.id}/role`;
	expect((await callJson(path, { method: "PUT", auth: TEST_ADMIN_TOKEN, body: { role: "staff" } })).status).toBe(200);
}

function adjust(auth: string, node: TestNode, points: number, reason = "made right after an outage") {
	return callJson<{ adjustment: AdjustmentView }>("/v1/admin/adjustments", {
		auth,
		body: { node_id: node.id, epoch, points, reason },
	});
}

function approve(auth: string, id: string) {
	return callJson<{ adjustment: AdjustmentView; error?: { code: string; message: string } }>(
		`/v1/admin/adjustments/${id}/approve`,
		{ auth, method: "POST" },
	);
}

/** The node's points in the epoch after adjustments, as its breakdown says. */
async function pointsAfter(node: TestNode): Promise<number> {
	const { body } = await callJson<{ points_after_adjustments: number }>(`/v1/nodes/${node.id}/points?epoch=${epoch}`);
	return body.points_after_adjustments;
}

async function leaderboardPoints(accountId: string): Promise<number | undefined> {
	const { body } = await callJson<{ leaders: { account_id: string; points: number }[] }>(
		`/v1/leaderboard?epoch=${epoch}`,
	);
	return body.leaders.find((l) => l.account_id === accountId)?.points;
}

const approvals = async () =>
	(await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'points.approve'").first<{ n: number }>())
		?.n;

beforeAll(async () => {
	[staffA, staffB] = [await newAccount("staff-a"), await newAccount("staff-b")];
	await makeStaff(staffA);
	await makeStaff(staffB);
	ownNode = await registerNode(staffA);
	othersNode = await registerNode(await newAccount("operator"));
	const { settled } = await env.SETTLER.getByName("global").settleNow(Date.now() + 1000);
	epoch = settled.at(-1)?.epoch as number;
});

describe("staff adjustments", () => {
	it("applies a small adjustment to someone else's node at once, public on the node's page", async () => {
		const before = await pointsAfter(othersNode);
		const { status, body } = await adjust(staffA.key, othersNode, 120, "[link](https://x.example) missed beats");
		expect(status).toBe(201);
		expect(body.adjustment).toMatchObject({ status: "applied", needs_approval: null, author: staffA.id });
		expect(await pointsAfter(othersNode)).toBe(before + 120);
		const page = await callJson<{ node: { adjustments: AdjustmentView[] } }>(`/v1/nodes/${othersNode.id}`);
		expect(page.body.node.adjustments).toEqual([
			expect.objectContaining({ id: body.adjustment.id, points: 120, author: staffA.id, status: "applied" }),
		]);
		expect(page.body.node.adjustments[0]?.reason).toBe("[link](https://x.example) missed beats");
	});

	it("keeps an adjustment to the author's own node pending until a second staff member approves it", async () => {
		const before = await pointsAfter(ownNode);
		const boardBefore = await leaderboardPoints(staffA.id);
		const { status, body } = await adjust(staffA.key, ownNode, 500);
		expect(status).toBe(201);
		expect(body.adjustment).toMatchObject({
			status: "pending",
			needs_approval: "the author's own account owns the node",
		});
		expect(await pointsAfter(ownNode)).toBe(before);
		expect(await leaderboardPoints(staffA.id)).toBe(boardBefore);
		const page = await callJson<{ node: { adjustments: AdjustmentView[] } }>(`/v1/nodes/${ownNode.id}`);
		expect(page.body.node.adjustments[0]).toMatchObject({ status: "pending", points: 500 });

		const n = await approvals();
		const self = await approve(staffA.key, body.adjustment.id);
		expect(self.status).toBe(403);
		expect(self.body.error?.message).toMatch(/second staff member/);
		expect(await approvals()).toBe(n); // refused: no audit entry, nothing counted
		expect(await pointsAfter(ownNode)).toBe(before);

		const ok = await approve(staffB.key, body.adjustment.id);
		expect(ok.status).toBe(200);
		expect(ok.body.adjustment).toMatchObject({ status: "applied", approved_by: staffB.id });
		expect(await pointsAfter(ownNode)).toBe(before + 500);
		expect(await leaderboardPoints(staffA.id)).toBe((boardBefore ?? 0) + 500);
		expect(await approvals()).toBe((n as number) + 1);
		expect((await approve(TEST_ADMIN_TOKEN, body.adjustment.id)).status).toBe(409); // once only
	});

	it("keeps one above the size pending, whoever made it, and the node's owner cannot approve it", async () => {
		const before = await pointsAfter(othersNode);
		const { body } = await adjust(TEST_ADMIN_TOKEN, othersNode, 1e9, "a very large correction");
		expect(body.adjustment).toMatchObject({
			status: "pending",
			needs_approval: `more than ${ADJUSTMENT_APPROVAL_POINTS.toLocaleString("en-US")} points`,
			author: "admin",
		});
		expect(await pointsAfter(othersNode)).toBe(before);
		expect((await approve(TEST_ADMIN_TOKEN, body.adjustment.id)).status).toBe(403); // its author

		// Staff A's large adjustment of staff B's... own node: B cannot approve it, the admin token can.
		const bNode = await registerNode(staffB);
		const { settled } = await env.SETTLER.getByName("global").settleNow(Date.now() + 2000);
		epoch = settled.at(-1)?.epoch as number;
		const big = await adjust(staffA.key, bNode, -(ADJUSTMENT_APPROVAL_POINTS + 1));
		expect(big.body.adjustment.status).toBe("pending");
		const byOwner = await approve(staffB.key, big.body.adjustment.id);
		expect(byOwner.status).toBe(403);
		expect(byOwner.body.error?.message).toMatch(/owner of the node/);
		expect((await approve(TEST_ADMIN_TOKEN, big.body.adjustment.id)).status).toBe(200);
	});

	it("answers 404 for an unknown adjustment and 409 for one that needed no approval", async () => {
		expect((await approve(staffB.key, "adj_nosuchthing")).status).toBe(404);
		const small = await adjust(staffB.key, othersNode, 5);
		const again = await approve(staffA.key, small.body.adjustment.id);
		expect(again.status).toBe(409);
		expect(again.body.error?.code).toBe("conflict");
	});
});
