// Co-scheduled verification rounds (docs/VERIFICATION.md §14): planned from D1, started on every member's shard at
// the same moment, ended member by member by the shards, and judged once, when the last member ends.
import { randomToken } from "../domain/challenge.ts";
import { activeOf } from "../db/flags.ts";
import * as rounds from "../db/rounds.ts";
import { secureRandom } from "../domain/matmul.ts";
import {
	DECOY_SHARE,
	MIN_DECOYS,
	REGISTRATION_WINDOW_MS,
	judgeRound,
	membersOf,
	planRound,
	provenGpus,
	SHARED_STRIKES,
	SHARED_WINDOW,
	sharesHardware,
	type Judgement,
	type MemberOutcome,
} from "../domain/rounds.ts";
import type { VerificationRecord } from "../domain/verification.ts";
import { shard } from "./liveness.ts";
import { flagJudged, recordAttempt } from "./verifications.ts";

/** A round none of whose members ended within this long is judged with what it has (the rest are void). */
export const ROUND_STALE_MS = 10 * 60_000;

export interface StartedRound {
	round_id: string;
	at: string;
	groups: { key: string; node_ids: string[] }[];
	decoys: string[];
	/** Members challenged (on their shard, at this moment). */
	nodes: number;
	/** Members that could not be (not connected by WebSocket, or already being verified): void in this round. */
	not_started: string[];
}

/** Plans a round from the online nodes and starts it; null when no two online nodes are suspects together. */
export async function startRound(env: Env, now: number, random = secureRandom): Promise<StartedRound | null> {
	await finishStaleRounds(env, now);
	const groups = await rounds.suspectGroups(env.DB, REGISTRATION_WINDOW_MS);
	const id = `vrd_${randomToken(9)}`;
	if (groups.length === 0) {
		await rounds.recordEmptyRound(env.DB, id, now); // the cron waits its interval before planning again
		return null;
	}
	const suspects = new Set(groups.flatMap((g) => g.node_ids)).size;
	const pool = await rounds.randomOnline(env.DB, suspects + Math.max(MIN_DECOYS, Math.ceil(suspects * DECOY_SHARE)));
	const plan = planRound(groups, pool, random);
	const members = membersOf(plan);
	await rounds.insertRound(env.DB, id, now, plan, members);
	const facts = await rounds.memberFacts(env.DB, [...members.keys()]);
	const byShard = new Map<string, typeof facts>();
	for (const f of facts) byShard.set(f.shard, [...(byShard.get(f.shard) ?? []), f]);
	const started = new Set<string>();
	// Every shard at once: the members of a group are challenged within the same second wherever they are held.
	await Promise.all(
		[...byShard].map(async ([name, fs]) => {
			const asked = fs.map((f) => ({ id: f.node_id, claim: { gpu_model: f.gpu_model, gpu_count: f.gpu_count } }));
			try {
				for (const n of await shard(env, name).coVerify(id, asked)) started.add(n);
			} catch (err) {
				console.error(`shard ${name} did not start its part of round ${id}`, err);
			}
		}),
	);
	const notStarted = [...members.keys()].filter((n) => !started.has(n)).sort();
	await rounds.voidMembers(env.DB, id, notStarted, "not connected by WebSocket, or already verifying", now);
	if (notStarted.length) await judgeIfComplete(env, id, now);
	return { round_id: id, at: new Date(now).toISOString(), ...plan, nodes: started.size, not_started: notStarted };
}

/** Rounds left unfinished (a shard restarted mid-round, a judge was interrupted): judged with what they have. */
export async function finishStaleRounds(env: Env, now: number): Promise<void> {
	for (const id of await rounds.staleRounds(env.DB, now - ROUND_STALE_MS)) await judgeIfComplete(env, id, now, true);
}

/** A member's challenge ended on its shard, with the attempt its session concluded. */
export async function memberEnded(
	env: Env,
	roundId: string,
	nodeId: string,
	attempt: VerificationRecord,
	now: number,
): Promise<void> {
	const outcome: MemberOutcome =
		attempt.state === "verified" ? "passed" : attempt.reason === "late" ? "late" : "wrong_answer";
	const ended = { outcome, measured_ms: attempt.measured_ms, detail: JSON.stringify(attempt) };
	await rounds.endMember(env.DB, roundId, nodeId, ended, now);
	await judgeIfComplete(env, roundId, now);
}

