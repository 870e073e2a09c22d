// Nodes as every reader shows them (GET /v1/nodes, GET /v1/nodes/:id, the bots, the digest): live status from the
// shard, 24 h uptime, flags, hardware verification, bandwidth tier.
import { liveStatus } from "./liveness.ts";
import { bandwidthSamplesOf } from "../db/bandwidth.ts";
import { ofAccount, type NodeRow } from "../db/nodes.ts";
import { verificationsOf } from "../db/verifications.ts";
import { verificationOf } from "../domain/verification.ts";
import { type Bandwidth, bandwidthOf } from "../domain/bandwidth.ts";
import { flagsFor, ownerNodeView, publicNodeView } from "./nodes.ts";
import { DAY_MS, uptimes } from "./uptime.ts";

/** A view whose `hardware` also carries the node's bandwidth tier (docs/VERIFICATION.md §12). */
type WithBandwidth<V extends { hardware: object }> = Omit<V, "hardware"> & {
	hardware: V["hardware"] & { bandwidth: Bandwidth };
};
export type OwnerNodeView = WithBandwidth<ReturnType<typeof ownerNodeView>>;
export type PublicNodeView = WithBandwidth<ReturnType<typeof publicNodeView>>;

/** The owner's view of the caller's own rows, the public view of everyone else's, in the order given. */
export async function nodeViews(
	env: Env,
	rows: NodeRow[],
	callerId: string | null,
	now: number,
): Promise<(OwnerNodeView | PublicNodeView)[]> {
	const ids = rows.map((r) => r.id);
	const [live, { uptime }, flags, verifications, bandwidth] = await Promise.all([
		liveStatus(env, rows),
		uptimes(env.DB, rows, { from: now - DAY_MS, to: now, now }),
		flagsFor(env.DB, ids),
		verificationsOf(env.DB, ids),
		bandwidthSamplesOf(env.DB, ids),
	]);
	return rows.map((r) => {
		const l = live.get(r.id) ?? { status: r.status, last_seen_at: r.last_seen_at };
		const u = uptime.get(r.id)?.ratio ?? 0;
		const f = flags.get(r.id) ?? [];
		const v = verificationOf(verifications.get(r.id), r);
		const view = callerId === r.account_id ? ownerNodeView(r, l, u, f, v) : publicNodeView(r, l, u, f, v);
		return { ...view, hardware: { ...view.hardware, bandwidth: bandwidthOf(bandwidth.get(r.id) ?? []) } };
	});
}

export function isOwnerView(v: OwnerNodeView | PublicNodeView): v is OwnerNodeView {
	return "account_id" in v;
}

const RANK = { offline: 0, maintenance: 1, new: 2, online: 3 } as const;

/**
 * Worst first: offline (longest offline first), then maintenance, never connected, and online (lowest uptime first).
 */
export function worstFirst<V extends Pick<PublicNodeView, "status" | "status_since" | "uptime_24h" | "name">>(
	views: V[],
): V[] {
	return [...views].sort(
		(a, b) =>
			RANK[a.status] - RANK[b.status] ||
			(a.status === "online"
				? a.uptime_24h - b.uptime_24h
				: Date.parse(a.status_since ?? "") - Date.parse(b.status_since ?? "")) ||
			a.name.localeCompare(b.name),
	);
}

/** An account's nodes as their owner sees them, worst first: what the bots' node lists and the daily digest show. */
export async function accountNodes(env: Env, accountId: string, now: number): Promise<OwnerNodeView[]> {
	const views = await nodeViews(env, await ofAccount(env.DB, accountId), accountId, now);
	return worstFirst(views.filter(isOwnerView));
}
