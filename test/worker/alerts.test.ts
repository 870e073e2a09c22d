// The alert pipeline in the real runtime: real sockets drop, the shard hands flips to the owner's OperatorAlerts, the
// gate delivers to the fake Bot API.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	call,
	callJson,
	connect,
	eventually,
	keepAlive,
	newAccount,
	registerNode,
	type Link,
	type TestNode,
} from "./helpers.ts";
import {
	alertsSaw,
	closeGroup,
	exactlyMessages,
	gateIdleFor,
	linkChat,
	messagesTo,
	received,
	throttle,
} from "./alert-helpers.ts";
import { advanceAlerts } from "./clock.ts";
import { escapeDiscord } from "../../workers/domain/text.ts";

async function fleet(
	owner: { id: string; key: string },
	region: string,
	n: number,
): Promise<{ nodes: TestNode[]; links: Link[] }> {
	const nodes = await Promise.all(
		Array.from({ length: n }, (_, i) => registerNode(owner, { region, name: `rig-${i}` })),
	);
	const links = await Promise.all(nodes.map((node) => connect(node)));
	await Promise.all(links.map((l) => l.next("welcome")));
	return { nodes, links };
}

/** The agent stops on purpose ("bye"): a drop the operator hears about, never counted toward a coordinator incident. */
function bye(link: Link): void {
	link.ws.send(JSON.stringify({ type: "bye" }));
}

