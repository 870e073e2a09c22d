// Alert rules with an injected clock: grouping, back online, flapping, mutes, maintenance and coordinator incidents.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderNotice } from "../../workers/domain/alert-text.ts";
import {
	DEFAULT_ALERT_RULES as R,
	due,
	emptyState,
	mute,
	nextDeadline,
	receiveFlip,
	receiveIncidentTag,
	unmute,
	type AlertFlip,
	type AlertState,
	type Outgoing,
} from "../../workers/domain/alerts.ts";
import type { FlipReason } from "../../workers/domain/flips.ts";
import type { NodeStatus } from "../../workers/domain/status.ts";

const T = 1_700_000_000_000;
const seqs = new Map<string, number>();

function flip(
	nodeId: string,
	from: NodeStatus,
	to: NodeStatus,
	at: number,
	reason: FlipReason = to === "online" ? "connected" : "keepalive_timeout",
	incidentId: string | null = null,
): AlertFlip {
	const seq = (seqs.get(nodeId) ?? 0) + 1;
	seqs.set(nodeId, seq);
	return {
		id: `${nodeId}:${seq}`,
		nodeId,
		from,
		to,
		at,
		reason,
		lastSeenAt: to === "offline" ? at - 1000 : at,
		incidentId,
	};
}

const down = (id: string, at: number, reason?: FlipReason, incident: string | null = null) =>
	flip(id, "online", "offline", at, reason, incident);
const up = (id: string, at: number) => flip(id, "offline", "online", at);

/**
 * Feeds flips (received at their own time) and runs `due` at every deadline up to `until`; returns everything sent or
 * edited.
 */
function run(s: AlertState, flips: AlertFlip[], until: number): { at: number; out: Outgoing }[] {
	const out: { at: number; out: Outgoing }[] = [];
	const queue = [...flips].sort((a, b) => a.at - b.at);
	let now = queue[0]?.at ?? T;
	while (now <= until) {
		while (queue[0] && queue[0].at <= now) receiveFlip(s, queue.shift() as AlertFlip, now, R);
		for (const o of due(s, now, R).outgoing) out.push({ at: now, out: o });
		const next = Math.min(queue[0]?.at ?? Infinity, nextDeadline(s, R, now) ?? Infinity);
		if (!Number.isFinite(next)) break;
		now = Math.max(now + 1, next);
	}
	return out;
}

const sends = <T extends { out: Outgoing }>(outs: T[]): T[] => outs.filter((o) => o.out.op === "send");

