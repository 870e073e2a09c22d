// HTTP-heartbeat nodes of a shard, held in memory only so that a beat writes nothing (the fallback's cost rule).
import type { Challenge, ChallengeResult } from "../workers/domain/challenge.ts";
import type { Origin } from "../workers/domain/incident.ts";

export class HttpBeats {
	/** node id → last beat (ms). */
	readonly last = new Map<string, number>();
	/** Pending challenge per node, answered in a later beat. */
	readonly challenges = new Map<string, Challenge>();
	/** Who is behind each beating node (account, network), for incident attribution. */
	readonly origins = new Map<string, Origin>();
	/** Outcomes recorded by a sweep (misses), told in the node's next reply. */
	private readonly results = new Map<string, ChallengeResult[]>();
	private readonly jtis = new Map<string, number>();

	/** `bootedAt`: tokens minted before this instance started may have been seen by the one before it. */
	constructor(private readonly bootedAt: number) {}

	/** Accepts a beat's token once; false for a replay (seen here, or minted before this instance started). */
	accept(jti: string, iatS: number, expMs: number, now: number): boolean {
		for (const [j, e] of this.jtis) if (e < now) this.jtis.delete(j);
		if (this.jtis.has(jti) || iatS * 1000 < this.bootedAt - 1000) return false;
		this.jtis.set(jti, expMs);
		return true;
	}

	/** True when a beat already used this token id (a connect must not reuse it). */
	seen(jti: string): boolean {
		return this.jtis.has(jti);
	}

	addResult(nodeId: string, r: ChallengeResult): void {
		this.results.set(nodeId, [...(this.results.get(nodeId) ?? []), r]);
	}

	takeResults(nodeId: string): ChallengeResult[] {
		const out = this.results.get(nodeId) ?? [];
		this.results.delete(nodeId);
		return out;
	}

	forget(nodeId: string): void {
		this.last.delete(nodeId);
		this.challenges.delete(nodeId);
		this.origins.delete(nodeId);
		this.results.delete(nodeId);
	}
}
