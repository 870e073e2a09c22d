// The Discord bot's pure parts: command metadata as Discord accepts it, option parsing, signature freshness, staff ids,
// node order.
import { describe, expect, it } from "vitest";
import { COMMANDS, isSubcommands, registrationPayload, usage } from "../../bots/discord/commands.ts";
import { parseCommand } from "../../bots/discord/options.ts";
import { idList } from "../../workers/config.ts";
import { MAX_SIGNATURE_AGE_S, timestampFresh } from "../../bots/discord/verify.ts";
import { STATUS_ICON, STATUS_LABEL, statusSummary } from "../../workers/domain/node-text.ts";
import { fitLines } from "../../workers/domain/text.ts";
import { isStaff } from "../../workers/domain/tickets.ts";
import { worstFirst } from "../../workers/services/node-views.ts";

const NAME = /^[-_a-z0-9]{1,32}$/;

describe("command metadata", () => {
	it("meets Discord's rules: names, descriptions, at most 25 options, required options first", () => {
		const payload = registrationPayload() as {
			name: string;
			description: string;
			options?: {
				name: string;
				description: string;
				required?: boolean;
				type: number;
				options?: { name: string; description: string; required?: boolean }[];
			}[];
		}[];
		expect(payload.length).toBe(COMMANDS.length);
		expect(new Set(payload.map((c) => c.name)).size).toBe(payload.length);
		const check = (o: {
			name: string;
			description: string;
			options?: { name: string; description: string; required?: boolean }[];
		}) => {
			expect(o.name).toMatch(NAME);
			expect(o.description.length).toBeGreaterThan(0);
			expect(o.description.length).toBeLessThanOrEqual(100);
			const opts = o.options ?? [];
			expect(opts.length).toBeLessThanOrEqual(25);
			const firstOptional = opts.findIndex((x) => !x.required);
			if (firstOptional >= 0) expect(opts.slice(firstOptional).some((x) => x.required)).toBe(false);
		};
		for (const c of payload) {
			check(c);
			for (const o of c.options ?? []) check(o);
		}
	});

	it("sends Discord only its own fields, not ours", () => {
		for (const c of registrationPayload()) {
			expect(c).not.toHaveProperty("private");
			expect(c).not.toHaveProperty("defer");
			expect(c).toMatchObject({ type: 1, contexts: [0, 1], integration_types: [0] });
		}
	});

	it("writes usage from the metadata", () => {
		const ticket = COMMANDS.find((c) => c.name === "ticket");
		const reply = ticket && isSubcommands(ticket.options) ? ticket.options.find((s) => s.name === "reply") : undefined;
		expect(ticket && reply && usage(ticket, reply)).toBe("/ticket reply id:<text> message:<text>");
	});
});

describe("parseCommand", () => {
	it("reads plain options and subcommand options, trimming text", () => {
		expect(parseCommand({ name: "points", options: [{ name: "epoch", type: 4, value: 3 }] })).toMatchObject({
			ok: true,
			values: { epoch: 3 },
		});
		expect(
			parseCommand({
				name: "ticket",
				options: [{ name: "view", type: 1, options: [{ name: "id", type: 3, value: "  tkt_abc " }] }],
			}),
		).toMatchObject({ ok: true, sub: { name: "view" }, values: { id: "tkt_abc" } });
	});

	it(
		"refuses unknown commands, unknown or duplicated options, " +
			"wrong types, bad values and missing ones with a message",
		() => {
			const bad = [
				parseCommand({ name: "nope" }),
				parseCommand({ name: "status", options: [{ name: "x", type: 3, value: "1" }] }),
				parseCommand({ name: "points", options: [{ name: "epoch", type: 3, value: "1" }] }),
				parseCommand({ name: "points", options: [{ name: "epoch", type: 4, value: 0 }] }),
				parseCommand({ name: "points", options: [{ name: "epoch", type: 4, value: 1.5 }] }),
				parseCommand({
					name: "points",
					options: [
						{ name: "epoch", type: 4, value: 1 },
						{ name: "epoch", type: 4, value: 2 },
					],
				}),
				parseCommand({ name: "link" }),
				parseCommand({ name: "link", options: [{ name: "code", type: 3, value: "x".repeat(33) }] }),
				parseCommand({ name: "ticket" }),
				parseCommand({
					name: "ticket",
					options: [{ name: "open", type: 1, options: [{ name: "subject", type: 3, value: "s" }] }],
				}),
				parseCommand({ name: "ticket", options: [{ name: "open", type: 3, value: "s" }] }),
			];
			for (const r of bad) {
				expect(r.ok).toBe(false);
				if (!r.ok) expect(r.message.length).toBeGreaterThan(10);
			}
		},
	);
});

