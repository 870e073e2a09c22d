// The coordinator is killed (SIGKILL) while alerts are in flight: after it starts again every alert arrives, and none
// twice.
import { afterAll, describe, expect, it } from "vitest";
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

let fake: FakeBotApiServer | undefined;
let c: Coordinator | undefined;

afterAll(async () => {
	await c?.stop();
	await fake?.close();
});

interface Operator {
	key: string;
	chat: number;
	nodes: SimNode[];
}

async function operators(count: number, nodesEach: number, firstChat: number): Promise<Operator[]> {
	const out: Operator[] = [];
	for (let i = 0; i < count; i++) {
		const key = await signUp(c as Coordinator, `op-${firstChat + i}`);
		const chat = firstChat + i;
		await linkChat(c as Coordinator, fake as FakeBotApiServer, key, chat);
		const nodes = await registerNodes(c as Coordinator, key, nodesEach);
		await connectAll((c as Coordinator).url, nodes);
		out.push({ key, chat, nodes });
	}
	return out;
}

/** Alerts in a chat (the bot's own reply to /start is not one). */
const alerts = (chat: number) =>
	(fake as FakeBotApiServer).fake.messagesTo(`tg:${chat}`).filter((m) => !m.text.startsWith("✅"));

async function restart(): Promise<void> {
	const { port, persistDir, adminToken } = c as Coordinator;
	await (c as Coordinator).stop("SIGKILL");
	c = await alertsCoordinator(fake as FakeBotApiServer, {
		port,
		persistDir,
		vars: { ADMIN_TOKEN: adminToken, ALERT_GROUP_WINDOW_S: "5", INCIDENT_MIN_NODES: "100000" },
	});
}

describe("alert delivery across a coordinator crash", () => {
	it(
		"delivers alerts that were waiting out a 429, " + "and alerts still inside their group window, exactly once",
		async () => {
			fake = await startFakeBotApi();
			// Incidents off: every drop here is an operator-side drop, so each operator gets a plain down alert.
			c = await alertsCoordinator(fake, { vars: { ALERT_GROUP_WINDOW_S: "5", INCIDENT_MIN_NODES: "100000" } });

			// Six operators; three of their chats answer the first request with 429 retry_after 10 s.
			const ops = await operators(6, 2, 7_000_100);
			for (const op of ops.slice(0, 3)) fake.fake.throttle(`tg:${op.chat}`, 1, 10);
			for (const op of ops) op.nodes.forEach((n) => n.kill());
			await until(
				"three alerts delivered and three refused with 429",
				() =>
					ops.slice(3).every((op) => alerts(op.chat).length === 1) &&
					ops
						.slice(0, 3)
						.every((op) => fake?.fake.state.requests.some((r) => r.dest === `tg:${op.chat}` && r.status === 429)),
			);

			// Two more operators whose nodes drop just before the crash: their alerts are still inside the group window.
			const late = await operators(2, 2, 7_000_200);
			for (const op of late) op.nodes.forEach((n) => n.kill());
			await until("the late drops recorded", async () => {
				const res = await fetch(`${c?.url}/v1/nodes`, { headers: { authorization: `Bearer ${late[1]?.key}` } });
				return ((await res.json()) as { nodes: { status: string }[] }).nodes.every((n) => n.status === "offline");
			});
			expect(late.every((op) => alerts(op.chat).length === 0)).toBe(true);

			await restart();

			const all = [...ops, ...late];
			await until("every operator alerted", () => all.every((op) => alerts(op.chat).length >= 1), 120_000);
			await sleep(8000); // anything duplicated would arrive by now
			for (const op of all) {
				expect(alerts(op.chat).map((m) => m.text.split("\n")[0])).toEqual(["🔴 2 nodes offline"]);
			}
			for (const op of ops.slice(0, 3)) {
				const reqs = fake.fake.state.requests.filter(
					(r) => r.dest === `tg:${op.chat}` && r.method === "sendMessage" && !r.text.startsWith("✅"),
				);
				expect(reqs.map((r) => r.status)).toEqual([429, 200]);
				expect((reqs[1]?.at ?? 0) - (reqs[0]?.at ?? 0)).toBeGreaterThanOrEqual(10_000);
			}
			expect(fake.fake.state.violations).toEqual([]);
		},
	);

	it(
		"turns a crash that loses every node into one " + "coordinator-incident notice per operator, not a per-node storm",
		async () => {
			await c?.stop();
			await fake?.close();
			fake = await startFakeBotApi();
			c = await alertsCoordinator(fake);
			const ops = await operators(4, 5, 7_000_300);
			await sleep(2500); // a checkpoint records the shard's clock
			const { port, persistDir, adminToken } = c;
			await c.stop("SIGKILL"); // every socket is gone, and these simulated agents do not come back
			for (const op of ops) op.nodes.forEach((n) => n.kill());
			c = await alertsCoordinator(fake, { port, persistDir, vars: { ADMIN_TOKEN: adminToken } });

			await until("every operator told", () => ops.every((op) => alerts(op.chat).length >= 1), 120_000);
			await sleep(6000);
			for (const op of ops) {
				const [m, ...rest] = alerts(op.chat);
				expect(rest).toEqual([]);
				expect(m?.text).toMatch(
					/^⚠️ pulsegrid incident on our side: 5 of your nodes lost the connection to the coordinator\./,
				);
				expect(m?.text).not.toContain("🔴");
			}
			const flips = (await (await fetch(`${c.url}/v1/nodes/${ops[0]?.nodes[0]?.id}/flips`)).json()) as {
				flips: { reason: string; incident_id: string | null }[];
			};
			expect(flips.flips[0]).toMatchObject({
				reason: "coordinator_restart",
				incident_id: expect.stringMatching(/^inc_/),
			});
		},
	);
});
