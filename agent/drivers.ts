// Workload drivers: what the agent does when a cluster assigns this node work. Pluggable; `simulated` ships here.

export interface Assignment {
	cluster_id: string;
	gpu_count: number;
	/** Node ids of every member, this one included, for drivers that wire a cluster together (Ray, NCCL). */
	peers: string[];
	duration_s: number;
}

/**
 * A driver starts the renter's workload when `start` is called and resolves once it is ready to serve;
 * the agent then tells the coordinator `ready` (billing starts there). `stop` ends it on `release`.
 * A container driver would `docker run --gpus …` the renter's image in start and `docker rm -f` in stop;
 * a Ray driver would start a Ray worker joined to the head among `peers`.
 */
export interface WorkloadDriver {
	readonly name: string;
	start(a: Assignment): Promise<void>;
	stop(clusterId: string): Promise<void>;
	/** Clusters currently running here. */
	running(): string[];
}

/** Pretends to run the workload: instant start, bookkeeping only. Used by the tests and the benchmark. */
export class SimulatedDriver implements WorkloadDriver {
	readonly name = "simulated";
	private readonly jobs = new Map<string, Assignment>();

	async start(a: Assignment): Promise<void> {
		this.jobs.set(a.cluster_id, a);
	}

	async stop(clusterId: string): Promise<void> {
		this.jobs.delete(clusterId);
	}

	running(): string[] {
		return [...this.jobs.keys()];
	}
}

export const DRIVERS: Record<string, () => WorkloadDriver> = {
	simulated: () => new SimulatedDriver(),
};

/** Reads an `assign` message; null when it is malformed (the agent then ignores it). */
export function parseAssignment(msg: Record<string, unknown>): Assignment | null {
	const { cluster_id, gpu_count, peers, duration_s } = msg;
	if (typeof cluster_id !== "string" || !/^clu_[A-Za-z0-9_-]{8,40}$/.test(cluster_id)) return null;
	if (typeof gpu_count !== "number" || !Number.isInteger(gpu_count) || gpu_count < 1) return null;
	if (!Array.isArray(peers) || !peers.every((p) => typeof p === "string")) return null;
	if (typeof duration_s !== "number" || !(duration_s > 0)) return null;
	return { cluster_id, gpu_count, peers: peers as string[], duration_s };
}
