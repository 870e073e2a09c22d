// Flags are visible and reversible: the owner sees each flag's evidence, appeals it with a ticket that names it, and
// staff clear it (audited elsewhere: test/worker/points.test.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { escapeDiscord } from "../../workers/domain/text.ts";
import { drainDiscordOutbox } from "../../workers/services/discord-outbox.ts";
import { flagJudged } from "../../workers/services/verifications.ts";
import { TEST_ADMIN_TOKEN } from "../constants.ts";
import { ask, gateIdleFor, linkViaBot, messagesTo } from "./alert-helpers.ts";
import { fakeState, linkedUser, opt, slash, sub } from "./discord-helpers.ts";
import { callJson, eventually, newAccount, registerNode } from "./helpers.ts";

interface Flag {
	id: string;
	code: string;
	reason: string;
	evidence?: unknown;
	appeal_ticket_id?: string | null;
}

async function flag(nodeId: string, evidence?: Record<string, unknown>, reason = "late together with node_x") {
	return callJson<{ flag: { id: string } }>("/v1/admin/flags", {
		auth: TEST_ADMIN_TOKEN,
		body: { node_id: nodeId, code: "shared_hardware", reason, share: 1, evidence },
	});
}

const AIRDROP = "[Claim your airdrop](https://evil.example) @everyone";

/** A Telegram message to `chat` containing `text`, waiting (bounded) for the gate to deliver it. */
async function telegramTo(chat: number, text: string) {
	return eventually(async () => (await messagesTo(chat)).find((m) => m.text.includes(text)) ?? null);
}

/** The bot's DMs to a Discord user containing `text`, waiting (bounded). */
async function dmTo(userId: string, text: string) {
	return eventually(async () => {
		const s = await fakeState();
		const channel = s.dm_channels.find((d) => d.recipient_id === userId)?.channel_id;
		return s.posts.find((p) => p.channel_id === channel && p.content.includes(text)) ?? null;
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

	it("reach the owner at once, in Telegram and as a Discord DM, with how to appeal; reason as typed", async () => {
		const owner = await newAccount();
		const node = await registerNode(owner, { name: "rig-7" });
		const chat = await linkViaBot(owner);
		const user = await linkedUser(owner);
		const created = await flag(node.id, undefined, `late with node_x ${AIRDROP}`);
		expect(created.status).toBe(201);
		const id = created.body.flag.id;
		// Sent right after the answer (no cron run): telegramTo and dmTo wait for them.
		const tg = await telegramTo(chat, id);
		expect(tg?.text.split("\n")).toEqual([
			`🚩 Your node rig-7 (${node.id}) was flagged: shared_hardware, 100% of its points withheld while the flag stands.`,
			`Reason: late with node_x ${AIRDROP}`,
			`Appeal: /ticket appeal ${id} <why the flag is wrong> — or POST /v1/tickets with "flag_id": "${id}".`,
		]);
		const dm = await dmTo(user.id, id);
		expect(dm?.content).toContain(`**Reason:** late with node\\_x ${escapeDiscord(AIRDROP)}`);
		expect(dm?.content).not.toContain("[Claim your airdrop](");
		expect(dm?.allowed_mentions).toEqual({ parse: [] });
		expect(dm?.content).toContain(`Appeal: \`/ticket open flag:${id}\``);
		// The DM's command opens the appeal from Discord.
		const opened = await slash(user, "ticket", [
			sub("open", opt("subject", "appeal"), opt("body", "one card per node"), opt("flag", id)),
		]);
		expect(opened.content).toMatch(/^🎫 Opened `tkt_/);
		const mine = await callJson<{ tickets: { flag_id: string; node_id: string; opened_via: string }[] }>(
			"/v1/tickets",
			{ auth: owner.key },
		);
		expect(mine.body.tickets).toEqual([
			expect.objectContaining({ flag_id: id, node_id: node.id, opened_via: "discord" }),
		]);
		// Drained again (the next cron): nothing is sent twice.
		await drainDiscordOutbox(env, Date.now());
		await gateIdleFor(chat);
		expect((await messagesTo(chat)).filter((m) => m.text.includes(`flagged`))).toHaveLength(1);
	});

	it("close the loop: a Telegram appeal names the flag, and clearing the flag answers and closes it", async () => {
		const owner = await newAccount();
		const node = await registerNode(owner);
		const chat = await linkViaBot(owner);
		const id = (await flag(node.id)).body.flag.id;
		await drainDiscordOutbox(env, Date.now());
		await telegramTo(chat, "was flagged");
		await gateIdleFor(chat);
		const answer = await ask(chat, `/ticket appeal ${id} one card per node\nsee the photo`);
		const ticketId = /tkt_[A-Za-z0-9_-]+/.exec(answer)?.[0] as string;
		expect(answer).toBe(
			`🎫 Opened ${ticketId}: your appeal of ${id} (node ${node.id}). Staff's answer will come here.`,
		);
		const other = await newAccount();
		const otherChat = await linkViaBot(other);
		expect(await ask(otherChat, `/ticket appeal ${id} mine too`)).toMatch(/another account's node/);

		const cleared = await callJson(`/v1/admin/flags/${id}`, { method: "DELETE", auth: TEST_ADMIN_TOKEN });
		expect(cleared.status).toBe(200);
		const view = await callJson<{
			ticket: { status: string; flag_id: string; closed_by: string };
			messages: { body: string; author: { role: string } }[];
		}>(`/v1/tickets/${ticketId}`, { auth: owner.key });
		expect(view.body.ticket).toMatchObject({ status: "closed", flag_id: id, closed_by: "admin" });
		expect(view.body.messages.at(-1)).toMatchObject({
			author: { role: "staff" },
			body: `The flag ${id} was cleared by staff, so this appeal is closed. Thank you for raising it.`,
		});
		await drainDiscordOutbox(env, Date.now());
		const told = await telegramTo(chat, "was cleared");
		expect(told?.text).toBe(
			`✅ The flag ${id} (shared_hardware) on your node ${node.id} was cleared by staff: ` +
				`its points are no longer withheld. Your appeal ${ticketId} is answered and closed.`,
		);
		// Clearing again is a 404 and changes nothing more.
		const again = await callJson(`/v1/admin/flags/${id}`, { method: "DELETE", auth: TEST_ADMIN_TOKEN });
		expect(again.status).toBe(404);
		const after = await callJson<{ messages: unknown[] }>(`/v1/tickets/${ticketId}`, { auth: owner.key });
		expect(after.body.messages).toHaveLength(2);
	});

	it("tell the owner of a coordinator's judgement once, however often it is reached", async () => {
		const owner = await newAccount();
		const node = await registerNode(owner);
		const chat = await linkViaBot(owner);
		const claim = { id: node.id, gpu_model: "RTX 4090", gpu_count: 1 };
		const evidence = { with: ["node_y"] };
		await flagJudged(env, claim, "shared_hardware", "answered late with node_y", evidence, `r1:${node.id}`, Date.now());
		await flagJudged(
			env,
			claim,
			"shared_hardware",
			"answered late with node_y",
			evidence,
			`r1:${node.id}`,
			Date.now() + 1,
		);
		await drainDiscordOutbox(env, Date.now());
		await telegramTo(chat, "was flagged");
		await gateIdleFor(chat);
		const flagged = (await messagesTo(chat)).filter((m) => m.text.includes("was flagged"));
		expect(flagged.map((m) => m.text.split("\n")[1])).toEqual(["Reason: answered late with node_y"]);
	});
});
