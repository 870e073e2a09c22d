// A storm: 50 operators × 100 nodes go silent at once. Each operator gets one message listing all 100, and Telegram's
// limits hold.
import { afterAll, describe, expect, it } from "vitest";
import { innerEntry } from "./inner-entry.ts";
import {
	alertsCoordinator,
	type Coordinator,
	connectAll,
	linkChat,
	registerNodes,
	signUp,
	sleep,
	startFakeBotApi,
	until,
	type FakeBotApiServer,
	type SimNode,
} from "./alert-support.ts";

const OPERATORS = 50;
const NODES_EACH = 100;
const FIRST_CHAT = 8_000_000;

let fake: FakeBotApiServer | undefined;
let c: Coordinator | undefined;
const nodes: SimNode[] = [];

afterAll(async () => {
	for (const n of nodes) n.kill();
	await c?.stop();
	await fake?.close();
});

describe("an alert storm", () => {
	it(`sends at most ${OPERATORS} messages when ${OPERATORS} ` +
		`operators × ${NODES_EACH} nodes go silent at once, losing none`, async () => {
		fake = await startFakeBotApi();
		// Liveness sped up (keepalive 5 s, offline after 12 s, sweep 2 s), four shards; alert rules at their defaults.
		// Incidents off: here every drop is the operators' own, so each one must be reported, grouped.
		c = await alertsCoordinator(fake, {
			vars: {
				HEARTBEAT_INTERVAL_S: "5",
				OFFLINE_AFTER_S: "12",
				SWEEP_INTERVAL_S: "2",
				SHARD_COUNT: "4",
				CHALLENGE_EVERY_S: "100000",
				INCIDENT_MIN_NODES: "100000",
				ALERT_GROUP_WINDOW_S: "10",
				ALERT_EDIT_WINDOW_S: "30",
			},
		});
		// 5,000 sockets through wrangler's dev proxy would exhaust its descriptors: talk to the worker's own entry.
		const entry = { url: await innerEntry(c) };
		const started = Date.now();
		const chats: number[] = [];
		for (let i = 0; i < OPERATORS; i++) {
			const key = await signUp(entry, `storm-op-${i}`);
			await linkChat(entry, fake, key, FIRST_CHAT + i);
			chats.push(FIRST_CHAT + i);
			nodes.push(...(await registerNodes(entry, key, NODES_EACH, `op${i}-rig`)));
		}
		console.log(`storm: ${nodes.length} nodes registered in ${Date.now() - started} ms`);
		await connectAll(entry.url, nodes, { everyMs: 5000 });
		console.log(`storm: connected after ${Date.now() - started} ms`);
		const linkReplies = fake.fake.state.requests.length;

		const silencedAt = Date.now();
		for (const n of nodes) n.silence();
		const alertsTo = (chat: number) =>
			fake?.fake.messagesTo(`tg:${chat}`).filter((m) => !m.text.startsWith("✅")) ?? [];
		const listed = (chat: number) => {
			const m = alertsTo(chat)[0];
			return m ? Number(/^🔴 (\d+) nodes offline/.exec(m.text)?.[1] ?? 0) : 0;
		};
		await until(
			"every operator told about all 100 nodes",
			() => chats.every((chat) => listed(chat) === NODES_EACH),
			150_000,
		);
		await sleep(15_000); // stragglers and duplicates would show by now

		const sends = fake.fake.state.requests
			.slice(linkReplies)
			.filter((r) => r.method === "sendMessage" && r.status === 200);
		const latencies = chats.map((chat) => (alertsTo(chat)[0]?.sent_at ?? Infinity) - silencedAt).sort((a, b) => a - b);
		console.log(
			`storm: ${sends.length} messages, ${fake.fake.state.requests.length - linkReplies - sends.length} ` +
				`other requests; first alert per operator after ${latencies[0]}–${latencies.at(-1)} ms`,
		);
		expect(sends.length).toBe(OPERATORS);
		for (const chat of chats) {
			expect(alertsTo(chat)).toHaveLength(1);
			expect(alertsTo(chat)[0]?.text).toMatch(new RegExp(`^🔴 ${NODES_EACH} nodes offline\\n`));
		}
		expect(fake.fake.state.violations).toEqual([]);
	}, 600_000);
});
