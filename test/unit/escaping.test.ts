// User text in bot messages: Discord's one escaping function shows any text exactly as typed with no markup or mention
// active, and no user text can start a line of its own (Telegram's messages are plain text, so that is all it needs).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_ALERT_RULES, type Notice } from "../../workers/domain/alerts.ts";
import { renderNotice } from "../../workers/domain/alert-text.ts";
import { closedPost, code, newTicketPost, quote, replyPost } from "../../workers/domain/ticket-text.ts";
import { DISCORD_CONTENT_MAX, escapeDiscord, oneLine } from "../../workers/domain/text.ts";
import { discordContent } from "../../workers/transports/discord.ts";

/** Characters Discord's markdown acts on: emphasis, spoilers, code, quotes, headings, lists, links, mentions. */
const ACTIVE = new Set([..."\\*_~`|>#-[]()<@"]);

/**
 * How Discord reads escaped text, as its markdown (simple-markdown) does: a backslash before any character that is not
 * a letter, digit or space shows that character literally. Returns what is shown, or the first active character found.
 */
function render(text: string): { shown: string } | { active: string; at: number } {
	let shown = "";
	for (let i = 0; i < text.length; i++) {
		const c = text[i] as string;
		const next = text[i + 1];
		if (c === "\\" && next !== undefined && /[^0-9A-Za-z\s]/.test(next)) {
			shown += next;
			i++;
		} else if (ACTIVE.has(c)) return { active: c, at: i };
		else shown += c;
	}
	return { shown };
}

const HOSTILE = [
	"[Claim your airdrop](https://evil.example) @everyone",
	"@here <@123> <@&456> <#789> <t:0:R>",
	"`code` ``` block ``` **bold** __under__ ~~gone~~ ||spoiler||",
	"# Heading\n-# small\n> quoted\n- item",
	"line one\nNode: `node_forged`\r\n**Status:** closed\u2028x\u0085y",
	"back\\slash \\*not escaped\\*",
	"<b>bold</b> &amp; & \u0000 \u001b[31m",
];

