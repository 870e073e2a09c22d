// Admin-only routes for operating the coordinator.
import type { IRequest } from "itty-router";
import type { ShardMetrics } from "../../durable-objects/LivenessShard.ts";
import { requireAdmin } from "../auth.ts";
import { json } from "../http.ts";
import { shard } from "../services/liveness.ts";

/** Counters of billable operations summed over every shard that owns nodes (the benchmark's cost model reads this). */
export async function getLivenessMetrics(request: IRequest, env: Env): Promise<Response> {
	await requireAdmin(request, env);
	const { results } = await env.DB.prepare("SELECT DISTINCT shard FROM nodes").all<{ shard: string }>();
	const per = await Promise.all(results.map(async (r) => ({ shard: r.shard, metrics: await shard(env, r.shard).metricsSnapshot() })));
	const total = per.reduce<Record<string, number>>((sum, p) => {
		for (const [k, v] of Object.entries(p.metrics as ShardMetrics)) sum[k] = (sum[k] ?? 0) + v;
		return sum;
	}, {});
	return json({ shards: per.length, total, per_shard: per });
}
