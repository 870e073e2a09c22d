// Durations typed by operators (/mute rig-1 2h) and shown to them (down 3m 12s).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_MUTE_MS, formatDuration, parseDuration } from "../../workers/domain/duration.ts";

describe("parseDuration", () => {
	it("reads minutes, hours and days", () => {
		expect(parseDuration("30m")).toEqual({ ok: true, ms: 30 * 60_000 });
		expect(parseDuration("2h")).toEqual({ ok: true, ms: 2 * 3_600_000 });
		expect(parseDuration(" 1D ")).toEqual({ ok: true, ms: 86_400_000 });
	});

	it("refuses zero, negative, fractional, unitless and unknown units", () => {
		for (const bad of ["0m", "-5m", "1.5h", "30", "5w", "m", "", "2 hours", "1e3m"])
			expect(parseDuration(bad).ok, bad).toBe(false);
	});

	it("refuses anything longer than 30 days, and accepts exactly 30 days", () => {
		expect(parseDuration("30d")).toEqual({ ok: true, ms: MAX_MUTE_MS });
		expect(parseDuration("31d")).toMatchObject({ ok: false, reason: expect.stringContaining("30d") });
		expect(parseDuration("721h").ok).toBe(false);
	});

	it("accepts every whole number of minutes from 1 up to the limit", () => {
		fc.assert(
			fc.property(fc.integer({ min: 1, max: MAX_MUTE_MS / 60_000 }), (m) => {
				const r = parseDuration(`${m}m`);
				return r.ok && r.ms === m * 60_000;
			}),
		);
	});
});

describe("formatDuration", () => {
	it("shows the two largest units", () => {
		expect(formatDuration(0)).toBe("0s");
		expect(formatDuration(45_000)).toBe("45s");
		expect(formatDuration(192_000)).toBe("3m 12s");
		expect(formatDuration(2 * 3_600_000 + 5 * 60_000 + 7000)).toBe("2h 5m");
		expect(formatDuration(27 * 3_600_000)).toBe("1d 3h");
		expect(formatDuration(3_600_000)).toBe("1h");
	});
});
