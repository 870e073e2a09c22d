// The adversarial scenario's scoring: what counts as a detection for each attack, recall and precision from the
// coordinator's verdicts, the honest false-positive rate per epoch, and what the Freivalds check should catch. Pure.
import type { Attack } from "./adversarial-plan.ts";

/** What the owner's API says of one identity at one moment (`GET /v1/nodes`). */
export interface Observed {
	state: string;
	reason: string | null;
	/** Codes of its active flags. */
	flags: string[];
}

/** One challenge part as it ended: the round's member outcome, or the connect verification's result. */
export interface ChallengeOutcome {
	identity: number;
	context: string;
	outcome: "passed" | "late" | "wrong_answer" | "void" | null;
	measured_ms: number | null;
}

export interface Truth {
	index: number;
	attack: Attack;
	variant: string;
	/** Its card also serves another identity. */
	sharing: boolean;
	/** It reports a UUID another identity also reports. */
	duplicateUuid: boolean;
	fraction: number | null;
}

/** The coordinator's signal that matches each attack. */
export const SIGNALS = {
	shared: "an active shared_hardware or duplicate_identity flag, or verification failed for one of those reasons",
	duplicate: "an active duplicate_identity flag, or verification failed: duplicate_identity",
	failed: "verification state failed (any reason): the node is not paid as the model it claims",
	wrong_answer: "the challenge ended wrong_answer (an opened row failed its Merkle path or Freivalds' test)",
	penalised: "verification state failed, or any active flag",
} as const;

const has = (o: Observed | undefined, codes: string[]) =>
	o !== undefined &&
	(o.flags.some((f) => codes.includes(f)) || (o.state === "failed" && codes.includes(o.reason ?? "")));

export const detects = {
	shared: (o: Observed | undefined) => has(o, ["shared_hardware", "duplicate_identity"]),
	sharedByTiming: (o: Observed | undefined) => has(o, ["shared_hardware"]),
	duplicate: (o: Observed | undefined) => has(o, ["duplicate_identity"]),
	failed: (o: Observed | undefined) => o?.state === "failed",
	penalised: (o: Observed | undefined) => o !== undefined && (o.state === "failed" || o.flags.length > 0),
};

export interface Rate {
	/** Identities (or challenges) of the attack, and how many the signal caught. */
	n: number;
	hit: number;
	recall: number | null;
	/** Everyone carrying the signal, and how many of them are honest. */
	flagged: number;
	flagged_honest: number;
	/** Share of those carrying the signal that are not honest (null when nobody carries it). */
	precision: number | null;
}

function rate(truth: Truth[], attackers: (t: Truth) => boolean, signal: (t: Truth) => boolean): Rate {
	const of = truth.filter(attackers);
	const hit = of.filter(signal).length;
	const flagged = truth.filter(signal);
	const honest = flagged.filter((t) => t.attack === "honest").length;
	return {
		n: of.length,
		hit,
		recall: of.length ? hit / of.length : null,
		flagged: flagged.length,
		flagged_honest: honest,
		precision: flagged.length ? (flagged.length - honest) / flagged.length : null,
	};
}

export interface IdentityScores {
	/** Farms and sybil addresses: every identity whose card serves another. */
	sharing: Rate;
	sharingByTiming: Rate;
	/** Per variant of the sharing identities (farm link and policy, sybil address). */
	sharingByVariant: Record<string, Rate>;
	overclaim: Rate;
	overclaimByVariant: Record<string, Rate>;
	partial: Rate;
	duplicate: Rate;
	oneAddress: Rate;
	/** Any penalty at all, per attack (honest: the false positives at the end). */
	penalised: Record<Attack, Rate>;
}

