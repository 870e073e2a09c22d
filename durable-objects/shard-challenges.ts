// A shard's availability challenges over both transports: issued by sample, judged by arrival time, recorded in the
// tally before the agent is told, so the result an agent sees is the count the ledger settles.
import type { ChallengeCounts } from "../workers/contracts.ts";
import type { ChallengeResult } from "../workers/domain/challenge.ts";
import {
	challengeSampleSize,
	echoAnswer,
	newChallenge,
	sample,
	type Challenge,
	type Outcome,
} from "../workers/domain/challenge.ts";
import type { Settings } from "../workers/domain/settings.ts";
import type { HttpBeats } from "./shard-beats.ts";
import type { ShardSockets, SocketState } from "./shard-sockets.ts";
import type { ChallengeTally, Decided } from "./shard-tally.ts";

export class ShardChallenges {
	constructor(
		private readonly sockets: ShardSockets,
		private readonly http: HttpBeats,
		private readonly tally: ChallengeTally,
		private readonly s: Settings,
	) {}

	/** A WebSocket answer, judged by when it arrived; recorded and reported at the next sweep. */
	async answer(st: SocketState, id: string, answer: string, now: number): Promise<void> {
		const c = st.challenge;
		if (c?.id !== id) return;
		st.challenge = null;
		st.result = { id, outcome: await judge(st.nodeId, c, answer, now) };
	}

	/**
	 * What an ending socket still owes the tally: its judged outcome, or its pending challenge as missed (the node left
	 * first). The caller records it; nobody is told, the socket is gone.
	 */
	owed(st: SocketState): Decided | null {
		const owed = st.result
			? { nodeId: st.nodeId, ...st.result }
			: st.challenge
				? { nodeId: st.nodeId, id: st.challenge.id, outcome: "missed" as const }
				: null;
		st.challenge = null;
		st.result = null;
		return owed;
	}

	/** An HTTP node left (bye or silence): its pending challenge is missed. */
	owedByBeat(nodeId: string): Decided | null {
		const c = this.http.challenges.get(nodeId);
		this.http.forget(nodeId);
		return c ? { nodeId, id: c.id, outcome: "missed" } : null;
	}

	async record(decided: Decided[]): Promise<number> {
		return this.tally.record(decided);
	}

	/** The epoch this shard counts in now. */
	openEpoch(): Promise<number> {
		return this.tally.openEpoch();
	}

	countsOf(nodeId: string): Promise<ChallengeCounts> {
		return this.tally.countsOf(nodeId);
	}

	closeEpoch(n: number): Promise<Record<string, ChallengeCounts>> {
		return this.tally.closeEpoch(n);
	}

	/**
	 * An HTTP beat: its answer is judged and recorded at once (one row), and the reply carries it with any miss recorded
	 * since the last beat. Then maybe a new challenge, answered in a later beat (so its deadline allows one more beat).
	 */
	async beat(
		nodeId: string,
		answers: { id: string; answer: string }[],
		online: boolean,
		now: number,
	): Promise<{ results: ChallengeResult[]; challenge: Challenge | null }> {
		const results = this.http.takeResults(nodeId);
		const pending = this.http.challenges.get(nodeId);
		const answer = pending && answers.find((a) => a.id === pending.id);
		if (pending && answer) {
			this.http.challenges.delete(nodeId);
			const outcome = await judge(nodeId, pending, answer.answer, now);
			const epoch = await this.tally.record([{ nodeId, id: pending.id, outcome }]);
			results.push(resultOf(pending.id, outcome, epoch));
		}
		let challenge: Challenge | null = null;
		const due = Math.random() < this.s.heartbeatIntervalS / this.s.challengeEveryS;
		if (online && !this.http.challenges.has(nodeId) && due) {
			challenge = newChallenge(now + this.s.heartbeatIntervalS * 1000, this.s);
			this.http.challenges.set(nodeId, challenge);
		}
		return { results, challenge };
	}

	/**
	 * The sweep's part: expired challenges are missed; every outcome decided since the last sweep (on live sockets, on
	 * HTTP nodes, and `owed` by sockets that ended) is recorded in one write, then live sockets are told and HTTP nodes
	 * hear it on their next beat. Then a new sample of `live` sockets of online nodes is challenged.
	 */
	async sweep(live: WebSocket[], owed: Decided[], isOnline: (nodeId: string) => boolean, now: number): Promise<void> {
		const told: { ws: WebSocket; st: SocketState; d: Decided }[] = [];
		for (const ws of live) {
			const st = this.sockets.state(ws) as SocketState;
			if (st.challenge && st.challenge.deadline < now) {
				st.result = { id: st.challenge.id, outcome: "missed" };
				st.challenge = null;
			}
			if (st.result) told.push({ ws, st, d: { nodeId: st.nodeId, ...st.result } });
		}
		const beats: Decided[] = [];
		for (const [nodeId, c] of this.http.challenges) {
			if (c.deadline >= now) continue;
			this.http.challenges.delete(nodeId);
			beats.push({ nodeId, id: c.id, outcome: "missed" });
		}
		const epoch = await this.tally.record([...owed, ...told.map((t) => t.d), ...beats]);
		for (const { ws, st, d } of told) {
			this.sockets.set(ws, { ...st, result: null });
			this.sockets.send(ws, { type: "challenge_result", ...resultOf(d.id, d.outcome, epoch) });
		}
		for (const d of beats) this.http.addResult(d.nodeId, resultOf(d.id, d.outcome, epoch));
		this.issue(live, isOnline, now);
	}

	/** Samples first, then checks the sampled few: a sweep reads no row per healthy node. */
	private issue(live: WebSocket[], isOnline: (nodeId: string) => boolean, now: number): void {
		const idle = live.filter((ws) => {
			const st = this.sockets.state(ws);
			return st && !st.challenge && !st.result;
		});
		for (const ws of sample(idle, challengeSampleSize(idle.length, this.s, Math.random), Math.random)) {
			const st = this.sockets.state(ws) as SocketState;
			if (!isOnline(st.nodeId)) continue; // in maintenance: not challenged
			const c = newChallenge(now, this.s);
			this.sockets.set(ws, { ...st, challenge: c });
			const deadline = new Date(c.deadline).toISOString();
			this.sockets.send(ws, { type: "challenge", id: c.id, kind: c.kind, nonce: c.nonce, deadline });
		}
	}
}

async function judge(nodeId: string, c: Challenge, answer: string, now: number): Promise<Outcome> {
	return now <= c.deadline && answer === (await echoAnswer(nodeId, c.nonce)) ? "passed" : "failed";
}

function resultOf(id: string, outcome: Outcome, epoch: number): ChallengeResult {
	return { id, passed: outcome === "passed", outcome, epoch };
}
