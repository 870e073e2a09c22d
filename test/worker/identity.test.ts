// Who is behind a node (docs/VERIFICATION.md §13): the address recorded privately and only when it changes, GPU
// UUIDs that flag duplicates on both nodes, and reported GPUs that contradict a claim.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	HARDWARE,
	TEST_ADMIN_TOKEN,
	call,
	callJson,
	connect,
	newAccount,
	nodeToken,
	registerNode,
	type TestNode,
} from "./helpers.ts";

const uuid = (n: number) => `GPU-${n.toString(16).padStart(8, "0")}-aaaa-bbbb-cccc-0123456789ab`;

async function identity(node: TestNode) {
	return env.DB.prepare("SELECT address, address_key, network, gpu_uuids, seen_at FROM node_identity WHERE node_id = ?")
		.bind(node.id)
		.first<{ address: string; address_key: string; network: string; gpu_uuids: string; seen_at: number }>();
}

/** Connects from `ip` reporting `uuids`, waits for the welcome, and leaves cleanly. */
async function visit(node: TestNode, ip: string, uuids: string[] = []) {
	const headers: Record<string, string> = { "cf-connecting-ip": ip };
	if (uuids.length) headers["x-pulsegrid-gpu-uuids"] = uuids.join(",");
	const link = await connect(node, undefined, headers);
	await link.next("welcome");
	link.ws.send(JSON.stringify({ type: "bye" }));
	await link.closed;
	return link;
}

type NodeBody = {
	node: {
		flags: { id: string; code: string; reason: string; evidence?: { uuid: string; nodes: string[] } }[];
		hardware: { verification: { state: string; reason?: string; evidence?: unknown } };
	};
};
const view = async (node: TestNode, auth?: string) =>
	(await callJson<NodeBody>(`/v1/nodes/${node.id}`, auth ? { auth } : {})).body.node;

describe("the address a node connects from", () => {
	it("is recorded as the edge saw it, never shown publicly, and written again only when it changes", async () => {
		const node = await registerNode(await newAccount());
		await visit(node, "203.0.113.77");
		const first = await identity(node);
		expect(first).toMatchObject({ address: "203.0.113.77", address_key: "203.0.113.77", network: "203.0.113.0/24" });
		for (const auth of [undefined, node.owner.key]) {
			const text = await (await call(`/v1/nodes/${node.id}`, auth ? { auth } : {})).text();
			expect(text).not.toContain("203.0.113");
		}
		await visit(node, "203.0.113.77");
		expect((await identity(node))?.seen_at).toBe(first?.seen_at); // same line: nothing written
		await visit(node, "2001:db8:7:7::5");
		expect(await identity(node)).toMatchObject({ address_key: "2001:db8:7:7::/64", network: "2001:db8:7:7::/64" });
	});

	it("refuses a malformed UUID list with a 400 and records nothing", async () => {
		const node = await registerNode(await newAccount());
		const res = await call(`/v1/nodes/${node.id}/connect`, {
			auth: await nodeToken(node),
			headers: { upgrade: "websocket", "x-pulsegrid-gpu-uuids": "GPU-not-a-uuid" },
		});
		expect(res.status).toBe(400);
		expect(((await res.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
		expect(await identity(node)).toBeNull();
	});
});

describe("GPU UUIDs", () => {
	it("flags both nodes that report one UUID duplicate_identity, with the evidence, once per UUID", async () => {
		const [a, b] = [await registerNode(await newAccount()), await registerNode(await newAccount())];
		await visit(a as TestNode, "198.18.1.1", [uuid(1), uuid(2)]);
		expect((await view(a as TestNode)).flags).toEqual([]);
		await visit(b as TestNode, "198.18.2.1", [uuid(2)]);
		for (const n of [a, b] as TestNode[]) {
			const v = await view(n, n.owner.key);
			expect(v.flags).toHaveLength(1);
			expect(v.flags[0]).toMatchObject({
				code: "duplicate_identity",
				evidence: { uuid: uuid(2), nodes: [a?.id, b?.id].sort() },
			});
			expect(v.hardware.verification).toMatchObject({ state: "failed", reason: "duplicate_identity" });
		}
		const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE actor = 'coordinator' AND target = ?")
			.bind(`node:${a?.id}`)
			.first<{ n: number }>();
		expect(audit?.n).toBe(1);
		// While the judgement stands, a connection brings no compute challenge: no pass can undo it.
		expect((await visit(b as TestNode, "198.18.2.1", [uuid(2)])).messages.map((m) => m.type)).not.toContain("verify");
		// Staff clear A's flag after an appeal: A is unverified again, challenged on its next connection, and not
		// flagged again for that UUID.
		const flagId = (await view(a as TestNode)).flags[0]?.id as string;
		expect((await call(`/v1/admin/flags/${flagId}`, { method: "DELETE", auth: TEST_ADMIN_TOKEN })).status).toBe(200);
		expect((await view(a as TestNode)).hardware.verification).toEqual({ state: "unverified" });
		const again = await visit(a as TestNode, "198.18.1.2", [uuid(1), uuid(2)]);
		expect(again.messages.map((m) => m.type)).toContain("verify");
		expect((await view(a as TestNode)).flags).toEqual([]);
	});

	it("fails a claim of more GPUs than the agent reports (claim_mismatch), unchallenged until fixed", async () => {
		const node = await registerNode(await newAccount(), { hardware: { ...HARDWARE, gpu_count: 4 } });
		const link = await visit(node, "198.18.3.1", [uuid(9)]);
		expect(link.messages.map((m) => m.type)).not.toContain("verify");
		expect((await view(node, node.owner.key)).hardware.verification).toMatchObject({
			state: "failed",
			reason: "claim_mismatch",
			evidence: { reported_uuids: 1, claimed_gpus: 4 },
		});
		// The four GPUs show up (a loose riser reseated): the claim is challenged afresh, on all four at once.
		const fixed = await visit(node, "198.18.3.1", [uuid(9), uuid(10), uuid(11), uuid(12)]);
		expect(fixed.messages.filter((m) => m.type === "verify")).toHaveLength(4);
	});

	it("records where an HTTP-heartbeat node beats from, so it counts behind its address like any other", async () => {
		const node = await registerNode(await newAccount());
		const beat = await call(`/v1/nodes/${node.id}/heartbeat`, {
			auth: await nodeToken(node),
			headers: { "cf-connecting-ip": "203.0.113.200", "content-length": "0" },
			method: "POST",
		});
		expect(beat.status).toBe(200);
		expect(Object.keys((await beat.json()) as object).sort()).toEqual([
			"challenge",
			"next_heartbeat_s",
			"results",
			"status",
		]);
		expect(await identity(node)).toMatchObject({ address_key: "203.0.113.200", gpu_uuids: "[]" });
	});
});
