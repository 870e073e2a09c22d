// The exactness scenario's renter: deploys small clusters of random models now and then, ends some early, lets the
// rest run their term, and counts what it was told; any call may be cut by a coordinator crash.
import type { Call } from "./api.ts";

/** The renter keeps at most `max_clusters`, deploys every `deploy_every_ms`, ends `end_early_share` of them early. */
export const RENTER = {
	max_clusters: 6,
	deploy_every_ms: [1500, 4000] as [number, number],
	end_early_share: 0.5,
	end_early_after_ms: [3000, 20_000] as [number, number],
	gpus: [1, 12] as [number, number],
	/** The shortest terms a deploy accepts: 36, 72 or 108 s. */
	hours: [0.01, 0.02, 0.03],
	/** SKU names of the models bench/api.ts registers (RTX 4090, RTX 3090, A100, H100, L40S, M2 Ultra). */
	models: ["RTX 4090", "RTX 3090", "A100", "H100", "L40S", "Apple M-series"],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** mulberry32: a small seeded generator, so the fault schedule, pacing and renter repeat with the seed. */
export function seeded(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export const between = (rng: () => number, [lo, hi]: [number, number]) => lo + rng() * (hi - lo);

export class Renter {
	readonly counts = {
		deploy_calls: 0,
		deployed: 0,
		refused: {} as Record<string, number>,
		dropped: 0,
		terminate_calls: 0,
		terminate_dropped: 0,
	};
	/** Clusters deployed and not seen over, with when the renter ends them (null: they run their term). */
	readonly active = new Map<string, { endAt: number | null }>();
	private readonly http: (path: string, o: { method?: string; body?: unknown; auth?: string }) => Promise<Call>;
	private readonly key: string;
	private readonly rng: () => number;

	constructor(http: Renter["http"], key: string, rng: () => number) {
		this.http = http;
		this.key = key;
		this.rng = rng;
	}

	async loop(stopped: () => boolean): Promise<void> {
		while (!stopped()) {
			await sleep(between(this.rng, RENTER.deploy_every_ms));
			if (stopped()) break;
			await this.tick().catch(() => undefined);
		}
	}

	private async tick(): Promise<void> {
		for (const [id, c] of [...this.active]) {
			if (c.endAt !== null && Date.now() >= c.endAt) await this.terminate(id);
			else {
				const r = await this.http(`/v1/clusters/${id}`, { auth: this.key });
				if (r.status === 200 && isOver((r.body.cluster as { status: string }).status)) this.active.delete(id);
			}
		}
		if (this.active.size < RENTER.max_clusters) await this.deploy();
	}

	/** One deploy (a small cluster of a random model for 36–108 s); the call may be cut by a crash. Its outcome. */
	async deploy(): Promise<string> {
		const pick = <T>(list: T[]) => list[Math.floor(this.rng() * list.length)] as T;
		const [lo, hi] = RENTER.gpus;
		const body = {
			gpu_model: pick(RENTER.models),
			gpu_count: lo + Math.floor(this.rng() * (hi - lo + 1)),
			hours: pick(RENTER.hours),
		};
		const endEarly = this.rng() < RENTER.end_early_share ? between(this.rng, RENTER.end_early_after_ms) : null;
		this.counts.deploy_calls++;
		try {
			const r = await this.http("/v1/clusters", { body, auth: this.key });
			if (r.status === 201 || r.status === 200) {
				this.counts.deployed++;
				const id = (r.body.cluster as { id: string }).id;
				this.active.set(id, { endAt: endEarly === null ? null : Date.now() + endEarly });
			} else {
				const e = r.body.error as { code?: string; message?: string } | undefined;
				const why = `${r.status} ${e?.code ?? ""}: ${(e?.message ?? "").replace(/\d+ (idle|were)/g, "N $1").slice(0, 80)}`;
				this.counts.refused[why] = (this.counts.refused[why] ?? 0) + 1;
			}
			return `deploy ${r.status}`;
		} catch {
			this.counts.dropped++;
			return "deploy dropped";
		}
	}

	/** Ends a cluster now (its final bill); a call cut by a crash is retried at the next tick. Its outcome. */
	async terminate(id: string): Promise<string> {
		this.counts.terminate_calls++;
		try {
			const r = await this.http(`/v1/clusters/${id}`, { method: "DELETE", auth: this.key });
			if (r.status === 200 || r.status === 404) this.active.delete(id);
			return `terminate ${r.status}`;
		} catch {
			this.counts.terminate_dropped++;
			return "terminate dropped";
		}
	}

	/** A running cluster to end mid-crash, if there is one. */
	pick(): string | null {
		const ids = [...this.active.keys()];
		return ids.length ? (ids[Math.floor(this.rng() * ids.length)] as string) : null;
	}
}

export function isOver(status: string): boolean {
	return status === "completed" || status === "terminated" || status === "failed";
}