/**
 * Judges the round once every member has ended (or, `force`d, with what it has: a member that never ended is void),
 * then applies each verdict once: a pass or a failure is the member's attempt (under the consecutive-failure rule);
 * `shared` in 2 of its last 3 rounds (`sharesHardware`) is `shared_hardware`, with a flag. Then the GPUs proven
 * behind each address raise its allowance. Safe to run again: verdicts are stored once and each is taken once for
 * applying.
 */
export async function judgeIfComplete(env: Env, roundId: string, now: number, force = false): Promise<void> {
	const members = await rounds.roundMembers(env.DB, roundId);
	if (members.length === 0 || (!force && members.some((m) => m.outcome === null))) return;
	const verdicts = judgeRound(members);
	await rounds.storeVerdicts(env.DB, roundId, verdicts, now);
	const shared = [...verdicts].filter(([, j]) => j.verdict === "shared").map(([id]) => id);
	const before = await rounds.previousVerdicts(env.DB, roundId, shared, SHARED_WINDOW - 1);
	const facts = new Map((await rounds.memberFacts(env.DB, ids(members))).map((f) => [f.node_id, f]));
	const flagged = new Set((await activeOf(env.DB, shared)).filter(isShared).map((f) => f.node_id));
	for (const m of members) {
		const j = verdicts.get(m.node_id);
		const f = facts.get(m.node_id);
		if (!j || !f || j.verdict === "void" || m.detail === null) continue;
		if (!(await rounds.takeVerdict(env.DB, roundId, m.node_id, now))) continue;
		const attempt = JSON.parse(m.detail) as VerificationRecord;
		const group = j.group ? groupEvidence(j.group, m.node_id) : null;
		if (j.verdict === "shared" && sharesHardware(before.get(m.node_id) ?? [])) {
			if (flagged.has(m.node_id)) continue; // flagged already: a farm stays flagged, once, until staff clear it
			const evidence = { round: roundId, group, earlier_verdicts: before.get(m.node_id) ?? [] };
			const reason =
				`late with ${(group?.size ?? 2) - 1} other node(s) it was challenged with at the same moment, ` +
				`in ${SHARED_STRIKES} of ${SHARED_WINDOW} rounds: one device's throughput shared between identities`;
			await flagJudged(
				env,
				{ id: m.node_id, ...f },
				"shared_hardware",
				reason,
				evidence,
				`${roundId}_${m.node_id}`,
				now,
			);
			continue;
		}
		const evidence = group ? { round: roundId, group, attempt: JSON.parse(attempt.evidence ?? "null") } : null;
		await recordAttempt(env, m.node_id, evidence ? { ...attempt, evidence: JSON.stringify(evidence) } : attempt);
	}
	await rounds.setAllowances(env.DB, provenGpus([...facts.values()], verdicts), roundId, now);
}

const ids = (members: { node_id: string }[]) => members.map((m) => m.node_id);
const isShared = (f: { code: string }) => f.code === "shared_hardware";

/**
 * The group as its member may see it (the flag's evidence is the owner's): what kind of suspicion, how many, and each
 * member's outcome and time, without the network, the UUID, the account or the other nodes' ids.
 */
function groupEvidence(g: NonNullable<Judgement["group"]>, self: string) {
	const kind = g.key.startsWith("net:") ? "network" : g.key.startsWith("uuid:") ? "gpu_uuid" : "registration";
	const members = g.members.map((m) => ({
		node: m.node_id === self ? "this node" : "another node",
		outcome: m.outcome,
		measured_ms: m.measured_ms,
	}));
	return { kind, size: g.members.length, members };
}

/** The round as staff read it: its plan, and each member's outcome and verdict. */
export async function roundView(env: Env, id: string) {
	const r = await rounds.round(env.DB, id);
	if (!r) return null;
	const members = await rounds.roundMembers(env.DB, id);
	return {
		round_id: r.id,
		at: new Date(r.at).toISOString(),
		judged_at: r.judged_at === null ? null : new Date(r.judged_at).toISOString(),
		...(JSON.parse(r.plan) as object),
		members: members.map((m) => ({
			node_id: m.node_id,
			groups: m.groups,
			outcome: m.outcome,
			measured_ms: m.measured_ms,
			verdict: m.verdict,
		})),
	};
}

/** Whether the cron should start a round at `now`: every `intervalS` (0: never; staff can still start one). */
export async function roundDue(env: Env, now: number, intervalS: number): Promise<boolean> {
	if (intervalS <= 0) return false;
	const last = await rounds.lastRoundAt(env.DB);
	return last === null || now - last >= intervalS * 1000;
}