describe("escapeDiscord", () => {
	it("shows hostile names exactly as typed, on one line, with nothing active", () => {
		for (const name of HOSTILE) {
			const escaped = escapeDiscord(name);
			expect(escaped).not.toMatch(/[\n\r\u2028\u2029\u0085]/);
			expect(render(escaped), name).toEqual({ shown: oneLine(name) });
		}
		expect(escapeDiscord("[Claim your airdrop](https://evil.example) @everyone")).toBe(
			"\\[Claim your airdrop\\]\\(https://evil.example\\) \\@everyone",
		);
	});

	it("renders any text back to itself (one line), with no markdown or mention active", () => {
		fc.assert(
			fc.property(fc.string({ unit: "binary" }), (text) => {
				const escaped = escapeDiscord(text);
				expect(escaped.split("\n")).toHaveLength(1);
				expect(render(escaped)).toEqual({ shown: oneLine(text) });
			}),
			{ numRuns: 500 },
		);
	});

	it("keeps the lines of a whole message when asked to, each rendering back to itself", () => {
		fc.assert(
			fc.property(fc.array(fc.string({ unit: "grapheme-ascii" }).map(oneLine), { maxLength: 5 }), (lines) => {
				const escaped = escapeDiscord(lines.join("\n"), "keep").split("\n");
				expect(escaped).toHaveLength(Math.max(1, lines.length));
				expect(escaped.map(render)).toEqual((lines.length ? lines : [""]).map((l) => ({ shown: l })));
			}),
		);
	});

	it("quotes every line of a body, so no line of it can leave the quote", () => {
		fc.assert(
			fc.property(fc.string(), (body) => {
				for (const line of quote(body, 1000).split("\n")) {
					expect(line.startsWith("> ")).toBe(true);
					expect(render(line.slice(2))).toHaveProperty("shown");
				}
			}),
		);
	});

	it("keeps inline code one piece of inline code, whatever the text", () => {
		fc.assert(
			fc.property(fc.string(), (text) => {
				const c = code(text);
				expect(c.startsWith("`") && c.endsWith("`")).toBe(true);
				expect(c.slice(1, -1)).not.toMatch(/[`\n\r]/);
			}),
		);
	});
});

describe("oneLine", () => {
	it("turns every line break and control character into a space, and leaves other text alone", () => {
		expect(oneLine("a\nb\r\nc\u2028d\u0085e\u0000f\tg")).toBe("a b c d e f g");
		expect(oneLine("<b>x</b> & *y* [z](https://e.example) 🟢")).toBe("<b>x</b> & *y* [z](https://e.example) 🟢");
		fc.assert(
			fc.property(fc.string({ unit: "binary" }), (text) => {
				expect(oneLine(text)).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
			}),
		);
	});
});

describe("staff posts about tickets", () => {
	const ticket = {
		id: "tkt_1",
		subject: "help\n**Node:** `node_forged`\n@everyone",
		status: "open",
		node_id: null,
		account_id: "acc_1",
	};
	const message = {
		author_name: "<@123> ||x||",
		author_role: "owner" as const,
		via: "api" as const,
		body: "hi\n**Node:** node_forged\n# loud",
	};

	it("cannot be given a forged line by a subject, a name or a body", () => {
		for (const post of [
			newTicketPost(ticket, "[Claim](https://evil.example) @here", message),
			replyPost(ticket, message),
			closedPost(ticket, "`staff`\n**Node:** x", "discord"),
		]) {
			const lines = post.split("\n");
			// Only the bot's own bold labels open a line; the user's lines are all inside the quote.
			expect(lines.filter((l) => l.startsWith("**Node:**"))).toEqual([]);
			for (const l of lines)
				expect(
					l.startsWith("🎫") ||
						l.startsWith("💬") ||
						l.startsWith("🔒") ||
						/^(\*\*Subject:\*\* |> |Answer with )/.test(l),
					l,
				).toBe(true);
			expect(post).not.toMatch(/(^|[^\\])@(everyone|here)/);
			expect(post).not.toMatch(/(^|[^\\])<@/);
			expect(post).not.toMatch(/(^|[^\\])\[Claim\]\(/);
		}
		expect(newTicketPost(ticket, "ada", message)).toContain(
			"**Subject:** help \\*\\*Node:\\*\\* \\`node\\_forged\\` \\@everyone",
		);
	});
});

describe("alert messages", () => {
	it("keep each node's name on its own line, whatever the name holds", () => {
		const notice: Notice = {
			down: [{ nodeId: "node_a", since: 0, reason: "disconnected" }],
			incident: [],
			up: [{ nodeId: "node_b", downtimeMs: 60_000, afterIncident: false }],
			flapping: [],
			stable: [],
			muteEnded: [],
		};
		const names: Record<string, string> = { node_a: "rig\n🟢 9 nodes back online\n• fake", node_b: "ok" };
		const text = renderNotice(notice, (id) => names[id] ?? id, DEFAULT_ALERT_RULES);
		expect(text.split("\n")).toEqual([
			"🔴 1 node offline",
			"• rig 🟢 9 nodes back online • fake — disconnected, last seen 00:00:00 UTC",
			"",
			"🟢 1 node back online",
			"• ok — down 1m",
		]);
	});
});

describe("an alert sent to a Discord webhook", () => {
	it("stays within Discord's limit once escaped, cut only at the end of a whole line", () => {
		const lines = Array.from({ length: 120 }, (_, i) => `• rig_${i}-*gpu*_box (offline since 12:0${i % 10})`);
		const text = lines.join("\n");
		expect(escapeDiscord(text, "keep").length).toBeGreaterThan(DISCORD_CONTENT_MAX); // fits only unescaped
		const sent = discordContent(text);
		expect(sent.length).toBeLessThanOrEqual(DISCORD_CONTENT_MAX);
		expect(sent.endsWith("\n…")).toBe(true);
		const kept = sent.slice(0, -2).split("\n");
		expect(kept).toEqual(lines.slice(0, kept.length).map((l) => escapeDiscord(l, "keep")));
		expect(discordContent("short *alert*")).toBe(escapeDiscord("short *alert*", "keep"));
	});
});
