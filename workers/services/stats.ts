// Network statistics from recorded state, each with its definition: GET /v1/stats and the bots' /network read the same
// figures.
import { openIncidentCount } from "../db/flips.ts";
import { onlineCounts } from "../db/nodes.ts";
import { ledgerStats } from "./points.ts";

export const STAT_DEFINITIONS = {
	nodes_registered: "Nodes registered and not deleted.",
	nodes_online:
		"Nodes whose recorded status is 'online': connected, " +
		"and heard from within OFFLINE_AFTER_S, as measured by the coordinator.",
	gpus_online: "Sum of the claimed gpu_count of online nodes, verified or not.",
	gpus_verified_online:
		"Sum of the gpu_count of online nodes whose claim (model and GPU count) a hardware verification proved " +
		"(docs/VERIFICATION.md); the rest of gpus_online is claimed only.",
	by_model: "Online nodes and GPUs grouped by the claimed gpu_model string, with the verified part of the GPUs.",
	incidents_open: "Coordinator incidents not yet ended (see GET /v1/incidents).",
	gpu_hours_24h:
		"GPU-hours online: Σ online_seconds × gpu_count / 3600 over the ledger rows of settled epochs " +
		"that ended in the last 24 h, rented or not (incident credit excluded), rounded to 3 decimals.",
	rented_gpu_hours_24h:
		"GPU-hours rented (delivered to renters' clusters): Σ rented_gpu_seconds / 3600 over the same rows, " +
		"rounded to 3 decimals. A rented node is online, so this is a part of gpu_hours_24h, not an addition to it.",
	points_24h:
		"Σ points of the ledger rows of settled epochs that ended in the last 24 h " +
		"(ledger rows only: staff adjustments are not included).",
	rewards_24h:
		"Σ reward (tokens; the ledger records micro-tokens, 10⁻⁶) of those rows: the emission actually shared out.",
	settled_epochs_24h: "Settled epochs that ended in the last 24 h.",
} as const;

export async function networkStats(db: D1Database, now: number) {
	const [{ totals: t, byModel }, incidentsOpen] = await Promise.all([onlineCounts(db), openIncidentCount(db)]);
	return {
		as_of: new Date(now).toISOString(),
		nodes_registered: t.nodes_registered,
		nodes_online: t.nodes_online,
		gpus_online: t.gpus_online,
		gpus_verified_online: t.gpus_verified_online,
		by_model: byModel,
		incidents_open: incidentsOpen,
		...(await ledgerStats(db, now)),
		definitions: STAT_DEFINITIONS,
	};
}
