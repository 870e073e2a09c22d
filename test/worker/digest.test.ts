// The daily digest: when it is due (pure), and what an operator who asked for it receives at the fake Bot API.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { nextDigestAt } from "../../workers/services/digest.ts";
import { TEST_ADMIN_TOKEN, call, callJson, eventually, newAccount, registerNode } from "./helpers.ts";
import { gateIdleFor, linkChat, messagesTo, nodeWithPoints, received } from "./alert-helpers.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The digests a chat received (its alerts are other messages), once the gate holds nothing more for it. */
async function digestsTo(chat: number, expected: number): Promise<string[]> {
	const digests = async () =>
		(await messagesTo(chat)).map((m) => m.text).filter((t) => t.startsWith("📋 Daily digest"));
	await eventually(async () => (await digests()).length >= expected, 150, 100);
	await gateIdleFor(chat);
	return digests();
}

/** Makes the account's digest due now and runs its alerts object's alarm, as the next alarm would. */
async function digestDue(accountId: string): Promise<void> {
	const stub = env.ALERTS.getByName(accountId);
	await runInDurableObject(stub, async (_, state) => {
		state.storage.sql.exec(
			"INSERT INTO meta (key, value) VALUES ('digest_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			JSON.stringify(Date.now() - 1000),
		);
		await state.storage.setAlarm(Date.now());
	});
	await runDurableObjectAlarm(stub);
}

describe("nextDigestAt", () => {
	const midnight = Date.UTC(2026, 4, 10);

	it("is today at the hour when the hour is still ahead", () => {
		expect(nextDigestAt(8, midnight + 7 * HOUR)).toBe(midnight + 8 * HOUR);
		expect(nextDigestAt(0, midnight - 1)).toBe(midnight);
	});

	it("is tomorrow at the hour once the hour has come, never now", () => {
		expect(nextDigestAt(8, midnight + 8 * HOUR)).toBe(midnight + DAY + 8 * HOUR);
		expect(nextDigestAt(8, midnight + 20 * HOUR)).toBe(midnight + DAY + 8 * HOUR);
		expect(nextDigestAt(23, midnight + 23 * HOUR + 59 * 60_000)).toBe(midnight + DAY + 23 * HOUR);
	});

	it("is always strictly after now and at most a day ahead", () => {
		for (let t = midnight; t < midnight + 2 * DAY; t += 17 * 60_000) {
			const next = nextDigestAt(6, t);
			expect(next).toBeGreaterThan(t);
			expect(next - t).toBeLessThanOrEqual(DAY);
			expect(new Date(next).getUTCHours()).toBe(6);
		}
	});
});

describe("the daily digest", () => {
	it("sends an operator who asked for it one message with their uptime, points, flags and open tickets", async () => {
		const owner = await newAccount("digester");
		const chat = await linkChat(owner);
		const { node: earner, epoch } = await nodeWithPoints(owner, "rig-a");
		await registerNode(owner, { name: "rig-b" });
		await eventually(
			async () =>
				(await callJson<{ node: { status: string } }>(`/v1/nodes/${earner.id}`)).body.node.status === "offline",
		);
		const flag = await callJson("/v1/admin/flags", {
			auth: TEST_ADMIN_TOKEN,
			body: { node_id: earner.id, code: "gpu_mismatch", reason: "claimed 4090, answers like a 3060", share: 0.5 },
		});
		expect(flag.status).toBe(201);
		expect(
			(await call("/v1/tickets", { auth: owner.key, body: { subject: "why flagged?", body: "it is a 4090" } })).status,
		).toBe(201);
		expect(
			(await call("/v1/alerts/settings", { method: "PATCH", auth: owner.key, body: { digest: true } })).status,
		).toBe(200);
		const ledger = (
			await callJson<{ epochs: { epoch: number; points: number; reward: number; adjustments: number }[] }>(
				"/v1/points",
				{ auth: owner.key },
			)
		).body.epochs;
		expect(ledger.map((e) => e.epoch)).toContain(epoch);
		const points = ledger.reduce((s, e) => s + e.points + e.adjustments, 0);
		expect(points).toBeGreaterThan(0);

		await digestDue(owner.id);
		const [text = "", ...more] = await digestsTo(chat, 1);
		expect(more).toEqual([]);
		expect(text).toMatch(
			/^📋 Daily digest — \d{4}-\d\d-\d\d\nNodes: 2 \(0 online, 1 offline, 0 in maintenance, 1 never connected\)\n/,
		);
		expect(text).toMatch(
			new RegExp(
				"\\nUptime, last 24 h: \\d+\\.\\d% on average; 1 drop \\(coordinator incidents not counted\\)" +
					"\\n• rig-b: 0\\.0%\\n• rig-a: \\d+\\.\\d%, 1 drop\\n",
			),
		);
		expect(text).toMatch(
			new RegExp(
				`\\nPoints, last 24 h: ${points} in \\d+ settled epochs?, reward [\\d.]+ tokens \\(GET /v1/points\\)\\n`,
			),
		);
		expect(text).toContain(
			"\nFlags: 1 active (appeal with a support ticket)\n" +
				"• rig-a: gpu_mismatch (−50% points) — claimed 4090, answers like a 3060\n",
		);
		expect(text).toContain("\nOpen support tickets: 1\n");
		expect(text).not.toMatch(/not live/);

		// Due again only tomorrow: the alarm's work a second later sends nothing.
		await env.ALERTS.getByName(owner.id).tick(Date.now() + 1000);
		expect(await digestsTo(chat, 1)).toHaveLength(1);
	});

	it("sends nothing to an operator who did not ask for it", async () => {
		const owner = await newAccount("quiet");
		const chat = await linkChat(owner);
		await registerNode(owner, { name: "rig-q" });
		const settings = await callJson<{ settings: { digest: boolean } }>("/v1/alerts/settings", { auth: owner.key });
		expect(settings.body.settings.digest).toBe(false);
		await digestDue(owner.id);
		expect(await digestsTo(chat, 0)).toEqual([]);
		expect((await received(`tg:${chat}`)).requests).toEqual([]);
	});
});
