// A rented cluster's rules, pure and clocked by argument: its stored shape, the GPU-time members delivered and the time
// missing, the ledger movements of a bill, whom a replacement stands for, the next deadline and the owner's view.
import type { ClusterSpec, ClusterStatus, ClusterView, MemberState, Reserved } from "../contracts.ts";
import type { JsonValue } from "../failure.ts";
import type { BillingState, BillingStep } from "./billing.ts";
import { NETWORK_FEE_BP, type Quote } from "./pricing.ts";

/** A member that has not said `ready` this long after `assign` is replaced. */
export const ACK_TIMEOUT_MS = 30_000;
/** While GPUs are missing or a step is unfinished, try again this often. */
export const RETRY_MS = 10_000;
/** A cluster that cannot start (members missing) for this long fails and is refunded. */
export const START_TIMEOUT_MS = 5 * 60_000;
export const HOUR_MS = 3_600_000;
/** Rental starts waiting for D1 are written this soon, in one batch. */
const RENTALS_BATCH_MS = 500;
/** The alarm never runs sooner than this after a change. */
const MIN_ALARM_MS = 100;

/** One member as stored (a `members` row's JSON): the node reserved for the cluster and how far it got. */
export interface Member extends Reserved {
	state: MemberState;
	assigned_at: number;
	ready_at: number | null;
	ended_at: number | null;
	seg_start: number | null;
	/** Dropped (lost or released), but not yet told to stop, freed in the scheduler and its rental closed. */
	unfreed?: true;
}

/** One ledger movement of a bill, as the credits ledger records it (idempotent by its key). */
export interface Movement {
	key: string;
	account_id: string;
	kind: "charge" | "refund" | "fee" | "payout";
	available_delta: number;
	held_delta: number;
	cluster_id: string;
	node_id?: string;
	memo?: string;
}

/** The cluster as stored (the `state` row's JSON); deployed objects hold this shape, so fields are only ever added. */
export interface ClusterState {
	id: string;
	spec: ClusterSpec;
	request_hash: string;
	status: ClusterStatus;
	quote: Quote;
	price_cents: number;
	hold_cents: number;
	created_at: number;
	started_at: number | null;
	ends_at: number | null;
	ended_at: number | null;
	last_billed_at: number;
	billing: BillingState;
	/** A money movement saved but not yet confirmed written to D1. */
	pending?: { entries: Movement[]; billing: BillingState; summary: Record<string, unknown> } | null;
	/** Deploying: nodes may be reserved and credits held, unconfirmed. A retried request resumes; the alarm undoes. */
	setup?: true;
	/** Over, but the final bill or the freeing of its nodes is unconfirmed: the alarm or a DELETE completes it. */
	settling?: true;
}

export interface ClusterEvent {
	at: number;
	kind: string;
	detail: Record<string, JsonValue>;
}

export function isOver(s: ClusterStatus): boolean {
	return s === "completed" || s === "terminated" || s === "failed";
}

/** A cluster just asked for: pending at the quoted price, and deploying until its nodes and hold are confirmed. */
export function newCluster(id: string, spec: ClusterSpec, requestHash: string, q: Quote, now: number): ClusterState {
	return {
		id,
		spec,
		request_hash: requestHash,
		status: "pending",
		quote: q,
		price_cents: q.price_per_gpu_hour_cents,
		hold_cents: q.hold_cents,
		created_at: now,
		started_at: null,
		ends_at: null,
		ended_at: null,
		last_billed_at: now,
		billing: { deliveredMs: {}, gapMs: 0, charged: 0, refunded: 0, paid: {}, fees: 0 },
		setup: true,
	};
}

/** The cluster starts running at `now`: its term and its billing hours count from here. */
export function startTerm(st: ClusterState, now: number): void {
	st.started_at = now;
	st.ends_at = now + st.spec.hours * HOUR_MS;
	st.last_billed_at = now;
}

/**
 * Adds a ready member's delivered GPU-time up to `at` to the billing state, and returns the member with its segment
 * restarted there (null when it has nothing to count). Billing runs from the cluster's start to the term's end: a
 * member that was ready while others were still coming is not billed for the wait.
 */
export function closeSegment(st: ClusterState, m: Member, at: number): Member | null {
	if (m.state !== "ready" || m.seg_start === null || st.started_at === null || st.ends_at === null) return null;
	const from = Math.max(m.seg_start, st.started_at);
	const to = Math.max(from, Math.min(at, st.ends_at));
	st.billing.deliveredMs[m.node_id] = (st.billing.deliveredMs[m.node_id] ?? 0) + (to - from) * m.gpu_count;
	return { ...m, seg_start: to };
}

/**
 * GPU-time missing since the start (asked-for GPUs × time running − delivered), to be refunded; call after closing
 * every ready member's segment at `at`. It only grows, and delivered + missing never exceed what was held.
 */
export function measureGap(st: ClusterState, at: number): void {
	if (st.started_at === null || st.ends_at === null) return;
	const asked = st.spec.gpu_count * (Math.min(at, st.ends_at) - st.started_at);
	const delivered = Object.values(st.billing.deliveredMs).reduce((a, b) => a + b, 0);
	st.billing.gapMs = Math.max(st.billing.gapMs, asked - delivered);
}

/**
 * The ledger movements of one billing step: the renter's charge and refund, the network's fee, each operator's payout.
 * `n` numbers the step within the cluster, so a replayed step has the same keys; `owners` maps nodes to accounts.
 */
