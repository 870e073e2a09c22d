// One hardware verification of one node, as a pure state machine clocked by argument (docs/VERIFICATION.md §6): its
// parts (one per claimed GPU, sent at once), the round trip the first ack measures, each commit timed on arrival
// against the deadline, the reveal, the opening checked exactly, and the outcome with its evidence.
import { base64url as base64urlOf, fromBase64url } from "./challenge.ts";
import {
	OPENED_ROWS,
	VERIFY_METHOD,
	challengeClass,
	deadlineMs,
	proofMs,
	randomVector,
	sampleRows,
	verifyRows,
	int32sFromBase64url,
	wordsToBase64url,
	type ChallengeClass,
	type OpenedRow,
	type Shape,
} from "./matmul.ts";
import { tierOf } from "./points.ts";
import type { FailureReason, VerificationRecord } from "./verification.ts";

/** A node has this long after a reveal to send its opening. */
export const OPEN_TIMEOUT_MS = 10_000;
/** The round trip counted into a deadline is at most this (a node that delays its ack gains nothing past it). */
export const MAX_RTT_MS = 500;

export interface Claim {
	gpu_model: string;
	gpu_count: number;
}

export interface Part {
	id: string;
	/** base64url of the 32-byte seed. */
	seed: string;
	root: string | null;
	committedAt: number | null;
	reveal: { r: string; rows: number[]; at: number } | null;
	/** How the part ended: passed, or the check's reason / `late`; null while it runs. */
	ended: "passed" | "late" | "wrong_answer" | null;
	detail: string | null;
}

export interface Session {
	claim: Claim;
	cls: ChallengeClass;
	shape: Shape;
	sentAt: number;
	/** When the first ack arrived; null until then (no ack: the node does not speak verification). */
	ackAt: number | null;
	parts: Part[];
	declined: string | null;
}

/** A new session for `claim`: `seeds` are the parts' (derived by the caller, one per claimed GPU). */
export function newSession(
	claim: Claim,
	shape: Shape,
	seeds: { id: string; seed: Uint8Array }[],
	now: number,
): Session {
	const parts = seeds.map(({ id, seed }) => ({
		id,
		seed: base64urlOf(seed),
		root: null,
		committedAt: null,
		reveal: null,
		ended: null,
		detail: null,
	}));
	return { claim, cls: challengeClass(claim.gpu_model), shape, sentAt: now, ackAt: null, parts, declined: null };
}

/** The round trip counted for the deadline. */
export function rttOf(s: Session): number {
	return s.ackAt === null ? MAX_RTT_MS : Math.min(MAX_RTT_MS, Math.max(0, s.ackAt - s.sentAt));
}

/** The latest a part may commit, as the challenge states it (with the largest round trip counted). */
export function latestCommit(s: Session): number {
	return s.sentAt + deadlineMs(s.cls, MAX_RTT_MS);
}

/**
 * Why a verification message from the node is refused (sent back as an `error` with code `verify_refused`, and
 * counted), or null when its session takes it: no session, a part never issued to this node, a part that has ended,
 * a second commit, an opening before its reveal.
 */
export function refusalOf(s: Session | undefined, msg: { type: string; id: string }): string | null {
	if (!s) return "no verification is running on this connection";
	const p = s.parts.find((x) => x.id === msg.id);
	if (!p) return `'${msg.id.slice(0, 64)}' is not a challenge issued to this node`;
	if (p.ended) return `'${p.id}' has ended (${p.ended})`;
	if (msg.type === "verify_commit" && p.root !== null) return `'${p.id}' is committed already`;
	if (msg.type === "verify_open" && !p.reveal) return `'${p.id}' has not been revealed`;
	return null;
}

export function onAck(s: Session, now: number): void {
	s.ackAt ??= now;
}

/**
 * A commit, timed on arrival: within `sentAt + deadlineMs(class, RTT)` it is revealed (r and rows drawn with
 * `random`, which must be a secure source), else the part is late. Returns the reveal to send, if any.
 */
export function onCommit(
	s: Session,
	id: string,
	root: string,
	now: number,
	random: () => number,
): { r: string; rows: number[] } | null {
	const p = s.parts.find((x) => x.id === id);
	if (!p || p.root !== null || p.ended) return null;
	s.ackAt ??= now; // a commit without an ack still speaks verification (its round trip counts in full)
	p.root = root;
	p.committedAt = now;
	const due = s.sentAt + deadlineMs(s.cls, rttOf(s));
	if (now > due)
		return end(p, "late", `committed ${now - s.sentAt} ms after the challenge; due within ${due - s.sentAt}`);
	const r = randomVector(random, s.shape.cols);
	const rows = sampleRows(random, s.shape.rows, OPENED_ROWS);
	p.reveal = { r: wordsToBase64url(r), rows, at: now };
	return { r: p.reveal.r, rows };
}

