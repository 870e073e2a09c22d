// The HTTP heartbeat fallback: online on a beat, offline after silence, challenges carried in the replies.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openEpochNumber } from "../../workers/db/epochs.ts";
import { echoAnswer } from "../../workers/domain/challenge.ts";
import {
	HARDWARE,
	OFFLINE_AFTER_MS,
	callJson,
	connect,
	eventually,
	grant,
	newAccount,
	nodeStatus,
	nodeToken,
	registerNode,
	sweepAt,
	type TestNode,
} from "./helpers.ts";

interface Beat {
	status: string;
	next_heartbeat_s: number;
	challenge: { id: string; nonce: string; kind: string } | null;
	results: { id: string; passed: boolean }[];
}

async function beat(node: TestNode, answers?: { id: string; answer: string }[]) {
	return callJson<Beat>(`/v1/nodes/${node.id}/heartbeat`, {
		auth: await nodeToken(node),
		body: answers ? { answers } : {},
	});
}

describe("HTTP heartbeat fallback", () => {
	it("puts a node online on its first beat and tells it when to beat next", async () => {
		const node = await registerNode(await newAccount());
		const { status: code, body } = await beat(node);
		expect(code).toBe(200);
		expect(body).toMatchObject({ status: "online", next_heartbeat_s: 1 });
		expect(await nodeStatus(node)).toBe("online");
	});

	it("writes nothing to storage for a beat that changes no status", async () => {
		const node = await registerNode(await newAccount(), { region: "beats" });
		await beat(node);
		const stub = env.LIVENESS.getByName("beats-0");
		const before = (await stub.metricsSnapshot()).rowsWrittenDO;
		for (let i = 0; i < 5; i++) await beat(node);
		expect((await stub.metricsSnapshot()).rowsWrittenDO).toBe(before);
	});

	it("marks a node offline when its beats stop for OFFLINE_AFTER_S", async () => {
		const node = await registerNode(await newAccount(), { region: "silent-http" });
		await beat(node);
		await sweepAt(env.LIVENESS.getByName("silent-http-0"), Date.now() + OFFLINE_AFTER_MS + 500); // no beat since
		expect(await nodeStatus(node)).toBe("offline");
		const { body } = await callJson<{ flips: { reason: string }[] }>(`/v1/nodes/${node.id}/flips`);
		expect(body.flips[0]?.reason).toBe("heartbeat_timeout");
	});

	it("carries a challenge in a reply and grades the answer sent with the next beat", async () => {
		const node = await registerNode(await newAccount());
		let challenge: Beat["challenge"] = null;
		for (let i = 0; i < 5 && !challenge; i++) challenge = (await beat(node)).body.challenge;
		expect(challenge?.kind).toBe("echo-sha256");
		const c = challenge as NonNullable<Beat["challenge"]>;
		const { body } = await beat(node, [{ id: c.id, answer: await echoAnswer(node.id, c.nonce) }]);
		const open = await openEpochNumber(env.DB);
		expect(body.results).toEqual([{ id: c.id, passed: true, outcome: "passed", epoch: open }]);
		const counts = (await callJson<{ node: { challenges: unknown } }>(`/v1/nodes/${node.id}`)).body.node.challenges;
		expect(counts).toMatchObject({ issued: 1, passed: 1, failed: 0, missed: 0 }); // counted as it was told
	});
});

describe("HTTP heartbeat nodes and renting", () => {
	it("are never rentable capacity: not in /v1/prices, quotes or the scheduler, while a WebSocket node is", async () => {
		const onlineGpus = async () =>
			(await callJson<{ prices: { gpu_model: string; online_gpus: number }[] }>("/v1/prices")).body.prices.find(
				(p) => p.gpu_model === "L40S",
			)?.online_gpus ?? -1;
		const before = await onlineGpus();
		const owner = await newAccount();
		const hardware = { ...HARDWARE, gpu_model: "NVIDIA L40S", gpu_count: 4 };
		const beating = await registerNode(owner, { hardware });
		expect((await beat(beating)).body.status).toBe("online");
		expect(await onlineGpus()).toBe(before); // online, yet nothing can be pushed to it
		const renter = await newAccount("renter");
		await grant(renter.id, 1_000_000);
		const refused = await callJson<{ error: { code: string; available_gpus: number } }>("/v1/clusters", {
			auth: renter.key,
			body: { gpu_model: "L40S", gpu_count: before + 4, hours: 1 },
		});
		expect(refused.status).toBe(422);
		expect(refused.body.error.available_gpus).toBe(before);
		const linked = await registerNode(owner, { hardware });
		await (await connect(linked)).next("welcome");
		await eventually(async () => (await onlineGpus()) === before + 4); // a WebSocket node is capacity
	});
});
