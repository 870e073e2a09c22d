// Nodes: registration, and what owners and the public see of them.
import { activeOf as activeFlagsOf } from "../db/flags.ts";
import * as nodes from "../db/nodes.ts";
import type { NodeRow } from "../db/nodes.ts";
import { iso } from "../http.ts";
import { newId } from "../ids.ts";
import { assignShard } from "../domain/shards.ts";
import { publicVerification, type PublicVerification, type Verification } from "../domain/verification.ts";
import type { NodeStatus } from "../domain/status.ts";

export interface NewNode {
	name: string;
	public_key: string;
	hardware: { gpu_model: string; gpu_count: number; vram_gb: number; cpu_cores: number; ram_gb: number };
	region?: string | undefined;
}

/**
 * Registers the node; null when its public key is already registered (one check, so racing sign-ups cannot both pass).
 */
export async function createNode(
	db: D1Database,
	accountId: string,
	input: NewNode,
	shardCount: number,
	now: number,
): Promise<NodeRow | null> {
	const id = newId("node");
	const h = input.hardware;
	const row: NodeRow = {
		id,
		account_id: accountId,
		name: input.name,
		public_key: input.public_key,
		gpu_model: h.gpu_model,
		gpu_count: h.gpu_count,
		vram_gb: h.vram_gb,
		cpu_cores: h.cpu_cores,
		ram_gb: h.ram_gb,
		region: input.region ?? null,
		shard: assignShard(id, input.region ?? null, shardCount),
		status: "new",
		status_since: now,
		last_seen_at: null,
		maintenance: 0,
		created_at: now,
	};
	return (await nodes.create(db, row)) ? row : null;
}

export interface FlagView {
	id: string;
	code: string;
	reason: string;
	share: number;
	created_at: string | null;
}

/** What the node's owner also sees of a flag: its evidence, and the ticket appealing it. */
export interface OwnerFlagView extends FlagView {
	evidence: unknown;
	appeal_ticket_id: string | null;
}

/**
 * Active flags of the given nodes, each with its reason (public) and its evidence and appeal (the owner's view only;
 * `publicFlag` strips them). Appeal with a support ticket that names the flag (`flag_id`).
 */
export async function flagsFor(db: D1Database, nodeIds: string[]): Promise<Map<string, OwnerFlagView[]>> {
	const out = new Map<string, OwnerFlagView[]>();
	for (const { node_id, evidence, ...f } of await activeFlagsOf(db, nodeIds)) {
		const view = { ...f, created_at: iso(f.created_at), evidence: evidence === null ? null : JSON.parse(evidence) };
		out.set(node_id, [...(out.get(node_id) ?? []), view]);
	}
	return out;
}

/** A flag as anyone sees it: code, reason, share and date. */
export function publicFlag({ id, code, reason, share, created_at }: FlagView): FlagView {
	return { id, code, reason, share, created_at };
}

export interface Live {
	status: NodeStatus;
	last_seen_at: number | null;
	/** This epoch's availability challenges, when the shard answered. */
	challenges?: { issued: number; passed: number; failed: number; missed: number };
}

/** What anyone may see of a node. */
export function publicNodeView(
	row: NodeRow,
	live: Live,
	uptimeRatio: number,
	flags: FlagView[] = [],
	verification: Verification = { state: "unverified" },
) {
	return {
		id: row.id,
		name: row.name,
		status: live.status,
		status_since: iso(row.status_since),
		last_seen_at: iso(live.last_seen_at),
		uptime_24h: uptimeRatio,
		region: row.region,
		challenges: live.challenges ?? null,
		hardware: {
			gpu_model: row.gpu_model,
			gpu_count: row.gpu_count,
			vram_gb: row.vram_gb,
			verified: verification.state === "verified",
			verification: publicVerification(verification) as PublicVerification | Verification,
		},
		flags: flags.map(publicFlag),
		created_at: iso(row.created_at),
	};
}

/** What the owner sees: everything, including the key and shard. */
export function ownerNodeView(
	row: NodeRow,
	live: Live,
	uptimeRatio: number,
	flags: OwnerFlagView[] = [],
	verification: Verification = { state: "unverified" },
) {
	const pub = publicNodeView(row, live, uptimeRatio, flags, verification);
	return {
		...pub,
		account_id: row.account_id,
		public_key: row.public_key,
		shard: row.shard,
		maintenance: row.maintenance === 1,
		hardware: { ...pub.hardware, verification, cpu_cores: row.cpu_cores, ram_gb: row.ram_gb },
		flags,
	};
}
