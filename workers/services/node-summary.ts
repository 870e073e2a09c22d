// An operator's nodes as the bots show them: live status, last seen and 24 h uptime, worst first.
import { liveStatus } from "./liveness.ts";
import { DAY_MS, intervalsFor, listNodeRows, uptime24h } from "./nodes.ts";
import type { NodeStatus } from "../domain/status.ts";

export interface NodeSummary { id: string; name: string; status: NodeStatus; last_seen_at: number | null; uptime_24h: number }

export async function nodeSummaries(env: Env, accountId: string, now: number): Promise<NodeSummary[]> {
	const rows = await listNodeRows(env.DB, accountId);
	const [live, intervals] = await Promise.all([liveStatus(env, rows), intervalsFor(env.DB, rows.map((r) => r.id), now - DAY_MS, now)]);
	const order: Record<NodeStatus, number> = { offline: 0, maintenance: 1, new: 2, online: 3 };
	return rows
		.map((r) => {
			const l = live.get(r.id) ?? { status: r.status, last_seen_at: r.last_seen_at };
			return { id: r.id, name: r.name, status: l.status, last_seen_at: l.last_seen_at, uptime_24h: uptime24h(r, intervals.get(r.id) ?? [], now) };
		})
		.sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name));
}