/** Scores the final verdicts on each identity. */
export function scoreIdentities(truth: Truth[], final: Map<number, Observed>): IdentityScores {
	const seen = (f: (o: Observed | undefined) => boolean) => (t: Truth) => f(final.get(t.index));
	const byVariant = (who: (t: Truth) => boolean, signal: (t: Truth) => boolean) => {
		const out: Record<string, Rate> = {};
		for (const v of new Set(truth.filter(who).map((t) => t.variant)))
			out[v] = rate(truth, (t) => who(t) && t.variant === v, signal);
		return out;
	};
	const isOver = (t: Truth) => t.attack === "overclaim";
	const penalised = {} as Record<Attack, Rate>;
	for (const a of new Set(truth.map((t) => t.attack)))
		penalised[a] = rate(truth, (t) => t.attack === a, seen(detects.penalised));
	return {
		sharing: rate(truth, (t) => t.sharing, seen(detects.shared)),
		sharingByTiming: rate(truth, (t) => t.sharing, seen(detects.sharedByTiming)),
		sharingByVariant: byVariant((t) => t.sharing, seen(detects.shared)),
		overclaim: rate(truth, isOver, seen(detects.failed)),
		overclaimByVariant: byVariant(isOver, seen(detects.failed)),
		partial: rate(truth, (t) => t.attack === "partial", seen(detects.failed)),
		duplicate: rate(truth, (t) => t.attack === "dup_uuid", seen(detects.duplicate)),
		oneAddress: rate(truth, (t) => t.attack === "one_address", seen(detects.shared)),
		penalised,
	};
}

export interface EpochFalsePositives {
	honest: number;
	/** Honest identities penalised at the end of each epoch. */
	perEpoch: number[];
	pooled: number | null;
	worst: number | null;
}

/** Honest identities penalised (state failed or any flag) at each epoch's end, as a share of the honest ones. */
export function honestFalsePositives(truth: Truth[], epochs: Map<number, Observed>[]): EpochFalsePositives {
	const honest = truth.filter((t) => t.attack === "honest");
	const perEpoch = epochs.map((e) => honest.filter((t) => detects.penalised(e.get(t.index))).length);
	const total = honest.length * epochs.length;
	return {
		honest: honest.length,
		perEpoch,
		pooled: total ? perEpoch.reduce((a, b) => a + b, 0) / total : null,
		worst: honest.length && epochs.length ? Math.max(...perEpoch) / honest.length : null,
	};
}

export interface ChallengeScores {
	n: number;
	caught: number;
	recall: number | null;
	/** Outcome counts, void and unknown included (those are left out of n). */
	outcomes: Record<string, number>;
}

/** Per challenge: of the ended (not void) challenges of the chosen identities, how many ended with `outcome`. */
export function scoreChallenges(
	challenges: ChallengeOutcome[],
	who: (identity: number) => boolean,
	caughtAs: ChallengeOutcome["outcome"][],
): ChallengeScores {
	const of = challenges.filter((c) => who(c.identity));
	const outcomes: Record<string, number> = {};
	for (const c of of) outcomes[c.outcome ?? "unknown"] = (outcomes[c.outcome ?? "unknown"] ?? 0) + 1;
	const ended = of.filter((c) => c.outcome !== null && c.outcome !== "void");
	const caught = ended.filter((c) => caughtAs.includes(c.outcome)).length;
	return { n: ended.length, caught, recall: ended.length ? caught / ended.length : null, outcomes };
}

/** Rows a partial computer leaves uncomputed out of `rows`: it computes round(f · rows) of them. */
export function garbageRows(rows: number, fraction: number): number {
	return rows - Math.round(fraction * rows);
}

/**
 * The chance that k rows opened without replacement from `rows` all miss the `garbage` ones: C(rows − g, k) / C(rows,
 * k). At the real sizes (10^8 rows) it is f^k (`passProbability`); at the bench's small stand-in it is lower.
 */
export function passChance(rows: number, garbage: number, k: number): number {
	if (k > rows) return garbage === 0 ? 1 : 0;
	let p = 1;
	for (let j = 0; j < k; j++) p *= Math.max(0, rows - garbage - j) / (rows - j);
	return p;
}

/** Wilson score interval (95 %) for hit/n: what the counts can say about the true rate. */
export function wilson(hit: number, n: number, z = 1.96): [number, number] | null {
	if (n === 0) return null;
	const p = hit / n;
	const d = 1 + (z * z) / n;
	const centre = (p + (z * z) / (2 * n)) / d;
	const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
	return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