describe("alert rules", () => {
	it("sends one message for one node down, after the group window and not before", () => {
		const s = emptyState();
		receiveFlip(s, down("a", T), T, R);
		expect(due(s, T + R.groupWindowMs - 1, R).outgoing).toEqual([]);
		const { outgoing } = due(s, T + R.groupWindowMs, R);
		expect(outgoing).toHaveLength(1);
		expect(outgoing[0]).toMatchObject({ op: "send", notice: { down: [{ nodeId: "a", reason: "keepalive_timeout" }] } });
	});

	it("groups 200 nodes that dropped together into one message listing them all", () => {
		const ids = Array.from({ length: 200 }, (_, i) => `n${i}`);
		const outs = run(
			emptyState(),
			ids.map((id, i) => down(id, T + (i % 7) * 1000)),
			T + 3_600_000,
		);
		expect(sends(outs)).toHaveLength(1);
		expect(
			sends(outs)[0]
				?.out.notice.down.map((d) => d.nodeId)
				.sort(),
		).toEqual([...ids].sort());
		const text = renderNotice(sends(outs)[0]?.out.notice ?? ({} as never), (id) => id, R);
		expect(text).toMatch(/^🔴 200 nodes offline/);
		expect(text.length).toBeLessThanOrEqual(1900);
	});

	it("edits the open alert for stragglers of the same event instead of paging again", () => {
		const outs = run(emptyState(), [down("a", T), down("b", T + R.groupWindowMs + 5000)], T + 3_600_000);
		expect(outs.map((o) => o.out.op)).toEqual(["send", "edit"]);
		expect(outs[1]?.out.notice.down.map((d) => d.nodeId)).toEqual(["a", "b"]);
	});

	it("pages again for a drop after the edit window", () => {
		const outs = run(
			emptyState(),
			[down("a", T), down("b", T + R.groupWindowMs + R.editWindowMs + 1000)],
			T + 3_600_000,
		);
		expect(outs.map((o) => o.out.op)).toEqual(["send", "send"]);
	});

	it("says nothing about a node that came back within the group window", () => {
		expect(run(emptyState(), [down("a", T), up("a", T + 2000)], T + 3_600_000)).toEqual([]);
	});

	it("sends one back-online message with the downtime after a down alert", () => {
		const outs = run(
			emptyState(),
			[down("a", T), down("b", T), up("a", T + 180_000), up("b", T + 181_000)],
			T + 3_600_000,
		);
		expect(outs.map((o) => o.out.op)).toEqual(["send", "send"]);
		const back = outs[1]?.out.notice;
		expect(back?.up.map((u) => u.nodeId)).toEqual(["a", "b"]);
		expect(back?.up[0]?.downtimeMs).toBe(181_000); // from the last sign of life, a second before the flip
		expect(renderNotice(back as never, (id) => id, R)).toContain("down 3m 1s");
	});

	it("sends one flapping alert, stays quiet while it flaps, and says when it is stable again", () => {
		const flips: AlertFlip[] = [];
		for (let i = 0; i < 10; i++) flips.push(down("f", T + i * 60_000), up("f", T + i * 60_000 + 30_000));
		const outs = run(emptyState(), flips, T + 3_600_000);
		const flapping = outs.filter((o) => o.out.notice.flapping.length);
		expect(flapping).toHaveLength(1);
		expect(outs.filter((o) => o.out.notice.stable.length)).toHaveLength(1);
		expect(outs.at(-1)?.out.notice.stable).toEqual([{ nodeId: "f", status: "online" }]);
		expect(outs.at(-1)?.at).toBeGreaterThanOrEqual(T + 9 * 60_000 + 30_000 + R.flapWindowMs);
		// before flapping was detected: at most one message per drop that outlasted the group window
		expect(sends(outs).length).toBeLessThanOrEqual(R.flapCount * 2 + 2);
	});

	it("keeps the flapping alert when the node comes straight back", () => {
		const flips: AlertFlip[] = [];
		for (let i = 0; i < 6; i++) flips.push(down("q", T + i * 200), up("q", T + i * 200 + 100));
		const outs = run(emptyState(), flips, T + 3_600_000);
		expect(outs.map((o) => [o.out.notice.flapping.length, o.out.notice.stable.length])).toEqual([
			[1, 0],
			[0, 1],
		]);
	});

	it("suppresses a muted node, and tells when the mute ends what is still offline", () => {
		const s = emptyState();
		mute(s, "all", T + 3_600_000);
		const outs = run(s, [down("a", T + 1000), down("b", T + 2000), up("b", T + 60_000)], T + 7_200_000);
		expect(outs).toHaveLength(1);
		expect(outs[0]?.at).toBeGreaterThanOrEqual(T + 3_600_000);
		expect(outs[0]?.out.notice).toMatchObject({ down: [], muteEnded: [{ target: "all", offline: ["a"] }] });
		receiveFlip(s, up("a", T + 8_000_000), T + 8_000_000, R);
		expect(due(s, T + 8_000_000 + R.groupWindowMs, R).outgoing[0]?.notice.up.map((u) => u.nodeId)).toEqual(["a"]);
	});

	it("never lifts a mute silently: unmuting tells every destination", () => {
		const s = emptyState();
		mute(s, "a", T + 3_600_000);
		receiveFlip(s, down("a", T), T, R);
		expect(unmute(s, T + 5000)).toEqual(["a"]);
		expect(nextDeadline(s, R, T)).toBe(T + 5000);
		expect(due(s, T + 5000, R).outgoing).toEqual([]);
		const { outgoing } = due(s, T + 5000 + R.groupWindowMs, R);
		expect(outgoing[0]?.notice.muteEnded).toEqual([{ target: "a", offline: ["a"] }]);
	});

	it("says nothing when the owner puts a node in maintenance or takes it out", () => {
		const outs = run(
			emptyState(),
			[
				flip("m", "online", "maintenance", T, "maintenance_on"),
				flip("m", "maintenance", "online", T + 60_000, "maintenance_off"),
			],
			T + 3_600_000,
		);
		expect(outs).toEqual([]);
	});

	it("reports a node that leaves maintenance while offline", () => {
		const outs = run(
			emptyState(),
			[
				flip("m", "online", "maintenance", T, "maintenance_on"),
				flip("m", "maintenance", "offline", T + 60_000, "maintenance_off"),
			],
			T + 3_600_000,
		);
		expect(outs.map((o) => o.out.notice.down.map((d) => d.reason))).toEqual([["maintenance_off"]]);
	});

	it("turns a coordinator incident into one notice, with no per-node down alerts", () => {
		const flips = Array.from({ length: 100 }, (_, i) =>
			down(`i${i}`, T + (i % 5) * 1000, "coordinator_restart", `inc_${i % 3}`),
		);
		const outs = run(emptyState(), flips, T + 3_600_000);
		expect(outs).toHaveLength(1);
		expect(outs[0]?.out.notice.down).toEqual([]);
		expect(outs[0]?.out.notice.incident).toHaveLength(100);
		expect(renderNotice(outs[0]?.out.notice as never, (id) => id, R)).toMatch(
			/incident on our side: 100 of your nodes/,
		);
	});

	it("reclassifies pending drops as an incident when the shard tags them late", () => {
		const s = emptyState();
		for (const id of ["a", "b", "c"]) receiveFlip(s, down(id, T), T, R);
		receiveIncidentTag(s, ["a", "b", "c"], "inc_late");
		const { outgoing } = due(s, T + R.groupWindowMs, R);
		expect(outgoing).toHaveLength(1);
		expect(outgoing[0]?.notice).toMatchObject({
			down: [],
			incident: [{ nodeId: "a", incidentId: "inc_late" }, { nodeId: "b" }, { nodeId: "c" }],
		});
	});

	it("corrects a sent alert by editing it when the incident tag comes after", () => {
		const s = emptyState();
		receiveFlip(s, down("a", T), T, R);
		expect(due(s, T + R.groupWindowMs, R).outgoing.map((o) => o.op)).toEqual(["send"]);
		receiveIncidentTag(s, ["a"], "inc_x");
		expect(nextDeadline(s, R, T + R.groupWindowMs + 1)).toBe(T + R.groupWindowMs + 1); // due at once, never at time 0
		const { outgoing } = due(s, T + R.groupWindowMs + 1, R);
		expect(outgoing).toEqual([
			{
				op: "edit",
				key: "m1",
				notice: expect.objectContaining({ down: [], incident: [expect.objectContaining({ nodeId: "a" })] }),
			},
		]);
		expect(nextDeadline(s, R, T + R.groupWindowMs + 1)).toBeNull();
	});

	it("forgets a deleted node without an alert", () => {
		expect(
			run(emptyState(), [down("d", T), flip("d", "offline", "offline", T + 1000, "node_deleted")], T + 60_000),
		).toEqual([]);
	});
});