describe("signature freshness", () => {
	const now = 1_800_000_000_000;
	it("accepts a timestamp within 15 minutes either way, and nothing else", () => {
		expect(timestampFresh(String(now / 1000), now)).toBe(true);
		expect(timestampFresh(String(now / 1000 - MAX_SIGNATURE_AGE_S), now)).toBe(true);
		expect(timestampFresh(String(now / 1000 - MAX_SIGNATURE_AGE_S - 1), now)).toBe(false);
		expect(timestampFresh(String(now / 1000 + MAX_SIGNATURE_AGE_S + 1), now)).toBe(false);
		for (const bad of ["", "abc", "1e9", "-1", "1.5"]) expect(timestampFresh(bad, now)).toBe(false);
	});
});

describe("staff ids", () => {
	it("reads ids separated by commas or spaces and ignores anything that is not an id", () => {
		expect([...idList("1, 22 333,,abc 4444")]).toEqual(["1", "22", "333", "4444"]);
		expect(idList("").size).toBe(0);
		expect(idList(undefined).size).toBe(0);
	});
});

describe("worstFirst", () => {
	it("orders offline (longest first), maintenance, never connected, then online (lowest uptime first)", () => {
		const v = (name: string, status: "online" | "offline" | "maintenance" | "new", since: string, uptime = 1) => ({
			name,
			status,
			status_since: since,
			uptime_24h: uptime,
		});
		const sorted = worstFirst([
			v("on-good", "online", "2026-01-01T00:00:00Z", 0.99),
			v("new", "new", "2026-01-01T00:00:00Z"),
			v("off-recent", "offline", "2026-01-02T00:00:00Z"),
			v("maint", "maintenance", "2026-01-01T00:00:00Z"),
			v("off-long", "offline", "2026-01-01T00:00:00Z"),
			v("on-flaky", "online", "2026-01-01T00:00:00Z", 0.5),
		]);
		expect(sorted.map((s) => s.name)).toEqual(["off-long", "off-recent", "maint", "new", "on-flaky", "on-good"]);
	});
});

describe("deferral", () => {
	it(
		"defers every command that calls a Durable Object or reads many rows; " + "only single-row lookups answer at once",
		() => {
			expect(
				COMMANDS.filter((c) => !c.defer)
					.map((c) => c.name)
					.sort(),
			).toEqual(["help", "link", "unlink"]);
			expect(COMMANDS.find((c) => c.name === "alerts")?.defer).toBe(true);
		},
	);
});

describe("staff", () => {
	it("is granted by the door (admin token, Discord role or user) or by a staff account, whichever door it uses", () => {
		expect(isStaff(true, null)).toBe(true);
		expect(isStaff(false, { role: "staff" })).toBe(true);
		expect(isStaff(false, { role: "user" })).toBe(false);
		expect(isStaff(false, null)).toBe(false);
	});
});

describe("node status words", () => {
	it("has one icon and one label for every status, and names every status in the summary", () => {
		for (const s of ["online", "offline", "maintenance", "new"] as const) {
			expect(STATUS_ICON[s]).toBeTruthy();
			expect(STATUS_LABEL[s]).toBeTruthy();
		}
		expect(statusSummary([{ status: "online" }, { status: "offline" }, { status: "online" }])).toBe(
			"2 online, 1 offline, 0 in maintenance, 0 never connected",
		);
		expect(statusSummary([], " · ")).toBe("0 online · 0 offline · 0 in maintenance · 0 never connected");
	});
});

describe("fitLines", () => {
	const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
	const more = (left: number) => `…and ${left} more`;

	it("keeps every line that fits and adds nothing", () => {
		expect(fitLines(["head"], lines.slice(0, 25), more, { maxLines: 25 })).toBe(
			["head", ...lines.slice(0, 25)].join("\n"),
		);
	});

	it("ends a list that is too long with how many were left out, counting that line against the limit", () => {
		const out = fitLines(["head"], lines, more, { maxLines: 25 }).split("\n");
		expect(out).toHaveLength(26);
		expect(out.at(-2)).toBe("line 24");
		expect(out.at(-1)).toBe("…and 6 more");
	});

	it("stops at a character budget, with room left for the last line", () => {
		const out = fitLines([], lines, more, { maxChars: 50 });
		expect(out.length).toBeLessThanOrEqual(50);
		expect(out).toMatch(/…and \d+ more$/);
		const shown = out.split("\n").length - 1;
		expect(out).toContain(`…and ${30 - shown} more`);
	});
});