export function movements(
	st: ClusterState,
	step: BillingStep,
	o: { n: number; final: boolean; owners: Map<string, string>; network: string },
): Movement[] {
	const acct = st.spec.account_id;
	const tag = `${st.id}:${o.n}`;
	const out: Movement[] = [];
	const cluster_id = st.id;
	if (step.charge) {
		const held_delta = -step.charge;
		out.push({ key: `charge:${tag}`, account_id: acct, kind: "charge", available_delta: 0, held_delta, cluster_id });
	}
	if (step.refund) {
		const memo = o.final ? "unused hold" : "GPUs missing while nodes were replaced";
		out.push({
			key: `refund:${tag}`,
			account_id: acct,
			kind: "refund",
			available_delta: step.refund,
			held_delta: -step.refund,
			cluster_id,
			memo,
		});
	}
	if (step.fee) {
		const memo = `${NETWORK_FEE_BP / 100}% network fee`;
		out.push({
			key: `fee:${tag}`,
			account_id: o.network,
			kind: "fee",
			available_delta: step.fee,
			held_delta: 0,
			cluster_id,
			memo,
		});
	}
	for (const [node, cents] of Object.entries(step.payouts)) {
		out.push({
			key: `payout:${tag}:${node}`,
			account_id: o.owners.get(node) as string,
			kind: "payout",
			available_delta: cents,
			held_delta: 0,
			cluster_id,
			node_id: node,
		});
	}
	return out;
}

/**
 * The scheduler places verified hardware first; when it had to take unverified nodes, the event says which (an empty
 * object when every node is verified).
 */
export function unverified(nodes: Reserved[]): { unverified_nodes?: string[] } {
	const ids = nodes.filter((n) => !n.verified).map((n) => n.node_id);
	return ids.length ? { unverified_nodes: ids } : {};
}

/** Whom replacements for `missing` GPUs stand for: the latest members lost, as many as make up the GPUs. */
export function replacing(members: Member[], missing: number): string[] {
	const named: string[] = [];
	let left = missing;
	for (const m of members.filter((x) => x.state === "lost").sort((a, b) => (b.ended_at ?? 0) - (a.ended_at ?? 0))) {
		if (left <= 0) break;
		named.push(m.node_id);
		left -= m.gpu_count;
	}
	return named;
}

/** What the next deadline depends on besides the state; read lazily (getters), as each is a query. */
export interface Outstanding {
	/** A dropped member is not yet freed. */
	readonly unfreed: boolean;
	/** GPUs of the members assigned or ready. */
	readonly activeGpus: number;
	/** When the longest-waiting member still to acknowledge was assigned. */
	readonly firstAssignedAt: number | null;
	/** Rental starts wait to be written to D1. */
	readonly rentals: boolean;
}

/**
 * When the alarm should next run (null: never again): unfinished steps and missing GPUs are retried, and every
 * deadline counts — acknowledgements, the start timeout, the hourly bill, the end of the term, a batch of rentals.
 */
export function nextAlarm(st: ClusterState | null, o: Outstanding, now: number): number | null {
	if (!st || (isOver(st.status) && !st.settling)) return null;
	const unfinished = st.setup || st.settling || o.unfreed;
	const times = unfinished || o.activeGpus < st.spec.gpu_count ? [now + RETRY_MS] : [];
	if (!st.setup && !st.settling) {
		times.push(st.last_billed_at + HOUR_MS);
		if (st.ends_at !== null) times.push(st.ends_at);
		const firstAssignedAt = o.firstAssignedAt;
		// A member to answer: told again every RETRY_MS (Cluster.onAlarm), dropped at its ACK_TIMEOUT_MS.
		if (firstAssignedAt !== null) times.push(Math.min(now + RETRY_MS, firstAssignedAt + ACK_TIMEOUT_MS));
		if (st.status === "pending") times.push(st.created_at + START_TIMEOUT_MS);
		if (o.rentals) times.push(now + RENTALS_BATCH_MS);
	}
	return Math.max(now + MIN_ALARM_MS, Math.min(...times));
}

/** The cluster as its owner reads it. */
export function clusterView(st: ClusterState, members: Member[], events: ClusterEvent[]): ClusterView {
	return {
		id: st.id,
		account_id: st.spec.account_id,
		status: st.status,
		gpu_model: st.spec.gpu_model,
		gpu_count: st.spec.gpu_count,
		hours: st.spec.hours,
		region: st.spec.region,
		price_per_gpu_hour_cents: st.price_cents,
		hold_cents: st.hold_cents,
		charged_cents: st.billing.charged,
		refunded_cents: st.billing.refunded,
		created_at: iso(st.created_at),
		started_at: iso(st.started_at),
		ends_at: iso(st.ends_at),
		ended_at: iso(st.ended_at),
		nodes: members.map((m) => ({
			node_id: m.node_id,
			gpu_count: m.gpu_count,
			state: m.state,
			assigned_at: iso(m.assigned_at),
			ready_at: iso(m.ready_at),
			ended_at: iso(m.ended_at),
		})),
		events: events.map((e) => ({ at: iso(e.at), kind: e.kind, ...e.detail })),
	};
}

function iso(ms: number | null): string | null {
	return ms === null ? null : new Date(ms).toISOString();
}
