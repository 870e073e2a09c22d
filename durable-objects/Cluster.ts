// Owns one rented cluster: its members, acknowledgements, failover, hourly billing and its event list.
import { DurableObject } from "cloudflare:workers";
import { applyStep, billingStep, type BillingState } from "../workers/domain/billing.ts";
import { NETWORK_FEE_BP, quote, skuByName, type Quote } from "../workers/domain/pricing.ts";
import type { CoordinatorMessage } from "../workers/domain/protocol.ts";
import { NETWORK_ACCOUNT, hold, record, type Entry } from "../workers/services/credits.ts";
import { shard } from "../workers/services/liveness.ts";
import type { Reserved } from "./Scheduler.ts";

/** A member that has not said `ready` this long after `assign` is replaced. */
export const ACK_TIMEOUT_MS = 30_000;
/** While members are missing, look for replacements this often. */
export const RETRY_MS = 10_000;
/** A cluster that cannot start (members missing) for this long fails and is refunded. */
export const START_TIMEOUT_MS = 5 * 60_000;
const HOUR_MS = 3_600_000;

export type ClusterStatus = "pending" | "running" | "degraded" | "completed" | "terminated" | "failed";
type MemberState = "assigned" | "ready" | "lost" | "released";

export interface ClusterSpec {
	account_id: string;
	gpu_model: string;
	gpu_count: number;
	hours: number;
	region: string | null;
	max_price_per_gpu_hour_cents: number | null;
}

interface Member extends Reserved { state: MemberState; assigned_at: number; ready_at: number | null; ended_at: number | null; seg_start: number | null }

interface State {
	id: string;
	spec: ClusterSpec;
	request_hash: string;
	status: ClusterStatus;
	price_cents: number;
	hold_cents: number;
	created_at: number;
	started_at: number | null;
	ends_at: number | null;
	ended_at: number | null;
	last_billed_at: number;
	/** Since when GPUs have been missing (lost members not yet replaced): start of the current gap, per lost member. */
	gaps: { node_id: string; gpu_count: number; since: number }[];
	billing: BillingState;
	/** A money movement saved but not yet confirmed written to D1. */
	pending?: { entries: Entry[]; billing: BillingState; summary: Record<string, unknown> } | null;
}

export type CreateResult =
	| { ok: true; created: boolean; cluster: ReturnType<Cluster["view"]> }
	| { ok: false; status: 402 | 409 | 422; code: string; message: string; available_gpus?: number; quote?: Quote };

