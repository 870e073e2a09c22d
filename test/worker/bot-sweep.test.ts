// Every bot command that shows stored text, run against an account, node, flag and ticket whose names are hostile
// (markdown links, mentions, forged lines): no answer of either bot lets any of it act (issue 12, item 6).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { rename } from "../../workers/db/nodes.ts";
import { escapeDiscord } from "../../workers/domain/text.ts";
import { callsOf, linkViaBot, sendUpdate, settleEpoch } from "./alert-helpers.ts";
import { type DiscordUser, linkedUser, opt, slash, sub } from "./discord-helpers.ts";
import { TEST_ADMIN_TOKEN, callJson, newAccount, registerNode } from "./helpers.ts";

/** Each hostile text holds a link, a mention and, stored before names were checked, a line break forging a line. */
const ACCOUNT = "[acct](https://evil.example) @everyone";
const NODE = "[node](https://evil.example) @here\n🟢 forged node line";
const REASON = "[flag](https://evil.example) <@123> ||spoiler||";
const SUBJECT = "[subject](https://evil.example) @everyone";
const BODY = "first line\n**Node:** forged ticket line\n@here";

/** What no answer may contain: an active link of ours, an unescaped mass mention, or a forged line. */
function harmless(text: string, where: string): void {
	expect(text, where).not.toMatch(/\[(acct|node|flag|subject)\]\(/);
	expect(text, where).not.toMatch(/(^|[^\\])@(everyone|here)/);
	for (const line of text.split("\n")) {
		expect(line, where).not.toMatch(/^(🟢 forged|\*\*Node:\*\* forged)/);
	}
}

let user: DiscordUser;
let chat: number;
let nodeId: string;
let ticketId: string;
let epoch: number;

beforeAll(async () => {
	const account = await newAccount(ACCOUNT);
	const node = await registerNode(account, { name: "rig-sweep" });
	nodeId = node.id;
	await rename(env.DB, node.id, NODE); // as a name stored before names were checked
	const flagged = await callJson("/v1/admin/flags", {
		auth: TEST_ADMIN_TOKEN,
		body: { node_id: node.id, code: "manual_review", reason: REASON, share: 0.5 },
	});
	expect(flagged.status).toBe(201);
	const ticket = await callJson<{ ticket: { id: string } }>("/v1/tickets", {
		auth: account.key,
		body: { subject: SUBJECT, body: BODY, node_id: node.id },
	});
	expect(ticket.status).toBe(201);
	ticketId = ticket.body.ticket.id;
	epoch = await settleEpoch();
	user = await linkedUser(account);
	chat = await linkViaBot(account);
});

describe("every bot command, with hostile stored text", () => {
	it("keeps every Discord answer inert: escaped text, no mention allowed", async () => {
		const runs: [string, Parameters<typeof slash>[2]][] = [
			["status", []],
			["node", [opt("id", nodeId)]],
			["points", [opt("epoch", epoch)]],
			["leaderboard", [opt("epoch", epoch)]],
			["network", []],
			["ticket", [sub("list")]],
			["ticket", [sub("view", opt("id", ticketId))]],
			["help", []],
		];
		const shown: string[] = [];
		for (const [name, options] of runs) {
			const answer = await slash(user, name, options);
			const where = `/${name} ${JSON.stringify(options)}`;
			expect(answer.status, where).toBe(200);
			expect(answer.allowedMentions, where).toEqual({ parse: [] });
			harmless(answer.content, where);
			shown.push(answer.content);
		}
		// The hostile texts are in the answers, shown as typed (escaped), so the checks above looked at them.
		for (const text of [ACCOUNT, NODE, REASON, SUBJECT]) expect(shown.join("\n")).toContain(escapeDiscord(text));
	});

	it("keeps every Telegram answer plain text with no forged line", async () => {
		for (const command of ["/status", "/nodes", "/points", "/ticket list", `/ticket view ${ticketId}`, "/alerts"]) {
			expect((await sendUpdate(chat, command)).status, command).toBe(200);
		}
		const sent = (await callsOf("sendMessage")).filter((c) => c.body.chat_id === chat);
		expect(sent.length).toBeGreaterThanOrEqual(7); // the link's answer and the six above
		for (const c of sent) {
			expect(c.body, String(c.body.text)).not.toHaveProperty("parse_mode");
			const text = String(c.body.text);
			expect(text).not.toMatch(/^(🟢 forged|\*\*Node:\*\* forged)/m);
		}
		// The node's name is in the answers, as typed but on one line.
		expect(sent.some((c) => String(c.body.text).includes("[node](https://evil.example) @here 🟢 forged"))).toBe(true);
	});
});
