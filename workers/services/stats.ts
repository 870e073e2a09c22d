// Network statistics from recorded state, each with its definition: GET /v1/stats and the bots' /network read the same figures.
import { ledgerStats } from "./points.ts";

export const STAT_DEFINITIONS = {
	nodes_registered: "Nodes registered and not deleted.",
	nodes_online: "Nodes whose recorded status is 'online': connected, and heard from within OFFLINE_AFTER_S, as measured by the coordinator.",
	gpus_online: "Sum of the claimed gpu_count of online nodes (claims are unverified until hardware challenges exist).",
	by_model: "Online nodes and GPUs grouped by the claimed gpu_model string.",
	incidents_open: "Coordinator incidents not yet ended (see GET /v1/incidents).",
	gpu_hours_24h: "GPU-hours online: Σ online_seconds × gpu_count / 3600 over the ledger rows of settled epochs that ended in the last 24 h, rented or not (incident credit excluded), rounded to 3 decimals.",
	rented_gpu_hours_24h: "GPU-hours rented (delivered to renters' clusters): Σ rented_gpu_seconds / 3600 over the same rows, rounded to 3 decimals. A rented node is online, so this is a part of gpu_hours_24h, not an addition to it.",
	points_24h: "Σ points of the ledger rows of settled epochs that ended in the last 24 h (ledger rows only: staff adjustments are not included).",
	rewards_24h: "Σ reward (tokens; the ledger records micro-tokens, 10⁻⁶) of those rows: the emission actually shared out.",
	settled_epochs_24h: "Settled epochs that ended in the last 24 h.",
} as const;

export async function networkStats(db: D1Database, now: number) {
	const [totals, models, open] = await db.batch([
		db.prepare(`SELECT count(*) AS nodes_registered,
		                   coalesce(sum(status = 'online'), 0) AS nodes_online,
		                   coalesce(sum(CASE WHEN status = 'online' THEN gpu_count END), 0) AS gpus_online
		            FROM nodes WHERE deleted_at IS NULL`),
		db.prepare(`SELECT gpu_model, count(*) AS nodes, sum(gpu_count) AS gpus FROM nodes
		            WHERE deleted_at IS NULL AND status = 'online' GROUP BY gpu_model ORDER BY gpus DESC, gpu_model`),
		db.prepare("SELECT count(*) AS n FROM incidents WHERE ended_at IS NULL"),
	]);
	const t = totals?.results[0] as { nodes_registered: number; nodes_online: number; gpus_online: number };
	return {
		as_of: new Date(now).toISOString(),
		nodes_registered: t.nodes_registered,
		nodes_online: t.nodes_online,
		gpus_online: t.gpus_online,
		by_model: (models?.results ?? []) as { gpu_model: string; nodes: number; gpus: number }[],
		incidents_open: (open?.results[0] as { n: number }).n,
		...(await ledgerStats(db, now)),
		definitions: STAT_DEFINITIONS,
	};
}
