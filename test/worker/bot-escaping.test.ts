// Hostile names in every bot message: Discord shows them as typed (escaped, mentions disabled), Telegram as plain text
// (no parse mode), and neither lets a name or a subject start a line of its own.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rename } from "../../workers/db/nodes.ts";
import { escapeDiscord } from "../../workers/domain/text.ts";
import { callsOf, linkViaBot, messagesTo, sendUpdate, settleEpoch } from "./alert-helpers.ts";
import { linkedUser, opt, slash, staffPosts } from "./discord-helpers.ts";
import { callJson, newAccount, registerNode } from "./helpers.ts";

const AIRDROP = "[Claim your airdrop](https://evil.example) @everyone";
const MENTIONS = "<@123> <@&456> @here ||spoiler|| `tick` **bold**";
/** A name stored before names were checked, with a line break that would forge a line. */
const FORGED = "rig\n🟢 online since forever";
const TELEGRAM_HTML = "<b>boss</b> &amp; & <i>me</i> *x* _y_ [z](https://e.example)";

/** A part of `text` that shows `name` as typed and could not be anything else: every markdown character escaped. */
function shown(name: string): string {
	return escapeDiscord(name);
}

describe("hostile names in Discord", () => {
	it("shows a markdown-link account name in the public /leaderboard as text, with mentions disabled", async () => {
		const account = await newAccount(AIRDROP);
		const user = await linkedUser(account);
		await registerNode(account);
		const epoch = await settleEpoch();
		const answer = await slash(user, "leaderboard", [opt("epoch", epoch)]);
		expect(answer.flags).toBe(0); // public
		expect(answer.content).toContain(`**${shown(AIRDROP)}**`);
		expect(shown(AIRDROP)).toBe("\\[Claim your airdrop\\]\\(https://evil.example\\) \\@everyone");
		expect(answer.content).not.toContain("[Claim your airdrop](");
		expect(answer.allowedMentions).toEqual({ parse: [] });
	});

	it("escapes node names, mentions and spoilers in /status; a name with a line break stays on its line", async () => {
		const account = await newAccount(MENTIONS);
		const user = await linkedUser(account);
		const a = await registerNode(account, { name: "rig-a" });
		const b = await registerNode(account, { name: "rig-b" });
		await rename(env.DB, a.id, MENTIONS);
		await rename(env.DB, b.id, FORGED);
		const answer = await slash(user, "status");
		expect(answer.content).toContain(`**${shown(MENTIONS)}** — 2 nodes`);
		expect(answer.content).toContain(`**${shown(MENTIONS)}** \`${a.id}\``);
		expect(answer.content).toContain(`**rig 🟢 online since forever** \`${b.id}\``);
		expect(answer.content.split("\n").filter((l) => l.startsWith("🟢"))).toEqual([]);
		expect(answer.content).not.toMatch(/(^|[^\\])(<@|@here|\|\||\*\*bold)/);
		expect(answer.allowedMentions).toEqual({ parse: [] });
	});

	it("escapes the account name and body in the staff post, every line of the body kept in its quote", async () => {
		const account = await newAccount(`${AIRDROP}`);
		const { body } = await callJson<{ ticket: { id: string } }>("/v1/tickets", {
			auth: account.key,
			body: { subject: `${MENTIONS} [x](https://evil.example)`, body: "it broke\n**Node:** `node_forged`\n@here" },
		});
		const [post] = await staffPosts(body.ticket.id);
		const content = post?.content ?? "";
		expect(content).toContain(`from **${shown(AIRDROP)}**`);
		expect(content).toContain(`**Subject:** ${shown(`${MENTIONS} [x](https://evil.example)`)}`);
		expect(content).toContain("> it broke\n> \\*\\*Node:\\*\\* \\`node\\_forged\\`\n> \\@here");
		expect(content.split("\n").filter((l) => l.startsWith("**Node:**"))).toEqual([]);
		expect(post?.allowed_mentions).toEqual({ parse: [] });
	});
});

describe("hostile names in Telegram", () => {
	it("sends names as plain text, without a parse mode, and keeps a name with a line break on its line", async () => {
		const account = await newAccount(TELEGRAM_HTML);
		const node = await registerNode(account, { name: "rig-t" });
		await rename(env.DB, node.id, FORGED);
		const chat = await linkViaBot(account);
		const res = await sendUpdate(chat, "/nodes");
		expect(res.status).toBe(200);
		const nodes = (await messagesTo(chat)).at(-1)?.text ?? "";
		expect(nodes.split("\n")).toHaveLength(1);
		expect(nodes).toMatch(/^⚪ rig 🟢 online since forever \(node_/);
		await sendUpdate(chat, "/status");
		expect((await messagesTo(chat)).at(-1)?.text).toMatch(
			/^<b>boss<\/b> &amp; & <i>me<\/i> \*x\* _y_ \[z\]\(https:\/\/e\.example\): 1 node/,
		);
		const sent = (await callsOf("sendMessage")).filter((c) => c.body.chat_id === chat);
		expect(sent.length).toBeGreaterThanOrEqual(3);
		for (const c of sent) {
			expect(c.body).not.toHaveProperty("parse_mode");
			expect(c.body).not.toHaveProperty("entities");
		}
	});
});
