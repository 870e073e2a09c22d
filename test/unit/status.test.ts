// Pure liveness logic with an injected clock.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS as S, readSettings } from "../../workers/domain/settings.ts";
import { deriveStatus, isSilent } from "../../workers/domain/status.ts";

const T = 1_700_000_000_000;

describe("deriveStatus", () => {
	it("is 'new' for a node never seen", () => {
		expect(deriveStatus({ maintenance: false, connected: false, lastSeenAt: null, everOnline: false }, T, S)).toBe(
			"new",
		);
	});

	it("is 'online' for a connected node heard from within OFFLINE_AFTER_S", () => {
		expect(deriveStatus({ maintenance: false, connected: true, lastSeenAt: T - 29_000, everOnline: true }, T, S)).toBe(
			"online",
		);
	});

	it("is 'offline' once a connected node has been silent longer than OFFLINE_AFTER_S", () => {
		expect(deriveStatus({ maintenance: false, connected: true, lastSeenAt: T - 30_001, everOnline: true }, T, S)).toBe(
			"offline",
		);
	});

	it("is 'offline' at once when the connection is gone, however recent the last keepalive", () => {
		expect(deriveStatus({ maintenance: false, connected: false, lastSeenAt: T, everOnline: true }, T, S)).toBe(
			"offline",
		);
	});

	it("is 'maintenance' whatever the connection says", () => {
		fc.assert(
			fc.property(
				fc.boolean(),
				fc.option(fc.integer({ min: 0, max: T })),
				fc.boolean(),
				(connected, lastSeenAt, everOnline) =>
					deriveStatus({ maintenance: true, connected, lastSeenAt, everOnline }, T, S) === "maintenance",
			),
		);
	});

	it("never calls a node online that has been silent past the limit", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: S.offlineAfterS * 1000 + 1, max: 10 ** 9 }),
				(silence) =>
					deriveStatus({ maintenance: false, connected: true, lastSeenAt: T - silence, everOnline: true }, T, S) !==
					"online",
			),
		);
	});
});

describe("isSilent", () => {
	it("treats never-heard-from as silent", () => expect(isSilent(null, T, S)).toBe(true));
	it("is monotonic in time: once silent, stays silent", () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 10 ** 6 }), fc.integer({ min: 0, max: 10 ** 6 }), (a, b) => {
				const last = T - a;
				return !isSilent(last, T, S) || isSilent(last, T + b, S);
			}),
		);
	});
});

describe("readSettings", () => {
	it("uses defaults that detect silent death within 45 s: OFFLINE_AFTER_S + one sweep", () => {
		expect(S.offlineAfterS + S.sweepIntervalS).toBeLessThanOrEqual(45);
		expect(S.offlineAfterS).toBeGreaterThanOrEqual(3 * S.heartbeatIntervalS);
	});

	it("reads numeric strings and ignores junk", () => {
		const s = readSettings({ OFFLINE_AFTER_S: "40", HEARTBEAT_INTERVAL_S: "abc", SWEEP_INTERVAL_S: "-1" });
		expect(s.offlineAfterS).toBe(40);
		expect(s.heartbeatIntervalS).toBe(S.heartbeatIntervalS);
		expect(s.sweepIntervalS).toBe(S.sweepIntervalS);
	});

	it("refuses an offline limit shorter than the keepalive interval", () => {
		expect(() => readSettings({ OFFLINE_AFTER_S: "5", HEARTBEAT_INTERVAL_S: "10" })).toThrow(/must exceed/);
	});
});