export class Cluster extends DurableObject<Env> {
	private readonly sql: SqlStorage;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		this.sql.exec(`
			CREATE TABLE IF NOT EXISTS state (k TEXT PRIMARY KEY, v TEXT NOT NULL);
			CREATE TABLE IF NOT EXISTS members (node_id TEXT PRIMARY KEY, v TEXT NOT NULL);
			CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
			-- Rental starts not yet in D1: written in batches, since a 1,000-node cluster says "ready" 1,000 times at once.
			CREATE TABLE IF NOT EXISTS pending_rentals (node_id TEXT PRIMARY KEY, gpu_count INTEGER NOT NULL, started_at INTEGER NOT NULL);
		`);
	}

	/**
	 * Every change runs one at a time: the object's input gate opens while it awaits other objects and D1,
	 * and two racing deploys with the same Idempotency-Key must not both create.
	 */
	private chain: Promise<unknown> = Promise.resolve();
	private serial<T>(fn: () => Promise<T>): Promise<T> {
		const next = this.chain.then(fn, fn);
		this.chain = next.catch(() => undefined);
		return next;
	}

	/** Reserves nodes, holds credits and tells every agent; the same request again returns the same cluster. */
	create(id: string, spec: ClusterSpec, requestHash: string, now: number): Promise<CreateResult> {
		return this.serial(() => this.doCreate(id, spec, requestHash, now));
	}

	ready(nodeId: string, now = Date.now()): Promise<boolean> {
		return this.serial(() => this.doReady(nodeId, now));
	}

	nodeLost(nodeId: string, at: number, why = "node_offline"): Promise<void> {
		return this.serial(() => this.lose(nodeId, at, why));
	}

	/** DELETE by the owner: release every node, charge what was delivered, refund the rest of the hold. */
	terminate(now = Date.now()): Promise<ReturnType<Cluster["view"]> | null> {
		return this.serial(async () => {
			const st = this.state();
			if (!st) return null;
			if (!isOver(st.status)) await this.finish(st, "terminated", now);
			return this.view();
		});
	}

	override alarm(): Promise<void> {
		return this.tick(Date.now());
	}

	/** The alarm's work as of `now`: the alarm passes the clock, tests pass their own. */
	tick(now: number): Promise<void> {
		return this.serial(() => this.onAlarm(now));
	}

	private async doCreate(id: string, spec: ClusterSpec, requestHash: string, now: number): Promise<CreateResult> {
		const existing = this.state();
		if (existing) {
			if (existing.request_hash !== requestHash) return { ok: false, status: 409, code: "conflict", message: "This Idempotency-Key was used for a different request." };
			return { ok: true, created: false, cluster: this.view() };
		}
		const scheduler = this.env.SCHEDULER.getByName("global");
		const sku = skuByName(spec.gpu_model);
		if (!sku) return { ok: false, status: 422, code: "unprocessable", message: `Unknown model '${spec.gpu_model}'.` };
		const usage = await scheduler.usage(sku.name);
		const q = quote(sku, spec.gpu_count, spec.hours, usage.reserved_gpus + spec.gpu_count, usage.online_gpus);
		if (spec.max_price_per_gpu_hour_cents !== null && q.price_per_gpu_hour_cents > spec.max_price_per_gpu_hour_cents) {
			return { ok: false, status: 422, code: "unprocessable", message: `The price is ${q.price_per_gpu_hour_cents}¢ per GPU-hour, above your cap of ${spec.max_price_per_gpu_hour_cents}¢.`, quote: q };
		}
		const r = await scheduler.reserve(id, sku.name, spec.gpu_count, spec.region);
		if (!r.ok) return { ok: false, status: 422, code: "unprocessable", message: `Only ${r.available_gpus} idle ${sku.name} GPUs are online; ${spec.gpu_count} were asked for.`, available_gpus: r.available_gpus };
		if (!(await hold(this.env.DB, spec.account_id, q.hold_cents, id, now))) {
			await scheduler.release(id);
			return { ok: false, status: 402, code: "payment_required", message: `Holding ${q.hold_cents}¢ needs more credits than the account has available.`, quote: q };
		}
		const st: State = {
			id, spec: { ...spec, gpu_model: sku.name }, request_hash: requestHash, status: "pending", price_cents: q.price_per_gpu_hour_cents,
			hold_cents: q.hold_cents, created_at: now, started_at: null, ends_at: null, ended_at: null, last_billed_at: now, gaps: [],
			billing: { deliveredMs: {}, gapMs: 0, charged: 0, refunded: 0, paid: {}, fees: 0 },
		};
		this.save(st);
		await this.env.DB.prepare("INSERT OR IGNORE INTO clusters (id, account_id, gpu_model, gpu_count, hours, status, price_cents, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)")
			.bind(id, spec.account_id, sku.name, spec.gpu_count, spec.hours, q.price_per_gpu_hour_cents, now).run();
		this.event(now, "created", { quote: q, nodes: r.nodes.map((n) => n.node_id) });
		await this.assign(r.nodes, now);
		await this.schedule(now);
		return { ok: true, created: true, cluster: this.view() };
	}

	/** An agent acknowledged its assignment: it is working for the cluster from now, billed once the cluster runs. */
	private async doReady(nodeId: string, now: number): Promise<boolean> {
		const st = this.state();
		const m = this.member(nodeId);
		if (!st || !m || m.state !== "assigned" || isOver(st.status)) return false;
		this.saveMember({ ...m, state: "ready", ready_at: now, seg_start: now });
		this.sql.exec("INSERT OR REPLACE INTO pending_rentals (node_id, gpu_count, started_at) VALUES (?, ?, ?)", nodeId, m.gpu_count, now);
		this.event(now, "node_ready", { node_id: nodeId });
		// A replacement closes the oldest open gap of its size (what was missing is refunded by the bill below).
		const gap = st.gaps.find((g) => g.gpu_count === m.gpu_count) ?? st.gaps[0];
		if (gap) st.gaps = st.gaps.filter((g) => g !== gap);
		const waiting = this.sql.exec("SELECT count(*) AS n FROM members WHERE json_extract(v, '$.state') = 'assigned'").one().n as number;
		if (waiting === 0 && st.gaps.length === 0 && st.status !== "running") {
			if (st.status === "pending") {
				st.started_at = now;
				st.ends_at = now + st.spec.hours * HOUR_MS;
				st.last_billed_at = now;
				this.event(now, "running", {});
			} else if (st.status === "degraded") this.event(now, "recovered", {});
			await this.setStatus(st, "running", now);
		} else if (gap) this.save(st);
		// The gap a replacement closed is refunded now, not at the end.
		if (gap) await this.bill(st, now, false);
		await this.schedule(now);
		return true;
	}

	/** A member went offline (the scheduler says so) or never acknowledged: replace it, refunding the gap. */
	private async lose(nodeId: string, at: number, why: string): Promise<void> {
		const st = this.state();
		const m = this.member(nodeId);
		if (!st || !m || (m.state !== "assigned" && m.state !== "ready") || isOver(st.status)) return;
		this.closeSegment(st, m, at);
		this.saveMember({ ...m, state: "lost", ended_at: at, seg_start: null });
		await this.flushRentals(st);
		await this.env.DB.prepare("UPDATE rentals SET ended_at = ? WHERE node_id = ? AND cluster_id = ? AND ended_at IS NULL").bind(at, nodeId, st.id).run();
		st.gaps.push({ node_id: nodeId, gpu_count: m.gpu_count, since: at });
		this.event(at, "node_lost", { node_id: nodeId, reason: why });
		await this.env.SCHEDULER.getByName("global").release(st.id, [nodeId]);
		this.save(st);
		await this.replace(st, Date.now());
		await this.schedule(Date.now());
	}

	view() {
		const st = this.state();
		if (!st) return null;
		return {
			id: st.id, account_id: st.spec.account_id, status: st.status, gpu_model: st.spec.gpu_model, gpu_count: st.spec.gpu_count, hours: st.spec.hours,
			region: st.spec.region, price_per_gpu_hour_cents: st.price_cents, hold_cents: st.hold_cents,
			charged_cents: st.billing.charged, refunded_cents: st.billing.refunded,
			created_at: iso(st.created_at), started_at: iso(st.started_at), ends_at: iso(st.ends_at), ended_at: iso(st.ended_at),
			nodes: this.members().map((m) => ({ node_id: m.node_id, gpu_count: m.gpu_count, state: m.state, assigned_at: iso(m.assigned_at), ready_at: iso(m.ready_at), ended_at: iso(m.ended_at) })),
			events: this.sql.exec("SELECT at, kind, detail FROM events ORDER BY id").toArray().map((e) => ({ at: iso(e.at as number), kind: e.kind, ...JSON.parse(e.detail as string) })),
		};
	}

	/** Deadlines: acknowledgements, replacements, the hourly bill and the end of the term. */
	private async onAlarm(now: number): Promise<void> {
		const st = this.state();
		if (!st || isOver(st.status)) return;
		await this.flushRentals(st);
		for (const m of this.members()) if (m.state === "assigned" && now >= m.assigned_at + ACK_TIMEOUT_MS) await this.lose(m.node_id, now, "no_ack");
		const fresh = this.state() as State;
		if (fresh.ends_at !== null && now >= fresh.ends_at) return this.finish(fresh, "completed", fresh.ends_at);
		if (fresh.status === "pending" && now >= fresh.created_at + START_TIMEOUT_MS && (fresh.gaps.length || this.members().some((m) => m.state === "assigned"))) {
			return this.finish(fresh, "failed", now);
		}
		if (fresh.gaps.length) await this.replace(fresh, now);
		if (now >= fresh.last_billed_at + HOUR_MS) await this.bill(fresh, now, false);
		await this.schedule(now);
	}

	// --- internals ---

	private async assign(nodes: Reserved[], now: number): Promise<void> {
		const st = this.state() as State;
		const peers = [...this.members().filter((m) => m.state === "ready" || m.state === "assigned").map((m) => m.node_id), ...nodes.map((n) => n.node_id)];
		for (const n of nodes) this.saveMember({ ...n, state: "assigned", assigned_at: now, ready_at: null, ended_at: null, seg_start: null });
		const byShard = new Map<string, { nodeId: string; message: CoordinatorMessage }[]>();
		for (const n of nodes) {
			const message: CoordinatorMessage = { type: "assign", cluster_id: st.id, gpu_count: n.gpu_count, peers, duration_s: Math.round(st.spec.hours * 3600) };
			byShard.set(n.shard, [...(byShard.get(n.shard) ?? []), { nodeId: n.node_id, message }]);
		}
		const undelivered = (await Promise.all([...byShard].map(([name, msgs]) => shard(this.env, name).deliver(msgs)))).flat();
		this.event(now, "assigned", { nodes: nodes.map((n) => n.node_id) });
		for (const id of undelivered) await this.lose(id, now, "not_connected");
	}

	private async replace(st: State, now: number): Promise<void> {
		const need = st.gaps.filter((g) => !this.members().some((m) => m.state === "assigned" && m.gpu_count === g.gpu_count && m.assigned_at >= g.since));
		if (!need.length) return;
		const exclude = this.members().map((m) => m.node_id);
		const scheduler = this.env.SCHEDULER.getByName("global");
		for (const g of need) {
			const r = await scheduler.reserve(st.id, st.spec.gpu_model, g.gpu_count, st.spec.region, exclude);
			if (!r.ok) {
				if (st.status === "running") await this.setStatus(st, "degraded", now);
				this.event(now, "no_replacement", { node_id: g.node_id, available_gpus: r.available_gpus });
				this.save(st);
				continue;
			}
			this.event(now, "replacement", { for: g.node_id, nodes: r.nodes.map((n) => n.node_id) });
			exclude.push(...r.nodes.map((n) => n.node_id));
			await this.assign(r.nodes, now);
		}
	}

	private async finish(st: State, status: ClusterStatus, at: number): Promise<void> {
		const members = this.members();
		for (const m of members) if (m.state === "ready" || m.state === "assigned") this.closeSegment(st, m, at);
		this.measureGap(st, at);
		st.gaps = [];
		st.ended_at = at;
		const active = members.filter((m) => m.state === "ready" || m.state === "assigned");
		for (const m of active) this.saveMember({ ...m, state: "released", ended_at: at, seg_start: null });
		this.event(at, status, {});
		await this.setStatus(st, status, at);
		this.save(st);
		await this.bill(st, at, true);
		const byShard = new Map<string, { nodeId: string; message: CoordinatorMessage }[]>();
		for (const m of active) byShard.set(m.shard, [...(byShard.get(m.shard) ?? []), { nodeId: m.node_id, message: { type: "release", cluster_id: st.id } }]);
		await Promise.all([...byShard].map(([name, msgs]) => shard(this.env, name).deliver(msgs)));
		await this.env.SCHEDULER.getByName("global").release(st.id);
		await this.flushRentals(st);
		await this.env.DB.prepare("UPDATE rentals SET ended_at = ? WHERE cluster_id = ? AND ended_at IS NULL").bind(at, st.id).run();
	}

	/**
	 * Adds a member's delivered GPU-time up to `at` to the billing state. Billing runs from the cluster's start to the
	 * term's end: a member that was ready while others were still coming is not billed for the wait.
	 */
	private closeSegment(st: State, m: Member, at: number): void {
		if (m.state !== "ready" || m.seg_start === null || st.started_at === null || st.ends_at === null) return;
		const start = Math.max(m.seg_start, st.started_at);
		const end = Math.max(start, Math.min(at, st.ends_at));
		st.billing.deliveredMs[m.node_id] = (st.billing.deliveredMs[m.node_id] ?? 0) + (end - start) * m.gpu_count;
		this.saveMember({ ...m, seg_start: end });
	}

	/**
	 * GPU-time missing since the start (asked-for GPUs × time running − delivered), to be refunded; call after closing
	 * every ready member's segment at `at`. It only grows, and delivered + missing never exceed what was held.
	 */
	private measureGap(st: State, at: number): void {
		if (st.started_at === null || st.ends_at === null) return;
		const asked = st.spec.gpu_count * (Math.min(at, st.ends_at) - st.started_at);
		const delivered = Object.values(st.billing.deliveredMs).reduce((a, b) => a + b, 0);
		st.billing.gapMs = Math.max(st.billing.gapMs, asked - delivered);
	}

	/**
	 * Charges delivered GPU-time, pays operators (minus the network fee) and refunds gaps; `final` refunds the
	 * rest of the hold. The movement is saved here before it is written to D1 (idempotent keys), so a crash in
	 * between replays exactly the same entries: nothing is lost or counted twice.
	 */
	private async bill(st: State, now: number, final: boolean): Promise<void> {
		if (st.pending) await this.flushPending(st, now);
		if (!final) {
			for (const m of this.members()) if (m.state === "ready") this.closeSegment(st, m, now);
			this.measureGap(st, now);
		}
		const step = billingStep(st.billing, st.price_cents, st.hold_cents, final);
		const n = this.sql.exec("SELECT count(*) AS c FROM events WHERE kind = 'billed'").one().c as number;
		const acct = st.spec.account_id;
		const tag = `${st.id}:${n}`;
		const entries: Entry[] = [];
		if (step.charge) entries.push({ key: `charge:${tag}`, account_id: acct, kind: "charge", available_delta: 0, held_delta: -step.charge, cluster_id: st.id });
		if (step.refund) entries.push({ key: `refund:${tag}`, account_id: acct, kind: "refund", available_delta: step.refund, held_delta: -step.refund, cluster_id: st.id, memo: final ? "unused hold" : "gap while a node was replaced" });
		if (step.fee) entries.push({ key: `fee:${tag}`, account_id: NETWORK_ACCOUNT, kind: "fee", available_delta: step.fee, held_delta: 0, cluster_id: st.id, memo: `${NETWORK_FEE_BP / 100}% network fee` });
		const owners = new Map(this.members().map((m) => [m.node_id, m.account_id]));
		for (const [node, cents] of Object.entries(step.payouts)) {
			entries.push({ key: `payout:${tag}:${node}`, account_id: owners.get(node) as string, kind: "payout", available_delta: cents, held_delta: 0, cluster_id: st.id, node_id: node });
		}
		st.last_billed_at = now;
		if (entries.length) st.pending = { entries, billing: applyStep(st.billing, step), summary: { charged_cents: step.charge, refunded_cents: step.refund, fee_cents: step.fee, final } };
		this.save(st);
		if (st.pending) await this.flushPending(st, now);
	}

	private async flushPending(st: State, now: number): Promise<void> {
		const p = st.pending;
		if (!p) return;
		await record(this.env.DB, p.entries, now);
		st.billing = p.billing;
		st.pending = null;
		this.save(st);
		this.event(now, "billed", p.summary);
	}

	/** Writes pending rental starts to D1 in one statement (idempotent), then forgets them. */
	private async flushRentals(st: State): Promise<void> {
		const rows = this.sql.exec("SELECT node_id, gpu_count, started_at FROM pending_rentals").toArray();
		if (!rows.length) return;
		await this.env.DB.prepare(`INSERT OR IGNORE INTO rentals (node_id, cluster_id, gpu_count, started_at)
			SELECT value->>'node_id', ?1, value->>'gpu_count', value->>'started_at' FROM json_each(?2)`).bind(st.id, JSON.stringify(rows)).run();
		for (const r of rows) this.sql.exec("DELETE FROM pending_rentals WHERE node_id = ? AND started_at = ?", r.node_id, r.started_at);
	}

	private async setStatus(st: State, status: ClusterStatus, now: number): Promise<void> {
		st.status = status;
		this.save(st);
		await this.env.DB.prepare("UPDATE clusters SET status = ?, ended_at = ? WHERE id = ?").bind(status, isOver(status) ? now : null, st.id).run();
	}

	private async schedule(now: number): Promise<void> {
		const st = this.state();
		if (!st || isOver(st.status)) return void (await this.ctx.storage.deleteAlarm());
		const times = [st.last_billed_at + HOUR_MS];
		if (st.ends_at !== null) times.push(st.ends_at);
		const firstAck = this.sql.exec("SELECT min(json_extract(v, '$.assigned_at')) AS t FROM members WHERE json_extract(v, '$.state') = 'assigned'").one().t;
		if (typeof firstAck === "number") times.push(firstAck + ACK_TIMEOUT_MS);
		if (st.gaps.length) times.push(now + RETRY_MS);
		if (st.status === "pending") times.push(st.created_at + START_TIMEOUT_MS);
		if (this.sql.exec("SELECT 1 FROM pending_rentals LIMIT 1").toArray().length) times.push(now + 500);
		await this.ctx.storage.setAlarm(Math.max(now + 100, Math.min(...times)));
	}

	private state(): State | null {
		const r = this.sql.exec("SELECT v FROM state WHERE k = 'cluster'").toArray()[0];
		return r ? (JSON.parse(r.v as string) as State) : null;
	}

	private save(st: State): void {
		this.sql.exec("INSERT OR REPLACE INTO state (k, v) VALUES ('cluster', ?)", JSON.stringify(st));
	}

	private members(): Member[] {
		return this.sql.exec("SELECT v FROM members ORDER BY node_id").toArray().map((r) => JSON.parse(r.v as string) as Member);
	}

	private member(nodeId: string): Member | null {
		const r = this.sql.exec("SELECT v FROM members WHERE node_id = ?", nodeId).toArray()[0];
		return r ? (JSON.parse(r.v as string) as Member) : null;
	}

	private saveMember(m: Member): void {
		this.sql.exec("INSERT OR REPLACE INTO members (node_id, v) VALUES (?, ?)", m.node_id, JSON.stringify(m));
	}

	private event(at: number, kind: string, detail: Record<string, unknown>): void {
		this.sql.exec("INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)", at, kind, JSON.stringify(detail));
	}
}

function isOver(s: ClusterStatus): boolean {
	return s === "completed" || s === "terminated" || s === "failed";
}

function iso(ms: number | null): string | null {
	return ms === null ? null : new Date(ms).toISOString();
}
