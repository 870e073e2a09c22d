// Alerts with real agent processes and the bot over the real webhook: a frozen agent is reported once, and its return
// once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type RunningAgent } from "./support.ts";
import {
	alertsCoordinator,
	linkChat,
	signUp,
	startFakeBotApi,
	telegramUpdate,
	until,
	type Coordinator,
	type FakeBotApiServer,
} from "./alert-support.ts";

let fake: FakeBotApiServer;
let c: Coordinator;
const agents: RunningAgent[] = [];

beforeAll(async () => {
	fake = await startFakeBotApi();
	c = await alertsCoordinator(fake);
});

afterAll(async () => {
	for (const a of agents) a.signal("SIGTERM");
	await Promise.all(agents.map((a) => a.exited));
	await c?.stop();
	await fake?.close();
});

const texts = (chat: number) => fake.fake.messagesTo(`tg:${chat}`).map((m) => m.text);

describe("alerts with real agents", () => {
	it("reports a frozen agent once, then its return with the downtime", async () => {
		const key = await signUp(c, "agent-op");
		const chat = 9_000_001;
		await linkChat(c, fake, key, chat);
		const agent = await startAgent(c, key, "rig-frozen");
		agents.push(agent);
		await agent.waitFor("welcome");
		expect(await telegramUpdate(c, chat, "/nodes")).toBe(200);
		expect(texts(chat).at(-1)).toMatch(/^🟢 rig-frozen \(node_/);

		agent.signal("SIGSTOP"); // the process stops answering; its socket stays open
		try {
			await until("the down alert", () => texts(chat).some((t) => t.startsWith("🔴")), 60_000);
		} finally {
			agent.signal("SIGCONT");
		}
		const down = fake.fake.messagesTo(`tg:${chat}`).find((m) => m.text.startsWith("🔴"));
		expect(down?.text).toMatch(/^🔴 1 node offline\n• rig-frozen — stopped answering, last seen/);

		await agent.waitFor("welcome", 2);
		await until("the back-online alert", () => texts(chat).some((t) => t.startsWith("🟢 1 node back online")), 60_000);
		await new Promise((r) => setTimeout(r, 4000));
		expect(texts(chat).filter((t) => t.startsWith("🔴") || t.startsWith("🟢 1 node back"))).toHaveLength(2);
		expect(texts(chat).find((t) => t.startsWith("🟢 1 node back"))).toMatch(
			/^🟢 1 node back online\n• rig-frozen — down \d+s$/,
		);
	});
});
