// Flags are visible and reversible: the owner sees each flag's evidence, appeals it with a ticket that names it, and
// staff clear it (audited elsewhere: test/worker/points.test.ts).
import { describe, expect, it } from "vitest";
import { TEST_ADMIN_TOKEN } from "../constants.ts";
import { callJson, newAccount, registerNode } from "./helpers.ts";

interface Flag {
	id: string;
	code: string;
	reason: string;
	evidence?: unknown;
	appeal_ticket_id?: string | null;
}

async function flag(nodeId: string, evidence?: Record<string, unknown>) {
	return callJson<{ flag: { id: string } }>("/v1/admin/flags", {
		auth: TEST_ADMIN_TOKEN,
		body: { node_id: nodeId, code: "shared_hardware", reason: "late together with node_x", share: 1, evidence },
	});
}

describe("flags", () => {
	it("show their evidence to the node's owner only, and an appeal ticket names the flag", async () => {
		const owner = await newAccount();
		const node = await registerNode(owner);
		const evidence = { group: ["node_x"], commit_ms: [4100, 4300], deadline_ms: 2600 };
		const created = await flag(node.id, evidence);
		expect(created.status).toBe(201);
		const id = created.body.flag.id;
		const ownerView = async () =>
			(await callJson<{ node: { flags: Flag[] } }>(`/v1/nodes/${node.id}`, { auth: owner.key })).body.node.flags;
		expect(await ownerView()).toEqual([expect.objectContaining({ id, evidence, appeal_ticket_id: null })]);
		const publicFlags = (await callJson<{ node: { flags: Flag[] } }>(`/v1/nodes/${node.id}`)).body.node.flags;
		expect(publicFlags).toEqual([expect.objectContaining({ id, reason: "late together with node_x" })]);
		expect(publicFlags[0]).not.toHaveProperty("evidence");

		const appeal = await callJson<{ ticket: { id: string; flag_id: string; node_id: string } }>("/v1/tickets", {
			auth: owner.key,
			body: { subject: "appeal", body: "one card per node, here is a photo", flag_id: id },
		});
		expect(appeal.status).toBe(201);
		expect(appeal.body.ticket).toMatchObject({ flag_id: id, node_id: node.id });
		expect(await ownerView()).toEqual([expect.objectContaining({ id, appeal_ticket_id: appeal.body.ticket.id })]);
	});

	it("refuse an appeal of someone else's flag, an unknown or cleared one, or one named with another node", async () => {
		const owner = await newAccount();
		const [node, other] = [await registerNode(owner), await registerNode(owner)];
		const id = (await flag(node.id)).body.flag.id;
		const appeal = (key: string, extra: Record<string, unknown>) =>
			callJson("/v1/tickets", { auth: key, body: { subject: "appeal", body: "please look", ...extra } });
		expect((await appeal((await newAccount()).key, { flag_id: id })).status).toBe(403);
		expect((await appeal(owner.key, { flag_id: "flg_nope" })).status).toBe(404);
		expect((await appeal(owner.key, { flag_id: id, node_id: other.id })).status).toBe(422);
		const cleared = await callJson(`/v1/admin/flags/${id}`, { method: "DELETE", auth: TEST_ADMIN_TOKEN });
		expect(cleared.status).toBe(200);
		expect((await appeal(owner.key, { flag_id: id })).status).toBe(409);
		const tickets = await callJson<{ tickets: unknown[] }>("/v1/tickets", { auth: owner.key });
		expect(tickets.body.tickets).toEqual([]); // none of the refused appeals opened a ticket
	});

	it("refuse evidence over 4 KB", async () => {
		const node = await registerNode(await newAccount());
		const res = await flag(node.id, { blob: "x".repeat(5000) });
		expect(res.status).toBe(400);
	});
});
