// Co-scheduled verification rounds (docs/VERIFICATION.md §14): which nodes are challenged in the same second (the
// suspect groups, with random decoys so no one can tell a suspicion from a draw), and the judgement on how they did.
// One device cannot hold two working sets, and time-slicing it doubles the latency: a group whose members are late
// together, in two rounds in a row, shares hardware.
import { sample } from "./challenge.ts";

/** A group of nodes that might share a device: same network, same GPU UUID, or registered together. */
export interface SuspectGroup {
	/** `net:<IPv4 /24 | IPv6 /64>`, `uuid:<GPU UUID>` or `reg:<account>:<10-minute window>`. */
	key: string;
	node_ids: string[];
}

/** A group larger than this is challenged on a random sample of this many (a data centre's line still proves out). */
export const MAX_GROUP = 64;
/** At most this many groups in one round (the rest wait for the next round; the order is random each time). */
export const MAX_GROUPS = 500;
/** Decoys: this share of the suspects' count (at least MIN_DECOYS), drawn from the other online nodes. */
export const DECOY_SHARE = 0.5;
export const MIN_DECOYS = 2;
/** Nodes one account registers within this window are "registered together". */
export const REGISTRATION_WINDOW_MS = 10 * 60_000;

export interface RoundPlan {
	groups: SuspectGroup[];
	decoys: string[];
}

/**
 * The round: up to MAX_GROUPS groups of two or more (each capped at MAX_GROUP members), and decoys drawn from
 * `decoyPool` (online nodes; any that are suspects are skipped).
 */
export function planRound(groups: SuspectGroup[], decoyPool: string[], random: () => number): RoundPlan {
	const kept = sample(
		groups.filter((g) => new Set(g.node_ids).size >= 2),
		MAX_GROUPS,
		random,
	).map((g) => ({ key: g.key, node_ids: sample([...new Set(g.node_ids)], MAX_GROUP, random).sort() }));
	kept.sort((a, b) => a.key.localeCompare(b.key));
	const suspects = new Set(kept.flatMap((g) => g.node_ids));
	const pool = [...new Set(decoyPool)].filter((id) => !suspects.has(id));
	const want = kept.length === 0 ? 0 : Math.max(MIN_DECOYS, Math.ceil(suspects.size * DECOY_SHARE));
	return { groups: kept, decoys: sample(pool, want, random).sort() };
}

/**
 * A node is judged to share hardware when it is `shared` in SHARED_STRIKES of SHARED_WINDOW consecutive rounds it
 * was part of: twice in a row, or with one round between (a farm that serves its identities in turn makes each of
 * them late every other round). An honest node late twice within three rounds by chance: about 3p² for a
 * per-challenge chance p of a late answer (p ≈ 0.7 % in the benchmark: 0.015 %).
 */
export const SHARED_STRIKES = 2;
export const SHARED_WINDOW = 3;

/** Whether a `shared` verdict now, after `earlier` verdicts (newest first), makes SHARED_STRIKES within the window. */
export function sharesHardware(earlier: readonly string[]): boolean {
	return 1 + earlier.slice(0, SHARED_WINDOW - 1).filter((v) => v === "shared").length >= SHARED_STRIKES;
}

/** Every node of a plan, each with the keys of the groups it is in (`[]` for a decoy). */
export function membersOf(plan: RoundPlan): Map<string, string[]> {
	const out = new Map<string, string[]>(plan.decoys.map((id) => [id, []]));
	for (const g of plan.groups) for (const id of g.node_ids) out.set(id, [...(out.get(id) ?? []), g.key]);
	return out;
}

/** How a member's challenge ended, as its shard recorded it; null when it never ended (void when judged). */
export type MemberOutcome = "passed" | "late" | "wrong_answer" | "void";

export interface MemberResult {
	node_id: string;
	groups: string[];
	outcome: MemberOutcome | null;
	/** The slowest part's commit, timed by the coordinator (null when nothing was committed). */
	measured_ms: number | null;
}

export type Verdict = "passed" | "shared" | "late" | "wrong_answer" | "void";

export interface Judgement {
	verdict: Verdict;
	/** For `shared`: the group that was late together, with every member's timing (the flag's evidence). */
	group?: { key: string; members: { node_id: string; outcome: MemberOutcome; measured_ms: number | null }[] };
}

