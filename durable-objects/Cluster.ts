// Owns one rented cluster: its members, acknowledgements, failover, hourly billing and its event list.
import { DurableObject } from "cloudflare:workers";
import { applyStep, billingStep, type BillingState } from "../workers/domain/billing.ts";
import { NETWORK_FEE_BP, quote, skuByName, type Quote } from "../workers/domain/pricing.ts";
import type { CoordinatorMessage } from "../workers/domain/protocol.ts";
import { NETWORK_ACCOUNT, hold, record, releaseHold, type Entry } from "../workers/services/credits.ts";
import { shard } from "../workers/services/liveness.ts";
import type { ClusterSpec, ClusterStatus, ClusterView, CreateResult, MemberState, Reserved } from "../workers/contracts.ts";
import { failed, type JsonValue } from "../workers/failure.ts";

/** A member that has not said `ready` this long after `assign` is replaced. */
export const ACK_TIMEOUT_MS = 30_000;
/** While GPUs are missing or a step is unfinished, try again this often. */
export const RETRY_MS = 10_000;
/** A cluster that cannot start (members missing) for this long fails and is refunded. */
export const START_TIMEOUT_MS = 5 * 60_000;
const HOUR_MS = 3_600_000;

interface Member extends Reserved {
	state: MemberState;
	assigned_at: number;
	ready_at: number | null;
	ended_at: number | null;
	seg_start: number | null;
	/** Dropped (lost or released), but not yet told to stop, freed in the scheduler and its rental closed. */
	unfreed?: true;
}

