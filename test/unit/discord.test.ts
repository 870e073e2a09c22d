// The Discord bot's pure parts: command metadata as Discord accepts it, option parsing, signature freshness, staff ids, node order.
import { describe, expect, it } from "vitest";
import { COMMANDS, isSubcommands, registrationPayload, usage } from "../../bots/discord/commands.ts";
import { parseCommand } from "../../bots/discord/options.ts";
import { idList } from "../../bots/discord/interactions.ts";
import { worstFirst } from "../../bots/discord/node-commands.ts";
import { MAX_SIGNATURE_AGE_S, timestampFresh } from "../../bots/discord/verify.ts";

const NAME = /^[-_a-z0-9]{1,32}$/;

describe("command metadata", () => {
	it("meets Discord's rules: names, descriptions, at most 25 options, required options first", () => {
		const payload = registrationPayload() as { name: string; description: string; options?: { name: string; description: string; required?: boolean; type: number; options?: { name: string; description: string; required?: boolean }[] }[] }[];
		expect(payload.length).toBe(COMMANDS.length);
		expect(new Set(payload.map((c) => c.name)).size).toBe(payload.length);
		const check = (o: { name: string; description: string; options?: { name: string; description: string; required?: boolean }[] }) => {
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
		expect(parseCommand({ name: "points", options: [{ name: "epoch", type: 4, value: 3 }] })).toMatchObject({ ok: true, values: { epoch: 3 } });
		expect(parseCommand({ name: "ticket", options: [{ name: "view", type: 1, options: [{ name: "id", type: 3, value: "  tkt_abc " }] }] }))
			.toMatchObject({ ok: true, sub: { name: "view" }, values: { id: "tkt_abc" } });
	});

	it("refuses unknown commands, unknown or duplicated options, wrong types, bad values and missing ones with a message", () => {
		const bad = [
			parseCommand({ name: "nope" }),
			parseCommand({ name: "status", options: [{ name: "x", type: 3, value: "1" }] }),
			parseCommand({ name: "points", options: [{ name: "epoch", type: 3, value: "1" }] }),
			parseCommand({ name: "points", options: [{ name: "epoch", type: 4, value: 0 }] }),
			parseCommand({ name: "points", options: [{ name: "epoch", type: 4, value: 1.5 }] }),
			parseCommand({ name: "points", options: [{ name: "epoch", type: 4, value: 1 }, { name: "epoch", type: 4, value: 2 }] }),
			parseCommand({ name: "link" }),
			parseCommand({ name: "link", options: [{ name: "code", type: 3, value: "x".repeat(33) }] }),
			parseCommand({ name: "ticket" }),
			parseCommand({ name: "ticket", options: [{ name: "open", type: 1, options: [{ name: "subject", type: 3, value: "s" }] }] }),
			parseCommand({ name: "ticket", options: [{ name: "open", type: 3, value: "s" }] }),
		];
		for (const r of bad) {
			expect(r.ok).toBe(false);
			if (!r.ok) expect(r.message.length).toBeGreaterThan(10);
		}
	});
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
		const v = (name: string, status: "online" | "offline" | "maintenance" | "new", since: string, uptime = 1) => ({ name, status, status_since: since, uptime_24h: uptime });
		const sorted = worstFirst([
			v("on-good", "online", "2026-01-01T00:00:00Z", 0.99), v("new", "new", "2026-01-01T00:00:00Z"),
			v("off-recent", "offline", "2026-01-02T00:00:00Z"), v("maint", "maintenance", "2026-01-01T00:00:00Z"),
			v("off-long", "offline", "2026-01-01T00:00:00Z"), v("on-flaky", "online", "2026-01-01T00:00:00Z", 0.5),
		]);
		expect(sorted.map((s) => s.name)).toEqual(["off-long", "off-recent", "maint", "new", "on-flaky", "on-good"]);
	});
});