/** An opening: late after OPEN_TIMEOUT_MS, else checked exactly against the part's root. */
export async function onOpen(s: Session, id: string, rows: OpenedRow[], now: number): Promise<void> {
	const p = s.parts.find((x) => x.id === id);
	if (!p?.reveal || p.ended || p.root === null) return;
	if (now > p.reveal.at + OPEN_TIMEOUT_MS)
		return void end(p, "late", `opened ${now - p.reveal.at} ms after the reveal`);
	const r = new Uint32Array((int32sFromBase64url(p.reveal.r) as Int32Array).buffer);
	const seed = fromBase64url(p.seed) as Uint8Array; // both written by newSession and onCommit above
	const result = await verifyRows(seed, s.shape, p.root, { r, rows: p.reveal.rows }, rows);
	if (result.ok) end(p, "passed", null);
	else end(p, "wrong_answer", `${result.reason}: ${result.detail}`);
}

export function onDecline(s: Session, reason: string): void {
	s.declined = reason;
}

/** Parts past their deadlines as of `now` end as late (commit not in time, or opening not in time). */
export function expire(s: Session, now: number): void {
	if (s.ackAt === null) return; // a node that never acknowledged does not speak verification: nothing to judge
	for (const p of s.parts) {
		if (p.ended) continue;
		if (p.root === null && now > latestCommit(s)) end(p, "late", "no commit by the deadline");
		else if (p.reveal && now > p.reveal.at + OPEN_TIMEOUT_MS) end(p, "late", "no opening within 10 s of the reveal");
	}
}

export type Outcome =
	| { kind: "pending" }
	| { kind: "void"; why: string }
	| { kind: "done"; record: VerificationRecord };

/**
 * Where the session stands as of `now`: still running; void (declined, or never acknowledged by the time every part
 * would be late: an agent without verification, so nothing is recorded); or done, with the record to store.
 */
export function outcome(s: Session, now: number): Outcome {
	if (s.declined !== null) return { kind: "void", why: `declined: ${s.declined}` };
	if (s.ackAt === null)
		return now > latestCommit(s) ? { kind: "void", why: "never acknowledged" } : { kind: "pending" };
	if (s.parts.some((p) => p.ended === null)) return { kind: "pending" };
	const failed = s.parts.find((p) => p.ended !== "passed");
	if (!failed) {
		const slowest = base(s, now).measured_ms;
		const proof = proofMs(s.cls, rttOf(s));
		if (slowest > proof) {
			const slow = `right answers, committed after ${slowest} ms: ${s.cls} hardware commits within ${proof} ms`;
			return { kind: "done", record: failedRecord(s, "late", { ...evidenceOf(s), slower_than_claim: slow }, now) };
		}
		const record = { ...base(s, now), state: "verified" as const, tier: tierOf(s.claim.gpu_model).tier, reason: null };
		return { kind: "done", record: { ...record, evidence: JSON.stringify(evidenceOf(s)) } };
	}
	const reason: FailureReason = failed.ended === "late" ? "late" : "wrong_answer";
	return { kind: "done", record: failedRecord(s, reason, evidenceOf(s), now) };
}

/**
 * The attempt of a session a co-scheduled round required and the node did not finish (declined, never acknowledged,
 * disconnected): failed as `late`, with `why`. Outside a round such a session records nothing; in one, ignoring the
 * challenge would be a free way out of being challenged together (docs/VERIFICATION.md §14).
 */
export function unanswered(s: Session, why: string, now: number): VerificationRecord {
	return failedRecord(s, "late", { ...evidenceOf(s), unanswered: why }, now);
}

function base(s: Session, now: number) {
	const measured = Math.max(...s.parts.map((p) => (p.committedAt ?? now) - s.sentAt));
	return { ...s.claim, method: VERIFY_METHOD, measured_ms: measured, updated_at: now };
}

function failedRecord(s: Session, reason: FailureReason, evidence: object, now: number): VerificationRecord {
	return { ...base(s, now), state: "failed", tier: null, reason, evidence: JSON.stringify(evidence) };
}

function evidenceOf(s: Session) {
	return {
		class: s.cls,
		shape: s.shape,
		rtt_ms: rttOf(s),
		proof_ms: proofMs(s.cls, rttOf(s)),
		deadline_ms: deadlineMs(s.cls, rttOf(s)),
		parts: s.parts.map((p) => ({
			id: p.id,
			commit_ms: p.committedAt === null ? null : p.committedAt - s.sentAt,
			ended: p.ended,
			detail: p.detail,
		})),
	};
}

function end(p: Part, how: NonNullable<Part["ended"]>, detail: string | null): null {
	p.ended = how;
	p.detail = detail;
	return null;
}
