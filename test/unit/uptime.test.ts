// Uptime from intervals, and the read-model changes a batch of flips makes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readModelChanges, type Flip } from "../../workers/domain/flips.ts";
import { uptime } from "../../workers/domain/uptime.ts";

describe("uptime", () => {
	it("clips intervals to the window and computes the ratio", () => {
		const u = uptime(
			[
				{ started_at: 0, ended_at: 50 },
				{ started_at: 80, ended_at: 200 },
			],
			10,
			110,
			1000,
		);
		expect(u.online_seconds).toBe((40 + 30) / 1000);
		expect(u.ratio).toBeCloseTo(0.7);
	});

	it("runs an open interval until now, not until the end of the window", () => {
		const u = uptime([{ started_at: 0, ended_at: null }], 0, 1000, 500);
		expect(u.online_seconds).toBe(0.5);
		expect(u.ratio).toBe(1);
		expect(u.intervals[0]?.open).toBe(true);
	});

	it("never counts overlapping intervals twice and keeps the ratio within [0, 1]", () => {
		const interval = fc
			.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }))
			.map(([a, b]) => ({ started_at: Math.min(a, b), ended_at: Math.max(a, b) }));
		fc.assert(
			fc.property(fc.array(interval, { maxLength: 20 }), (rows) => {
				const u = uptime(rows, 0, 1000, 1000);
				return u.ratio >= 0 && u.ratio <= 1 + 1e-9 && u.online_seconds <= 1;
			}),
		);
	});

	it("gives more uptime for a superset of intervals", () => {
		const interval = fc
			.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }))
			.map(([a, b]) => ({ started_at: Math.min(a, b), ended_at: Math.max(a, b) }));
		fc.assert(
			fc.property(
				fc.array(interval, { maxLength: 10 }),
				fc.array(interval, { maxLength: 10 }),
				(a, b) => uptime([...a, ...b], 0, 1000, 1000).online_seconds >= uptime(a, 0, 1000, 1000).online_seconds,
			),
		);
	});
});

const flip = (over: Partial<Flip>): Flip => ({
	id: "node_a:1",
	nodeId: "node_a",
	seq: 1,
	from: "new",
	to: "online",
	at: 1000,
	reason: "connected",
	lastSeenAt: 1000,
	intervalStart: null,
	intervalEnd: null,
	incidentId: null,
	...over,
});

describe("readModelChanges", () => {
	it("opens an interval when a node comes online and closes it at the last moment it was seen", () => {
		const c = readModelChanges([
			flip({}),
			flip({
				id: "node_a:2",
				seq: 2,
				from: "online",
				to: "offline",
				at: 40_000,
				reason: "keepalive_timeout",
				lastSeenAt: 9_000,
				intervalStart: 1000,
				intervalEnd: 9_000,
			}),
		]);
		expect(c.opens).toEqual([{ node_id: "node_a", started_at: 1000 }]);
		expect(c.closes).toEqual([
			{ node_id: "node_a", started_at: 1000, ended_at: 9_000, end_reason: "keepalive_timeout", incident_id: null },
		]);
		expect(c.nodes).toEqual([
			{ node_id: "node_a", status: "offline", since: 40_000, last_seen_at: 9_000, seq: 2, transport: null },
		]);
		expect(c.flips).toHaveLength(2);
	});

	it("keeps only the latest status per node", () => {
		const c = readModelChanges([
			flip({}),
			flip({ id: "node_b:1", nodeId: "node_b" }),
			flip({ id: "node_a:2", seq: 2, from: "online", to: "maintenance", at: 2000, intervalStart: 1000 }),
		]);
		expect(c.nodes.map((n) => [n.node_id, n.status])).toEqual([
			["node_a", "maintenance"],
			["node_b", "online"],
		]);
	});
});
