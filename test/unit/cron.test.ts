// The local cron ticker's parser: which instants a wrangler.toml cron expression fires at (UTC, as Cloudflare's).
import { describe, expect, it } from "vitest";
import { cronsOf, nextFire, parseCron } from "../../scripts/cron.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

/** The next `n` firings after `from`. */
function fires(expr: string, from: string, n = 1): string[] {
	const s = parseCron(expr);
	const out: string[] = [];
	let t = at(from);
	for (let i = 0; i < n; i++) {
		t = nextFire(s, t);
		out.push(iso(t));
	}
	return out;
}

describe("parseCron", () => {
	it("reads every field of a five-field expression, and `*` as the whole range", () => {
		const s = parseCron("* * * * *");
		expect(s.seconds).toBeNull();
		expect(s.minutes.size).toBe(60);
		expect(s.hours.size).toBe(24);
		expect(s.days.size).toBe(31);
		expect(s.months.size).toBe(12);
		expect([...s.weekdays].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
	});

	it("reads lists, ranges, steps and names", () => {
		const s = parseCron("0,30 9-17/4 1/10 jan,JUL-Sep mon-FRI");
		expect([...s.minutes]).toEqual([0, 30]);
		expect([...s.hours]).toEqual([9, 13, 17]);
		expect([...s.days]).toEqual([1, 11, 21, 31]);
		expect([...s.months]).toEqual([1, 7, 8, 9]);
		expect([...s.weekdays]).toEqual([1, 2, 3, 4, 5]);
	});

	it("reads weekday 7 as Sunday", () => {
		expect([...parseCron("0 0 * * 7").weekdays]).toEqual([0]);
		expect([...parseCron("0 0 * * 5-7").weekdays].sort()).toEqual([0, 5, 6]);
	});

	it("takes a leading seconds field when there are six", () => {
		const s = parseCron("*/20 * * * * *");
		expect([...(s.seconds ?? [])]).toEqual([0, 20, 40]);
		expect(s.minutes.size).toBe(60);
	});

	it.each([
		["* * * *", /expected 5 fields/],
		["* * * * * * *", /expected 5 fields/],
		["60 * * * *", /minute field "60" is outside 0-59/],
		["* 24 * * *", /hour field/],
		["* * 0 * *", /day field/],
		["* * * 13 *", /month field/],
		["* * * * 8", /weekday field/],
		["*/0 * * * *", /step below 1/],
		["*/x * * * *", /bad step/],
		["5-1 * * * *", /ends before it starts/],
		["* * L * *", /not supported/],
		["* * * * 5#3", /not supported/],
		["* * * foo *", /not a number or a name/],
	])("rejects %j", (expr, message) => {
		expect(() => parseCron(expr)).toThrow(message);
	});
});

describe("nextFire", () => {
	it("fires every minute at second 0, strictly after the given instant", () => {
		expect(fires("* * * * *", "2026-11-20T10:00:30.500Z", 2)).toEqual([
			"2026-11-20T10:01:00.000Z",
			"2026-11-20T10:02:00.000Z",
		]);
		expect(fires("* * * * *", "2026-11-20T10:01:00.000Z")).toEqual(["2026-11-20T10:02:00.000Z"]);
	});

	it("fires hourly on the hour, across a day", () => {
		expect(fires("0 * * * *", "2026-11-20T23:00:00.000Z", 2)).toEqual([
			"2026-11-21T00:00:00.000Z",
			"2026-11-21T01:00:00.000Z",
		]);
	});

	it("fires every 15 minutes in working hours on weekdays", () => {
		// 2026-11-20 is a Friday: after its last slot comes Monday's first.
		expect(fires("*/15 9-17 * * 1-5", "2026-11-20T17:45:00.000Z", 2)).toEqual([
			"2026-11-23T09:00:00.000Z",
			"2026-11-23T09:15:00.000Z",
		]);
	});

	it("rolls over months and years, and waits for a leap day", () => {
		expect(fires("0 0 1 * *", "2026-12-15T00:00:00.000Z")).toEqual(["2027-01-01T00:00:00.000Z"]);
		expect(fires("30 6 31 * *", "2026-04-01T00:00:00.000Z")).toEqual(["2026-05-31T06:30:00.000Z"]);
		expect(fires("0 12 29 2 *", "2026-03-01T00:00:00.000Z")).toEqual(["2028-02-29T12:00:00.000Z"]);
	});

	it("fires on a day matching either the day of month or the weekday when both are given, as cron does", () => {
		// The 13th, and every Friday: Friday 2026-11-20 comes before the next 13th.
		expect(fires("0 0 13 * 5", "2026-11-14T00:00:00.000Z", 2)).toEqual([
			"2026-11-20T00:00:00.000Z",
			"2026-11-27T00:00:00.000Z",
		]);
		// With a `*` in one of them, a day must match both.
		expect(fires("0 0 */10 * *", "2026-11-20T00:00:00.000Z")).toEqual(["2026-11-21T00:00:00.000Z"]);
		expect(fires("0 0 * * 0", "2026-11-20T00:00:00.000Z")).toEqual(["2026-11-22T00:00:00.000Z"]);
	});

	it("fires on seconds with a six-field expression", () => {
		expect(fires("*/2 * * * * *", "2026-11-20T10:00:59.000Z", 3)).toEqual([
			"2026-11-20T10:01:00.000Z",
			"2026-11-20T10:01:02.000Z",
			"2026-11-20T10:01:04.000Z",
		]);
	});

	it("says so when an expression never fires", () => {
		expect(() => nextFire(parseCron("0 0 30 2 *"), at("2026-01-01T00:00:00.000Z"))).toThrow(/never fires/);
	});
});

describe("cronsOf", () => {
	it("reads the crons of the [triggers] table, skipping comments and other tables", () => {
		const toml = [
			'name = "x"',
			"[vars]",
			'crons = ["not these"]',
			"[triggers]",
			"# crons = ['commented out']",
			"crons = [",
			'  "* * * * *",',
			"  '0 0 * * *',",
			"]",
			"",
			"[other]",
			'crons = ["nor these"]',
		].join("\n");
		expect(cronsOf(toml)).toEqual(["* * * * *", "0 0 * * *"]);
	});

	it("finds none without a [triggers] table", () => {
		expect(cronsOf('name = "x"\n')).toEqual([]);
	});
});