// Each test owns its region (shard), account and chat, so they run side by side; only the gate restart runs alone.
describe.concurrent("alert pipeline", () => {
	it("sends one message when one node goes down", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const { links } = await fleet(owner, "one-down", 1);
		links[0]?.ws.close(1000, "bye");
		await closeGroup(owner, "offline", 1);
		const [m, ...rest] = await exactlyMessages(owner, chat, 1);
		expect(rest).toEqual([]);
		expect(m?.text).toMatch(/^🔴 1 node offline\n• rig-0 — disconnected, last seen \d\d:\d\d:\d\d UTC$/);
	});

	it("sends one message for 200 nodes of one operator that drop at once", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const { links } = await fleet(owner, "drop-200", 200);
		links.forEach(bye);
		const [m, ...rest] = await exactlyMessages(owner, chat, 1, 4000);
		expect(rest).toEqual([]);
		expect(m?.text).toMatch(/^🔴 200 nodes offline\n/);
		expect(m?.text).toContain("…and 176 more");
		expect(m?.text.length).toBeLessThanOrEqual(1900);
	});

	it("sends one back-online message with the downtime", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const { nodes, links } = await fleet(owner, "back", 1);
		links[0]?.ws.close(1000);
		await closeGroup(owner, "offline", 1);
		await exactlyMessages(owner, chat, 1, 0);
		const again = await connect(nodes[0] as TestNode);
		await again.next("welcome");
		const stop = keepAlive(again);
		await closeGroup(owner, "online", 1);
		const [, back, ...rest] = await exactlyMessages(owner, chat, 2);
		stop();
		expect(rest).toEqual([]);
		expect(back?.text).toMatch(/^🟢 1 node back online\n• rig-0 — down \d+s$/);
	});

	it("stays quiet for a muted node, and says what is still offline when the mute is lifted", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const { links } = await fleet(owner, "muted", 2);
		expect((await call("/v1/alerts/mutes", { auth: owner.key, body: { target: "all", duration: "1h" } })).status).toBe(
			201,
		);
		links.forEach(bye);
		await alertsSaw(owner, "offline", 2); // both drops reached the owner's alerts
		await advanceAlerts(owner.id, 4000);
		await gateIdleFor(chat);
		expect(await messagesTo(chat)).toEqual([]);
		expect((await callJson("/v1/alerts/mutes/all", { method: "DELETE", auth: owner.key })).status).toBe(200);
		await closeGroup(owner, "offline", 2);
		const [m] = await exactlyMessages(owner, chat, 1);
		expect(m?.text).toBe("🔔 Mute ended for all nodes. Offline now:\n• rig-0\n• rig-1");
	});

	it("stays quiet for a node in maintenance, and reports it when maintenance ends while it is offline", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const { nodes, links } = await fleet(owner, "maint", 1);
		const node = nodes[0] as TestNode;
		expect(
			(await call(`/v1/nodes/${node.id}`, { method: "PATCH", auth: owner.key, body: { maintenance: true } })).status,
		).toBe(200);
		await alertsSaw(owner, "maintenance", 1);
		bye(links[0] as Link);
		await links[0]?.closed;
		await runDurableObjectAlarm(env.LIVENESS.getByName("maint-0")); // the shard's next sweep hands on whatever it holds
		await advanceAlerts(owner.id, 4000);
		await gateIdleFor(chat);
		expect(await messagesTo(chat)).toEqual([]);
		await call(`/v1/nodes/${node.id}`, { method: "PATCH", auth: owner.key, body: { maintenance: false } });
		await closeGroup(owner, "offline", 1);
		const [m] = await exactlyMessages(owner, chat, 1);
		expect(m?.text).toMatch(/^🔴 1 node offline\n• rig-0 — left maintenance while offline/);
	});

	it("sends one flapping alert for a node that keeps dropping, then stays quiet", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const { nodes, links } = await fleet(owner, "flappy", 1);
		let link = links[0] as Link;
		for (let i = 0; i < 6; i++) {
			bye(link);
			await link.closed;
			link = await connect(nodes[0] as TestNode);
			await link.next("welcome");
		}
		const [m, ...rest] = await exactlyMessages(owner, chat, 1, 4000);
		expect(rest).toEqual([]);
		expect(m?.text).toMatch(
			/^🟠 rig-0 is flapping \(4 drops in 1m\)\. Alerts for it pause until it stays stable for 1m\.$/,
		);
	});

	it("turns a mass drop in one shard into one coordinator-incident notice, not per-node alerts", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const { links } = await fleet(owner, "mass-drop", 4);
		for (const l of links) l.ws.close(1001, "network gone"); // unannounced: the shard calls it our incident
		await Promise.all(links.map((l) => l.closed));
		// the sweep that sees the mass drop, as in recovery.test.ts
		await runDurableObjectAlarm(env.LIVENESS.getByName("mass-drop-0"));
		const [m, ...rest] = await exactlyMessages(owner, chat, 1, 4000);
		expect(rest).toEqual([]);
		expect(m?.text).toMatch(/^⚠️ pulsegrid incident on our side: 4 of your nodes lost the connection/);
		expect(m?.text).not.toContain("🔴");
	});

	it("edits a sent alert into an incident notice when the shard's incident tag comes after it", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const { nodes, links } = await fleet(owner, "late-tag", 1);
		links[0]?.ws.close(1000);
		await closeGroup(owner, "offline", 1);
		const [sent] = await exactlyMessages(owner, chat, 1);
		expect(sent?.text).toMatch(/^🔴 1 node offline/);
		// The shard decides afterwards that this drop was ours (as a mass drop found in a later sweep does).
		await env.ALERTS.getByName(owner.id).receive(
			[],
			[{ incidentId: "inc_latetag0001", nodeIds: [nodes[0]?.id as string] }],
		);
		const edited = await eventually(async () => (await messagesTo(chat)).find((m) => m.edited_at !== null));
		expect(edited?.message_id).toBe(sent?.message_id);
		expect(edited?.text).toMatch(/incident on our side: 1 of your nodes/);
		expect(await exactlyMessages(owner, chat, 1)).toHaveLength(1); // no second message follows the edit
	});

	it("sends each of ten operators exactly one message when their nodes drop together", async () => {
		const owners = await Promise.all(Array.from({ length: 10 }, () => newAccount()));
		const chats = await Promise.all(owners.map(linkChat));
		const fleets = await Promise.all(owners.map((o) => fleet(o, "ten-ops", 10)));
		fleets.flatMap((f) => f.links).forEach(bye);
		for (const [k, chat] of chats.entries()) {
			const [m, ...rest] = await exactlyMessages(owners[k] as { id: string }, chat, 1, 0);
			expect(m?.text).toMatch(/^🔴 10 nodes offline/);
			expect(rest).toEqual([]);
		}
		// Three seconds on, still one each: every deadline of theirs in that time has run, and the gate sent what it held.
		await Promise.all(owners.map((o) => advanceAlerts(o.id, 3000)));
		await Promise.all(chats.map((chat) => gateIdleFor(chat)));
		for (const chat of chats) expect(await messagesTo(chat)).toHaveLength(1);
	});

	it("honours 429 retry_after: waits, then delivers exactly once", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		await throttle(`tg:${chat}`, 2, 2);
		const { links } = await fleet(owner, "throttled", 1);
		bye(links[0] as Link);
		await closeGroup(owner, "offline", 1);
		const [m, ...rest] = await exactlyMessages(owner, chat, 1);
		expect(rest).toEqual([]);
		expect(m?.text).toMatch(/^🔴 1 node offline/);
		const { requests, violations } = await received(`tg:${chat}`);
		expect(requests.map((r) => r.status)).toEqual([429, 429, 200]);
		for (let i = 1; i < requests.length; i++)
			expect((requests[i]?.at ?? 0) - (requests[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(2000);
		expect(violations.filter((v) => v.startsWith(`tg:${chat}`))).toEqual([]);
	});

	it("delivers to a Discord channel webhook as well, and refuses a URL that is not Discord's", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const hook = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
		const bad = await callJson("/v1/alerts/settings", {
			method: "PATCH",
			auth: owner.key,
			body: { discord_webhook_url: `https://evil.example/api/webhooks/${hook}/tok` },
		});
		expect(bad.status).toBe(400);
		const ok = await callJson<{ settings: { discord_webhook: string } }>("/v1/alerts/settings", {
			method: "PATCH",
			auth: owner.key,
			body: { discord_webhook_url: `https://discord.com/api/webhooks/${hook}/secret-token-abcdefghijklmnop` },
		});
		expect(ok.body.settings.discord_webhook).toBe(`https://discord.com/api/webhooks/${hook}/…`);
		const { links } = await fleet(owner, "discord", 1);
		bye(links[0] as Link);
		await closeGroup(owner, "offline", 1);
		const [tg] = await exactlyMessages(owner, chat, 1);
		const [dc, ...rest] = await exactlyMessages(owner, `dc:${hook}`, 1, 0);
		expect(rest).toEqual([]);
		// The same words; Discord gets them escaped, so its markdown shows them as Telegram shows plain text.
		expect(dc?.text).toBe(escapeDiscord(tg?.text ?? "", "keep"));
	});
});

describe("alert delivery across a gate restart", () => {
	it("loses nothing and repeats nothing when the gate restarts while a message waits out a 429", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		await throttle(`tg:${chat}`, 1, 3);
		const { links } = await fleet(owner, "gate-restart", 1);
		bye(links[0] as Link);
		await closeGroup(owner, "offline", 1);
		await eventually(async () => (await received(`tg:${chat}`)).requests.length === 1, 100, 100);
		// the queued message lives in the gate's storage, not its memory
		await evictDurableObject(env.GATE.getByName("global"));
		const [m, ...rest] = await exactlyMessages(owner, chat, 1);
		expect(rest).toEqual([]);
		expect(m?.text).toMatch(/^🔴 1 node offline/);
		expect((await received(`tg:${chat}`)).requests.map((r) => r.status)).toEqual([429, 200]);
	});
});
