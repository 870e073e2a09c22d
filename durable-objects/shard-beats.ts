// HTTP-heartbeat nodes of a shard, held in memory only so that a beat writes nothing (the fallback's cost rule).
import type { Challenge } from "../workers/domain/challenge.ts";

export class HttpBeats {
	/** node id → last beat (ms). */
	readonly last = new Map<string, number>();
	/** Pending challenge per node, answered in a later beat. */
	readonly challenges = new Map<string, Challenge>();
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

	forget(nodeId: string): void {
		this.last.delete(nodeId);
		this.challenges.delete(nodeId);
	}
}