interface State {
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
	pending?: { entries: Entry[]; billing: BillingState; summary: Record<string, unknown> } | null;
	/** Deploying: nodes may be reserved and credits held, unconfirmed. A retry of the request resumes; the alarm undoes. */
	setup?: true;
	/** Over, but the final bill or the freeing of its nodes is unconfirmed: the alarm or a DELETE completes it. */
	settling?: true;
}

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
	 * and two racing deploys with the same Idempotency-Key must not both create. Each change reads the state
	 * it changes afresh and saves it before awaiting, and the alarm is set for what is left, even when it throws.
	 */
	private chain: Promise<unknown> = Promise.resolve();
	private step<T>(fn: () => Promise<T>, now = Date.now()): Promise<T> {
		const run = async () => {
			try {
				return await fn();
			} finally {
				await this.schedule(now);
			}
		};
		const next = this.chain.then(run, run);
		this.chain = next.catch(() => undefined);
		return next;
	}

	/** Reserves nodes, holds credits and tells every agent; the same request again returns the same cluster. */
	create(id: string, spec: ClusterSpec, requestHash: string, now: number): Promise<CreateResult> {
		return this.step(() => this.doCreate(id, spec, requestHash, now), now);
	}

	ready(nodeId: string, now = Date.now()): Promise<boolean> {
		return this.step(() => this.doReady(nodeId, now), now);
	}

	nodeLost(nodeId: string, at: number, why = "node_offline"): Promise<void> {
		return this.step(async () => {
			await this.lose(nodeId, at, why);
			await this.replace(Date.now());
		});
	}

	/** DELETE by the owner: release every node, charge what was delivered, refund the rest of the hold. */
	terminate(now = Date.now()): Promise<ClusterView | null> {
		return this.step(async () => {
			const st = this.state();
			if (!st) return null;
			// A deploy that stopped half-way is undone, as its alarm would (its nodes freed, a hold refunded).
			if (st.setup) await this.undo(st, now, null);
			else if (!isOver(st.status)) await this.finish("terminated", now);
			else if (st.settling) await this.settle();
			return this.view();
		}, now);
	}

	override alarm(): Promise<void> {
		return this.tick(Date.now());
	}

	/** The alarm's work as of `now`: the alarm passes the clock, tests pass their own. */
	tick(now: number): Promise<void> {
		return this.step(() => this.onAlarm(now), now);
	}

	private async doCreate(id: string, spec: ClusterSpec, requestHash: string, now: number): Promise<CreateResult> {
		let st = this.state();
		if (st && st.request_hash !== requestHash) return failed(409, "conflict", "This Idempotency-Key was used for a different request.");
		if (st && !st.setup) return { ok: true, created: false, cluster: this.view() as ClusterView };
		const scheduler = this.env.SCHEDULER.getByName("global");
		if (!st) {
			const sku = skuByName(spec.gpu_model);
			if (!sku) return failed(422, "unprocessable", `Unknown model '${spec.gpu_model}'.`);
			const usage = await scheduler.usage(sku.name);
			const q = quote(sku, spec.gpu_count, spec.hours, usage.reserved_gpus + spec.gpu_count, usage.online_gpus);
			if (spec.max_price_per_gpu_hour_cents !== null && q.price_per_gpu_hour_cents > spec.max_price_per_gpu_hour_cents) {
				return failed(422, "unprocessable", `The price is ${q.price_per_gpu_hour_cents}¢ per GPU-hour, above your cap of ${spec.max_price_per_gpu_hour_cents}¢.`, { quote: q });
			}
			st = {
				id, spec: { ...spec, gpu_model: sku.name }, request_hash: requestHash, status: "pending", quote: q, price_cents: q.price_per_gpu_hour_cents,
				hold_cents: q.hold_cents, created_at: now, started_at: null, ends_at: null, ended_at: null, last_billed_at: now,
				billing: { deliveredMs: {}, gapMs: 0, charged: 0, refunded: 0, paid: {}, fees: 0 }, setup: true,
			};
			// The intent first, with its alarm: a deploy that stops half-way is resumed by a retry or undone by the alarm.
			this.save(st);
			await this.schedule(now);
		}
		await scheduler.release(id); // what a half-done earlier try reserved
		const r = await scheduler.reserve(id, st.spec.gpu_model, st.spec.gpu_count, st.spec.region);
		if (!r.ok) return this.undo(st, now, failed(422, "unprocessable", `Only ${r.available_gpus} idle ${st.spec.gpu_model} GPUs are online; ${st.spec.gpu_count} were asked for.`, { available_gpus: r.available_gpus }));
		if (!(await hold(this.env.DB, st.spec.account_id, st.hold_cents, id, now))) {
			return this.undo(st, now, failed(402, "payment_required", `Holding ${st.hold_cents}¢ needs more credits than the account has available.`, { quote: st.quote }));
		}
		await this.recordRow(st, now);
		delete st.setup;
		this.save(st);
		this.event(now, "created", { quote: st.quote, nodes: r.nodes.map((n) => n.node_id) });
		await this.assign(r.nodes, now);
		await this.replace(now);
		return { ok: true, created: true, cluster: this.view() as ClusterView };
	}

	/** Undoes a deploy that did not complete: frees its nodes and, if credits were held, refunds them and keeps it as failed. */
	private async undo<T>(st: State, now: number, result: T): Promise<T> {
		await this.env.SCHEDULER.getByName("global").release(st.id);
		if (!(await releaseHold(this.env.DB, st.id, now))) {
			this.sql.exec("DELETE FROM state"); // nothing happened: the same request may try afresh
			return result;
		}
		// The hold's key is spent, so this id stays a failed, refunded cluster.
		const failed: State = { ...st, status: "failed", ended_at: now, billing: { ...st.billing, refunded: st.hold_cents } };
		delete failed.setup;
		await this.recordRow(failed, now);
		this.save(failed);
		this.event(now, "failed", { reason: "deploy_interrupted" });
		return result;
	}

	/** An agent acknowledged its assignment: it is working for the cluster from now, billed once the cluster runs. */
	private async doReady(nodeId: string, now: number): Promise<boolean> {
		const st = this.state();
		const m = this.member(nodeId);
		if (!st || !m || m.state !== "assigned" || isOver(st.status)) return false;
		this.saveMember({ ...m, state: "ready", ready_at: now, seg_start: now });
		this.event(now, "node_ready", { node_id: nodeId });
		const replacement = st.started_at !== null;
		if (this.gpus("ready") >= st.spec.gpu_count && st.status !== "running") {
			if (st.status === "pending") {
				st.started_at = now;
				st.ends_at = now + st.spec.hours * HOUR_MS;
				st.last_billed_at = now;
				this.event(now, "running", {});
			} else this.event(now, "recovered", {});
			await this.setStatus(st, "running", now);
		}
		// Rented time (the points ledger's compute part) starts when billing does: at the cluster's start for every
		// member ready then, at its own ready for a member joining a running cluster; never in a cluster that did not run.
		if (st.started_at !== null) {
			for (const r of replacement ? [m] : this.members().filter((x) => x.state === "ready")) {
				this.sql.exec("INSERT OR REPLACE INTO pending_rentals (node_id, gpu_count, started_at) VALUES (?, ?, ?)", r.node_id, r.gpu_count, now);
			}
		}
		// What was missing until a replacement came is refunded now, not at the end.
		if (replacement) await this.bill(now, false);
		return true;
	}

	/** A member went offline, never acknowledged or could not be told: it is dropped at once (the caller replaces it). */
	private async lose(nodeId: string, at: number, why: string): Promise<void> {
		const st = this.state();
		const m = this.member(nodeId);
		if (!st || !m || (m.state !== "assigned" && m.state !== "ready") || isOver(st.status)) return;
		this.closeSegment(st, m, at);
		this.save(st);
		const dropped: Member = { ...m, state: "lost", ended_at: at, seg_start: null, unfreed: true };
		this.saveMember(dropped);
		this.event(at, "node_lost", { node_id: nodeId, reason: why });
		await this.free([dropped]);
	}

	view(): ClusterView | null {
		const st = this.state();
		if (!st) return null;
		return {
			id: st.id, account_id: st.spec.account_id, status: st.status, gpu_model: st.spec.gpu_model, gpu_count: st.spec.gpu_count, hours: st.spec.hours,
			region: st.spec.region, price_per_gpu_hour_cents: st.price_cents, hold_cents: st.hold_cents,
			charged_cents: st.billing.charged, refunded_cents: st.billing.refunded,
			created_at: iso(st.created_at), started_at: iso(st.started_at), ends_at: iso(st.ends_at), ended_at: iso(st.ended_at),
			nodes: this.members().map((m) => ({ node_id: m.node_id, gpu_count: m.gpu_count, state: m.state, assigned_at: iso(m.assigned_at), ready_at: iso(m.ready_at), ended_at: iso(m.ended_at) })),
			events: this.sql.exec("SELECT at, kind, detail FROM events ORDER BY id").toArray().map((e) => ({ at: iso(e.at as number), kind: e.kind as string, ...(JSON.parse(e.detail as string) as Record<string, JsonValue>) })),
		};
	}

	/** Deadlines: unfinished steps, acknowledgements, replacements, the hourly bill and the end of the term. */
	private async onAlarm(now: number): Promise<void> {
		const st = this.state();
		if (!st) return;
		if (st.setup) return void (await this.undo(st, now, null));
		if (isOver(st.status)) return st.settling ? this.settle() : undefined;
		await this.flushRentals(st);
		await this.free(this.members("json_extract(v, '$.unfreed')"));
		for (const m of this.members("json_extract(v, '$.state') = 'assigned'")) if (now >= m.assigned_at + ACK_TIMEOUT_MS) await this.lose(m.node_id, now, "no_ack");
		const fresh = this.state() as State;
		if (fresh.ends_at !== null && now >= fresh.ends_at) return this.finish("completed", fresh.ends_at);
		if (fresh.status === "pending" && now >= fresh.created_at + START_TIMEOUT_MS) return this.finish("failed", now);
		await this.replace(now);
		if (now >= (this.state() as State).last_billed_at + HOUR_MS) await this.bill(now, false);
	}

	// --- internals ---

	/** Makes reserved nodes members and sends each its `assign`; one that cannot be told is dropped (the caller replaces it). */
	private async assign(nodes: Reserved[], now: number): Promise<void> {
		const st = this.state() as State;
		const peers = [...this.members().filter((m) => m.state === "ready" || m.state === "assigned").map((m) => m.node_id), ...nodes.map((n) => n.node_id)];
		for (const n of nodes) this.saveMember({ ...n, state: "assigned", assigned_at: now, ready_at: null, ended_at: null, seg_start: null });
		const undelivered = await this.tell(nodes, (n) => ({ type: "assign", cluster_id: st.id, gpu_count: n.gpu_count, peers, duration_s: Math.round(st.spec.hours * 3600) }));
		this.event(now, "assigned", { nodes: nodes.map((n) => n.node_id) });
		for (const id of undelivered) await this.lose(id, now, "not_connected");
	}

	/**
	 * Reserves replacements for the GPUs missing: those asked for less the members assigned or ready, so replacements
	 * still on their way count whatever their size. Again until none is missing, since a replacement that cannot be
	 * told is dropped in turn; without spares a running cluster is degraded.
	 */
	private async replace(now: number): Promise<void> {
		for (;;) {
			const st = this.state();
			if (!st || st.setup || isOver(st.status)) return;
			const missing = st.spec.gpu_count - this.gpus("assigned", "ready");
			if (missing <= 0) return;
			const members = this.members();
			const r = await this.env.SCHEDULER.getByName("global").reserve(st.id, st.spec.gpu_model, missing, st.spec.region, members.map((m) => m.node_id));
			if (!r.ok) {
				if (st.status === "running") await this.setStatus(st, "degraded", now);
				// Said once per shortfall, not on every retry: the event list must not grow by itself while degraded.
				const last = this.lastEvent();
				if (last?.kind !== "no_replacement" || last.detail.missing_gpus !== missing) {
					this.event(now, "no_replacement", { missing_gpus: missing, available_gpus: r.available_gpus });
				}
				return;
			}
			// Named for the latest members lost, as many as make up the GPUs missing.
			const named: string[] = [];
			let left = missing;
			for (const m of members.filter((x) => x.state === "lost").sort((a, b) => (b.ended_at ?? 0) - (a.ended_at ?? 0))) {
				if (left <= 0) break;
				named.push(m.node_id);
				left -= m.gpu_count;
			}
			this.event(now, "replacement", { for: named, nodes: r.nodes.map((n) => n.node_id) });
			await this.assign(r.nodes, now);
		}
	}

	/** Ends the cluster at `at`: recorded at once, then settled (final bill, nodes freed); the alarm or a DELETE completes an interrupted settlement. */
	private async finish(status: ClusterStatus, at: number): Promise<void> {
		const st = this.state() as State;
		const active = this.members().filter((m) => m.state === "ready" || m.state === "assigned");
		for (const m of active) this.closeSegment(st, m, at);
		this.measureGap(st, at);
		for (const m of active) this.saveMember({ ...m, state: "released", ended_at: at, seg_start: null, unfreed: true });
		st.status = status;
		st.ended_at = at;
		st.settling = true;
		this.save(st);
		this.event(at, status, {});
		await this.settle();
	}

	/** The idempotent rest of `finish`. */
	private async settle(): Promise<void> {
		const st = this.state() as State;
		const at = st.ended_at as number;
		await this.setStatus(st, st.status, at);
		await this.bill(at, true);
		await this.free(this.members("json_extract(v, '$.unfreed')"));
		const done = this.state() as State;
		delete done.settling;
		this.save(done);
	}

	/** Tells dropped members to stop, frees them in the scheduler and closes their rentals; idempotent, so the alarm retries it. */
	private async free(dropped: Member[]): Promise<void> {
		if (!dropped.length) return;
		const id = (this.state() as State).id;
		await this.tell(dropped, () => ({ type: "release", cluster_id: id }));
		await this.env.SCHEDULER.getByName("global").release(id, dropped.map((m) => m.node_id));
		await this.flushRentals({ id });
		// A member that went silent before the cluster started ends its rental where it began, never before.
		await this.env.DB.prepare(`UPDATE rentals SET ended_at = max(rentals.started_at, j.value->>'ended_at') FROM json_each(?2) AS j
			WHERE rentals.cluster_id = ?1 AND rentals.node_id = j.value->>'node_id' AND rentals.ended_at IS NULL`)
			.bind(id, JSON.stringify(dropped.map((m) => ({ node_id: m.node_id, ended_at: m.ended_at })))).run();
		for (const m of dropped) {
			const cur = this.member(m.node_id) as Member;
			delete cur.unfreed;
			this.saveMember(cur);
		}
	}

	/** Sends each of `nodes` its message through its shard; returns the nodes that are not connected. */
	private async tell(nodes: Reserved[], message: (n: Reserved) => CoordinatorMessage): Promise<string[]> {
		const byShard = new Map<string, { nodeId: string; message: CoordinatorMessage }[]>();
		for (const n of nodes) {
			const list = byShard.get(n.shard) ?? [];
			list.push({ nodeId: n.node_id, message: message(n) });
			byShard.set(n.shard, list);
		}
		return (await Promise.all([...byShard].map(([name, list]) => shard(this.env, name).deliver(list)))).flat();
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
	 * Charges delivered GPU-time, pays operators (minus the network fee) and refunds missing GPU-time; `final` refunds
	 * the rest of the hold. The movement is saved here before it is written to D1 (idempotent keys), so a crash in
	 * between replays exactly the same entries: nothing is lost or counted twice.
	 */
	private async bill(now: number, final: boolean): Promise<void> {
		let st = this.state() as State;
		if (st.pending) st = await this.flushPending(st, now);
		if (!final) {
			for (const m of this.members("json_extract(v, '$.state') = 'ready'")) this.closeSegment(st, m, now);
			this.measureGap(st, now);
		}
		const step = billingStep(st.billing, st.price_cents, st.hold_cents, final);
		const n = this.sql.exec("SELECT count(*) AS c FROM events WHERE kind = 'billed'").one().c as number;
		const acct = st.spec.account_id;
		const tag = `${st.id}:${n}`;
		const entries: Entry[] = [];
		if (step.charge) entries.push({ key: `charge:${tag}`, account_id: acct, kind: "charge", available_delta: 0, held_delta: -step.charge, cluster_id: st.id });
		if (step.refund) entries.push({ key: `refund:${tag}`, account_id: acct, kind: "refund", available_delta: step.refund, held_delta: -step.refund, cluster_id: st.id, memo: final ? "unused hold" : "GPUs missing while nodes were replaced" });
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

	private async flushPending(st: State, now: number): Promise<State> {
		const p = st.pending;
		if (!p) return st;
		await record(this.env.DB, p.entries, now);
		st.billing = p.billing;
		st.pending = null;
		this.save(st);
		this.event(now, "billed", p.summary);
		return st;
	}

	/** Writes pending rental starts to D1 in one statement (idempotent), then forgets them. */
	private async flushRentals(st: { id: string }): Promise<void> {
		const rows = this.sql.exec("SELECT node_id, gpu_count, started_at FROM pending_rentals").toArray();
		if (!rows.length) return;
		await this.env.DB.prepare(`INSERT OR IGNORE INTO rentals (node_id, cluster_id, gpu_count, started_at)
			SELECT value->>'node_id', ?1, value->>'gpu_count', value->>'started_at' FROM json_each(?2)`).bind(st.id, JSON.stringify(rows)).run();
		for (const r of rows) this.sql.exec("DELETE FROM pending_rentals WHERE node_id = ? AND started_at = ?", r.node_id, r.started_at);
	}

	/** The cluster's row in D1 (what routes look up), created or brought up to date. */
	private async recordRow(st: State, now: number): Promise<void> {
		await this.env.DB.prepare(`INSERT INTO clusters (id, account_id, gpu_model, gpu_count, hours, status, price_cents, created_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at`)
			.bind(st.id, st.spec.account_id, st.spec.gpu_model, st.spec.gpu_count, st.spec.hours, st.status, st.price_cents, st.created_at, isOver(st.status) ? now : null).run();
	}

	private async setStatus(st: State, status: ClusterStatus, now: number): Promise<void> {
		st.status = status;
		this.save(st);
		await this.env.DB.prepare("UPDATE clusters SET status = ?, ended_at = ? WHERE id = ?").bind(status, isOver(status) ? now : null, st.id).run();
	}

	private async schedule(now: number): Promise<void> {
		const st = this.state();
		if (!st || (isOver(st.status) && !st.settling)) return void (await this.ctx.storage.deleteAlarm());
		const unfinished = st.setup || st.settling || this.sql.exec("SELECT 1 FROM members WHERE json_extract(v, '$.unfreed') LIMIT 1").toArray().length > 0;
		const times = unfinished || this.gpus("assigned", "ready") < st.spec.gpu_count ? [now + RETRY_MS] : [];
		if (!st.setup && !st.settling) {
			times.push(st.last_billed_at + HOUR_MS);
			if (st.ends_at !== null) times.push(st.ends_at);
			const firstAck = this.sql.exec("SELECT min(json_extract(v, '$.assigned_at')) AS t FROM members WHERE json_extract(v, '$.state') = 'assigned'").one().t;
			if (typeof firstAck === "number") times.push(firstAck + ACK_TIMEOUT_MS);
			if (st.status === "pending") times.push(st.created_at + START_TIMEOUT_MS);
			if (this.sql.exec("SELECT 1 FROM pending_rentals LIMIT 1").toArray().length) times.push(now + 500);
		}
		await this.ctx.storage.setAlarm(Math.max(now + 100, Math.min(...times)));
	}

	/** GPUs of the members in any of `states`. */
	private gpus(...states: MemberState[]): number {
		return this.sql.exec(`SELECT coalesce(sum(json_extract(v, '$.gpu_count')), 0) AS n FROM members WHERE json_extract(v, '$.state') IN (${states.map(() => "?").join(", ")})`, ...states).one().n as number;
	}

	private state(): State | null {
		const r = this.sql.exec("SELECT v FROM state WHERE k = 'cluster'").toArray()[0];
		return r ? (JSON.parse(r.v as string) as State) : null;
	}

	private save(st: State): void {
		this.sql.exec("INSERT OR REPLACE INTO state (k, v) VALUES ('cluster', ?)", JSON.stringify(st));
	}

	/** Members, all or those matching a SQL condition on their JSON `v`. */
	private members(where = "1"): Member[] {
		return this.sql.exec(`SELECT v FROM members WHERE ${where} ORDER BY node_id`).toArray().map((r) => JSON.parse(r.v as string) as Member);
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

	private lastEvent(): { kind: string; detail: Record<string, unknown> } | null {
		const row = this.sql.exec("SELECT kind, detail FROM events ORDER BY id DESC LIMIT 1").toArray()[0];
		return row ? { kind: row.kind as string, detail: JSON.parse(row.detail as string) as Record<string, unknown> } : null;
	}
}

function isOver(s: ClusterStatus): boolean {
	return s === "completed" || s === "terminated" || s === "failed";
}

function iso(ms: number | null): string | null {
	return ms === null ? null : new Date(ms).toISOString();
}