/**
 * A late member whose group-mate passed in at most this share of its time was served after it: a device answering
 * one identity's challenge, then the next (a queue), makes the second take twice as long as the first.
 */
export const SERVED_AFTER_RATIO = 0.6;

/**
 * In a group of at most this many, the member served first is `shared` too: a queue's first identity holds the same
 * device. Not in larger groups (a data centre's line): there a late node somewhere in most rounds would mark its fast
 * neighbours every time.
 */
export const SMALL_GROUP = 4;

/**
 * The verdict on each member: `shared` when it was late and one of its groups shows one device's throughput split
 * between identities challenged in the same second (a device of their own each would have kept them apart): another
 * member late too (time-slicing), or another member that passed in at most SERVED_AFTER_RATIO of its time (served
 * one after the other); else its own outcome. A member that never ended (its shard went away) is void: nothing is
 * concluded from it.
 */
export function judgeRound(members: MemberResult[]): Map<string, Judgement> {
	const late = (m: MemberResult) => m.outcome === "late";
	const byGroup = new Map<string, MemberResult[]>();
	for (const m of members) for (const g of m.groups) byGroup.set(g, [...(byGroup.get(g) ?? []), m]);
	/** `first` passed in at most SERVED_AFTER_RATIO of `then`'s time: it may have been served before it. */
	const servedBefore = (first: MemberResult, then: MemberResult) =>
		first.outcome === "passed" &&
		first.measured_ms !== null &&
		then.measured_ms !== null &&
		first.measured_ms <= SERVED_AFTER_RATIO * then.measured_ms;
	/** Another member of group `g` shows `m`'s device split: late too, or served before it. */
	const splitWith = (m: MemberResult, g: string) =>
		(byGroup.get(g) ?? []).some((x) => x !== m && (late(x) || servedBefore(x, m)));
	/** In a small group, the member served first shares the device as much as the one that waited for it. */
	const servedFirst = (m: MemberResult, g: string) => {
		const group = byGroup.get(g) ?? [];
		return group.length <= SMALL_GROUP && group.some((x) => late(x) && servedBefore(m, x) && splitWith(x, g));
	};
	const out = new Map<string, Judgement>();
	for (const m of members) {
		const outcome = m.outcome ?? "void";
		const together = late(m)
			? m.groups.find((g) => splitWith(m, g))
			: m.outcome === "passed"
				? m.groups.find((g) => servedFirst(m, g))
				: undefined;
		if (together === undefined) {
			out.set(m.node_id, { verdict: outcome });
			continue;
		}
		const group = (byGroup.get(together) ?? []).map((x) => ({
			node_id: x.node_id,
			outcome: x.outcome ?? ("void" as const),
			measured_ms: x.measured_ms,
		}));
		out.set(m.node_id, { verdict: "shared", group: { key: together, members: group } });
	}
	return out;
}

/**
 * The GPUs proven behind each address key: the claimed GPUs of its members that passed (they did the work in the same
 * second, so the hardware is real and separate). Keys with a single member are left out (one node needs no allowance
 * beyond the default), and so are keys with a void member: a round the coordinator could not finish there (a member
 * not connected, a shard restarted) proves nothing, and does not lower what an earlier round proved.
 */
export function provenGpus(
	members: { node_id: string; address_key: string; gpu_count: number }[],
	verdicts: Map<string, Judgement>,
): Map<string, number> {
	const byKey = new Map<string, { gpu_count: number; verdict: Verdict }[]>();
	for (const m of members) {
		if (m.address_key === "unknown") continue;
		const verdict = verdicts.get(m.node_id)?.verdict ?? "void";
		byKey.set(m.address_key, [...(byKey.get(m.address_key) ?? []), { gpu_count: m.gpu_count, verdict }]);
	}
	const out = new Map<string, number>();
	for (const [key, ms] of byKey) {
		if (ms.length < 2 || ms.some((m) => m.verdict === "void")) continue;
		out.set(
			key,
			ms.filter((m) => m.verdict === "passed").reduce((s, m) => s + m.gpu_count, 0),
		);
	}
	return out;
}
