// Status flips and what each one does to the read model (node row, online intervals), computed purely.
import type { NodeStatus } from "./status.ts";

export type Transport = "ws" | "http";

export const FLIP_REASONS = [
	"connected",
	"disconnected",
	"keepalive_timeout",
	"heartbeat_timeout",
	"maintenance_on",
	"maintenance_off",
	"coordinator_restart",
	"node_deleted",
] as const;
export type FlipReason = (typeof FLIP_REASONS)[number];

export interface Flip {
	/** The public id (GET /v1/nodes/:id/flips), `flipId(nodeId, seq)`: a retried write is ignored, not duplicated. */
	id: string;
	nodeId: string;
	/** The node's flip number, 1, 2, …: orders one node's flips (an older write never overwrites a newer one). */
	seq: number;
	from: NodeStatus;
	to: NodeStatus;
	/** When the coordinator decided the flip (ms). */
	at: number;
	reason: FlipReason;
	/** Last moment the node was heard from (ms), if known. */
	lastSeenAt: number | null;
	/** Start (ms) of the online interval this flip ends, when it leaves `online`. */
	intervalStart: number | null;
	/** End (ms) of that interval: the last moment the node was known alive. */
	intervalEnd: number | null;
	incidentId: string | null;
	/** The transport the node is on (`http` nodes are never rented); absent in flips queued by an older version. */
	transport?: Transport | null;
}

/** A flip's id: deterministic per node and flip number. Built here only; nobody takes it apart. */
export function flipId(nodeId: string, seq: number): string {
	return `${nodeId}:${seq}`;
}

export interface ReadModelChanges {
	/** Latest status per node after the batch, with the number of the flip that set it. */
	nodes: {
		node_id: string;
		status: NodeStatus;
		since: number;
		last_seen_at: number | null;
		seq: number;
		transport: Transport | null;
	}[];
	opens: { node_id: string; started_at: number }[];
	closes: {
		node_id: string;
		started_at: number;
		ended_at: number;
		end_reason: FlipReason;
		incident_id: string | null;
	}[];
	flips: {
		id: string;
		node_id: string;
		from_status: NodeStatus;
		to_status: NodeStatus;
		at: number;
		reason: FlipReason;
		last_seen_at: number | null;
		incident_id: string | null;
	}[];
}

/** Folds a batch of flips (in order) into row changes; applying them twice changes nothing. */
export function readModelChanges(flips: Flip[]): ReadModelChanges {
	const latest = new Map<string, Flip>();
	const out: ReadModelChanges = { nodes: [], opens: [], closes: [], flips: [] };
	for (const f of flips) {
		latest.set(f.nodeId, f);
		out.flips.push({
			id: f.id,
			node_id: f.nodeId,
			from_status: f.from,
			to_status: f.to,
			at: f.at,
			reason: f.reason,
			last_seen_at: f.lastSeenAt,
			incident_id: f.incidentId,
		});
		if (f.to === "online" && f.from !== "online") out.opens.push({ node_id: f.nodeId, started_at: f.at });
		if (f.from === "online" && f.to !== "online" && f.intervalStart !== null) {
			out.closes.push({
				node_id: f.nodeId,
				started_at: f.intervalStart,
				ended_at: Math.max(f.intervalStart, f.intervalEnd ?? f.at),
				end_reason: f.reason,
				incident_id: f.incidentId,
			});
		}
	}
	for (const f of latest.values()) {
		const transport = f.transport ?? null;
		out.nodes.push({ node_id: f.nodeId, status: f.to, since: f.at, last_seen_at: f.lastSeenAt, seq: f.seq, transport });
	}
	return out;
}