/** Random timelines: per node, alternating drops and returns at random times, some in maintenance, some muted. */
const timeline = fc.array(
	fc.record({
		node: fc.integer({ min: 0, max: 7 }),
		gap: fc.integer({ min: 0, max: 120_000 }),
		kind: fc.constantFrom("toggle", "toggle", "toggle", "maint"),
	}),
	{ maxLength: 80 },
);

function flipsOf(events: { node: number; gap: number; kind: string }[]): AlertFlip[] {
	const status = new Map<string, NodeStatus>();
	const seq = new Map<string, number>();
	let at = T;
	return events.map((e) => {
		const id = `r${e.node}`;
		at += e.gap;
		const from = status.get(id) ?? "online";
		const to: NodeStatus =
			e.kind === "maint"
				? from === "maintenance"
					? "online"
					: "maintenance"
				: from === "online"
					? "offline"
					: "online";
		status.set(id, to);
		const n = (seq.get(id) ?? 0) + 1;
		seq.set(id, n);
		const reason: FlipReason =
			e.kind === "maint"
				? to === "maintenance"
					? "maintenance_on"
					: "maintenance_off"
				: to === "online"
					? "connected"
					: "disconnected";
		return { id: `${id}:${n}`, nodeId: id, from, to, at, reason, lastSeenAt: at, incidentId: null };
	});
}

describe("alert rules, for any timeline", () => {
	it("never sends two messages less than a group window apart", () => {
		fc.assert(
			fc.property(timeline, (events) => {
				const times = sends(run(emptyState(), flipsOf(events), T + 48 * 3_600_000)).map((o) => o.at);
				return times.every((t, i) => i === 0 || t - (times[i - 1] as number) >= R.groupWindowMs);
			}),
		);
	});

	it("applies a redelivered flip once: delivering everything twice changes nothing", () => {
		fc.assert(
			fc.property(timeline, (events) => {
				const flips = flipsOf(events);
				const once = run(emptyState(), flips, T + 48 * 3_600_000);
				const twice = run(
					emptyState(),
					flips.flatMap((f) => [f, { ...f }]),
					T + 48 * 3_600_000,
				);
				expect(twice).toEqual(once);
			}),
		);
	});

	it("never mentions a muted node in a down, back-online or flapping section while the mute lasts", () => {
		fc.assert(
			fc.property(timeline, (events) => {
				const s = emptyState();
				const until = T + 24 * 3_600_000;
				mute(s, "r0", until);
				const outs = run(s, flipsOf(events), T + 48 * 3_600_000).filter((o) => o.at < until);
				return outs.every(
					({ out: { notice: n } }) =>
						![...n.down, ...n.up, ...n.flapping, ...n.incident].some((x) => x.nodeId === "r0"),
				);
			}),
		);
	});

	it("leaves nothing pending and no deadline once every node is stable and every mute has ended", () => {
		fc.assert(
			fc.property(timeline, (events) => {
				const s = emptyState();
				run(s, flipsOf(events), T + 48 * 3_600_000);
				return s.pending === null && nextDeadline(s, R, T + 48 * 3_600_000) === null;
			}),
		);
	});
});
