// Owns one rented cluster: deploy, members' acknowledgements, failover, hourly billing and the end of its term.
// The rules are pure (workers/domain/cluster.ts, billing.ts), its storage is the ClusterStore and its writes to D1 and
// messages to agents are ClusterEffects: this file tells the story.
import { applyStep, billingStep } from "../workers/domain/billing.ts";
import {
	ACK_TIMEOUT_MS,
	HOUR_MS,
	START_TIMEOUT_MS,
	closeSegment,
	clusterView,
	isOver,
	measureGap,
	movements,
	newCluster,
	nextAlarm,
	replacing,
	unverified,
	startTerm,
	type ClusterState,
	type Member,
} from "../workers/domain/cluster.ts";
import { quote, skuByName } from "../workers/domain/pricing.ts";
import { NETWORK_ACCOUNT, hold, releaseHold } from "../workers/db/credits.ts";
import type { ClusterSpec, ClusterStatus, ClusterView, CreateResult, Reserved } from "../workers/contracts.ts";
import { failed } from "../workers/failure.ts";
import { ClusterEffects } from "./cluster-effects.ts";
import { ClusterStore } from "./cluster-store.ts";
import { KitObject, Serial } from "./kit.ts";

export { ACK_TIMEOUT_MS, RETRY_MS, START_TIMEOUT_MS } from "../workers/domain/cluster.ts";

export class Cluster extends KitObject {
	private readonly store = new ClusterStore(this.sql);
	private readonly effects = new ClusterEffects(this.env, this.store);
	/**
	 * Every change runs one at a time: the object's input gate opens while it awaits other objects and D1, and two
	 * racing deploys with the same Idempotency-Key must not both create. Each change reads the state it changes afresh
	 * and saves it before awaiting, and the alarm is set for what is left, even when it throws.
	 */
	private readonly serial = new Serial();

	// --- RPC: the Worker, the shards and the scheduler ---

	/** Reserves nodes, holds credits and tells every agent; the same request again returns the same cluster. */
	create(spec: ClusterSpec, requestHash: string, now: number): Promise<CreateResult> {
		return this.step(now, () => this.deploy(spec, requestHash, now));
	}

	/** An agent acknowledged its assignment. */
	ready(nodeId: string, now = this.now()): Promise<boolean> {
		return this.step(now, () => this.onReady(nodeId, now));
	}

	/** A member went offline at `at` (as its shard saw it): dropped, then replaced as of `now`. */
	nodeLost(nodeId: string, at: number, now = this.now()): Promise<void> {
		return this.step(now, async () => {
			await this.lose(nodeId, at, "node_offline");
			await this.replace(now);
		});
	}

	/** DELETE by the owner: release every node, charge what was delivered, refund the rest of the hold. */
	terminate(now: number): Promise<ClusterView | null> {
		return this.step(now, async () => {
			const st = this.store.state();
			if (!st) return null;
			// A deploy that stopped half-way is undone, as its alarm would (its nodes freed, a hold refunded).
			if (st.setup) await this.undo(st, now, null);
			else if (!isOver(st.status)) await this.finish("terminated", now);
			else if (st.settling) await this.settle();
			return this.view();
		});
	}

	view(): ClusterView | null {
		const st = this.store.state();
		return st && clusterView(st, this.store.members(), this.store.events());
	}

	override alarm(): Promise<void> {
		return this.tick(this.now());
	}

	/** The alarm's work as of `now`: the alarm passes the clock, tests pass their own. */
	tick(now: number): Promise<void> {
		return this.step(now, () => this.onAlarm(now));
	}

	// --- The story ---

	private async deploy(spec: ClusterSpec, requestHash: string, now: number): Promise<CreateResult> {
		let st = this.store.state();
		if (st && st.request_hash !== requestHash) {
			return failed(409, "conflict", "This Idempotency-Key was used for a different request.");
		}
		if (st && !st.setup) return { ok: true, created: false, cluster: this.view() as ClusterView };
		const scheduler = this.env.SCHEDULER.getByName("global");
		if (!st) {
			const sku = skuByName(spec.gpu_model);
			if (!sku) return failed(422, "unprocessable", `Unknown model '${spec.gpu_model}'.`);
			const usage = await scheduler.usage(sku.name);
			// The price `/v1/prices` shows now: the usage before this order, which is not reserved yet.
			const q = quote(sku, spec.gpu_count, spec.hours, usage);
			const cap = spec.max_price_per_gpu_hour_cents;
			if (cap !== null && q.price_per_gpu_hour_cents > cap) {
				const price = q.price_per_gpu_hour_cents;
				const why = `The price is ${price}¢ per GPU-hour, above your cap of ${cap}¢.`;
				return failed(422, "unprocessable", why, { quote: q });
			}
			st = newCluster(this.name, { ...spec, gpu_model: sku.name }, requestHash, q, now);
			// The intent first, with its alarm: a deploy that stops half-way is resumed by a retry or undone by the alarm.
			this.store.save(st);
			await this.schedule(now);
		}
		const { id, spec: s } = st;
		await scheduler.release(id); // what a half-done earlier try reserved
		const r = await scheduler.reserve(id, s.gpu_model, s.gpu_count, s.region);
		if (!r.ok) {
			return this.undo(st, now, failed(422, "unprocessable", r.why, { available_gpus: r.available_gpus }));
		}
		if (!(await hold(this.env.DB, s.account_id, st.hold_cents, id, now))) {
			const why = `Holding ${st.hold_cents}¢ needs more credits than the account has available.`;
			return this.undo(st, now, failed(402, "payment_required", why, { quote: st.quote }));
		}
		await this.effects.recordRow(st, now);
		delete st.setup;
		this.store.save(st);
		this.store.event(now, "created", { quote: st.quote, nodes: r.nodes.map((n) => n.node_id), ...unverified(r.nodes) });
		await this.assign(r.nodes, now);
		await this.replace(now);
		return { ok: true, created: true, cluster: this.view() as ClusterView };
	}

	/** Undoes a deploy that did not complete: frees its nodes; if credits were held, refunds them and keeps it failed. */
	private async undo<T>(st: ClusterState, now: number, result: T): Promise<T> {
		await this.env.SCHEDULER.getByName("global").release(st.id);
		if (!(await releaseHold(this.env.DB, st.id, now))) {
			this.store.forget(); // nothing happened: the same request may try afresh
			return result;
		}
		// The hold's key is spent, so this id stays a failed, refunded cluster.
		const billing = { ...st.billing, refunded: st.hold_cents };
		const undone: ClusterState = { ...st, status: "failed", ended_at: now, billing };
		delete undone.setup;
		await this.effects.recordRow(undone, now);
		this.store.save(undone);
		this.store.event(now, "failed", { reason: "deploy_interrupted" });
		return result;
	}

	/** An agent acknowledged its assignment: it is working for the cluster from now, billed once the cluster runs. */
	private async onReady(nodeId: string, now: number): Promise<boolean> {
		const st = this.store.state();
		const m = this.store.member(nodeId);
		if (!st || !m || m.state !== "assigned" || isOver(st.status)) return false;
		this.store.saveMember({ ...m, state: "ready", ready_at: now, seg_start: now });
		this.store.event(now, "node_ready", { node_id: nodeId });
		const replacement = st.started_at !== null;
		if (this.store.gpus("ready") >= st.spec.gpu_count && st.status !== "running") {
			if (st.status === "pending") {
				startTerm(st, now);
				this.store.event(now, "running", {});
			} else this.store.event(now, "recovered", {});
			await this.effects.setStatus(st, "running", now);
		}
		// Rented time (the points ledger's compute part) starts when billing does: at the cluster's start for every
		// member ready then, at its own ready for a member joining a running cluster; never in a cluster that did not run.
		if (st.started_at !== null) {
			for (const r of replacement ? [m] : this.store.membersIn("ready")) {
				this.store.addRental({ node_id: r.node_id, gpu_count: r.gpu_count, started_at: now });
			}
		}
		// What was missing until a replacement came is refunded now, not at the end.
		if (replacement) await this.bill(now, false);
		return true;
	}

	/** A member went offline, never acknowledged or could not be told: it is dropped at once (the caller replaces it). */
	private async lose(nodeId: string, at: number, why: string): Promise<void> {
		const st = this.store.state();
		const m = this.store.member(nodeId);
		if (!st || !m || (m.state !== "assigned" && m.state !== "ready") || isOver(st.status)) return;
		this.closeSegment(st, m, at);
		this.store.save(st);
		const dropped: Member = { ...m, state: "lost", ended_at: at, seg_start: null, unfreed: true };
		this.store.saveMember(dropped);
		this.store.event(at, "node_lost", { node_id: nodeId, reason: why });
		await this.free([dropped]);
	}

	/** Deadlines: unfinished steps, acknowledgements, replacements, the hourly bill and the end of the term. */
	private async onAlarm(now: number): Promise<void> {
		const st = this.store.state();
		if (!st) return;
		if (st.setup) return void (await this.undo(st, now, null));
		if (isOver(st.status)) return st.settling ? this.settle() : undefined;
		await this.effects.flushRentals(st.id);
		await this.free(this.store.unfreed());
		for (const m of this.store.membersIn("assigned")) {
			if (now >= m.assigned_at + ACK_TIMEOUT_MS) await this.lose(m.node_id, now, "no_ack");
		}
		// Members still to answer are told again: a restart may have cut the deploy before its `assign` went out, or
		// taken the sockets that carried it. One not connected now keeps its time to answer (it may be reconnecting).
		const waiting = this.store.membersIn("assigned");
		if (waiting.length) await this.tellAssign(waiting);
		const fresh = this.current();
		if (fresh.ends_at !== null && now >= fresh.ends_at) return this.finish("completed", fresh.ends_at);
		if (fresh.status === "pending" && now >= fresh.created_at + START_TIMEOUT_MS) return this.finish("failed", now);
		await this.replace(now);
		if (now >= this.current().last_billed_at + HOUR_MS) await this.bill(now, false);
	}

	/** Makes reserved nodes members and sends each its `assign`; one that cannot be told is dropped (and replaced). */
	private async assign(nodes: Reserved[], now: number): Promise<void> {
		const fresh = { state: "assigned", assigned_at: now, ready_at: null, ended_at: null, seg_start: null } as const;
		for (const n of nodes) this.store.saveMember({ ...n, ...fresh });
		const undelivered = await this.tellAssign(nodes);
		this.store.event(now, "assigned", { nodes: nodes.map((n) => n.node_id) });
		for (const id of undelivered) await this.lose(id, now, "not_connected");
	}

	/** Sends `assign` to these members, with every active member as peers; returns those not connected. */
	private tellAssign(nodes: Reserved[]): Promise<string[]> {
		const st = this.current();
		const active = this.store.members().filter((m) => m.state === "ready" || m.state === "assigned");
		const peers = active.map((m) => m.node_id);
		const duration_s = Math.round(st.spec.hours * 3600);
		return this.effects.tell(nodes, (n) => ({
			type: "assign",
			cluster_id: st.id,
			gpu_count: n.gpu_count,
			peers,
			duration_s,
		}));
	}

	/**
	 * Reserves replacements for the GPUs missing: those asked for less the members assigned or ready, so replacements
	 * still on their way count whatever their size. Again until none is missing, since a replacement that cannot be
	 * told is dropped in turn; without spares a running cluster is degraded.
	 */
	private async replace(now: number): Promise<void> {
		for (;;) {
			const st = this.store.state();
			if (!st || st.setup || isOver(st.status)) return;
			const missing = st.spec.gpu_count - this.store.gpus("assigned", "ready");
			if (missing <= 0) return;
			const members = this.store.members();
			const scheduler = this.env.SCHEDULER.getByName("global");
			const exclude = members.map((m) => m.node_id);
			const r = await scheduler.reserve(st.id, st.spec.gpu_model, missing, st.spec.region, exclude);
			if (!r.ok) {
				if (st.status === "running") await this.effects.setStatus(st, "degraded", now);
				// Said once per shortfall, not on every retry: the event list must not grow by itself while degraded.
				const last = this.store.lastEvent();
				if (last?.kind !== "no_replacement" || last.detail.missing_gpus !== missing) {
					this.store.event(now, "no_replacement", { missing_gpus: missing, available_gpus: r.available_gpus });
				}
				return;
			}
			const nodes = r.nodes.map((n) => n.node_id);
			this.store.event(now, "replacement", { for: replacing(members, missing), nodes, ...unverified(r.nodes) });
			await this.assign(r.nodes, now);
		}
	}

	/**
	 * Ends the cluster at `at`: recorded at once, then settled (final bill, nodes freed); the alarm or a DELETE completes
	 * an interrupted settlement.
	 */
	private async finish(status: ClusterStatus, at: number): Promise<void> {
		const st = this.current();
		const active = this.store.members().filter((m) => m.state === "ready" || m.state === "assigned");
		const heard = await this.effects.lastHeard(active, at);
		for (const m of active) {
			// Delivered until its last sign of life before the end: a member gone silent unnoticed is not billed past it.
			const until = Math.min(at, heard.get(m.node_id) ?? m.seg_start ?? at);
			this.closeSegment(st, m, until);
			const ended = m.state === "ready" ? Math.max(until, m.seg_start ?? until) : at;
			this.store.saveMember({ ...m, state: "released", ended_at: ended, seg_start: null, unfreed: true });
		}
		measureGap(st, at);
		st.status = status;
		st.ended_at = at;
		st.settling = true;
		this.store.save(st);
		this.store.event(at, status, {});
		await this.settle();
	}

	/** The idempotent rest of `finish`. */
	private async settle(): Promise<void> {
		const st = this.current();
		const at = st.ended_at as number;
		await this.effects.setStatus(st, st.status, at);
		await this.bill(at, true);
		await this.free(this.store.unfreed());
		const done = this.current();
		delete done.settling;
		this.store.save(done);
	}

	/** Tells dropped members to stop, frees them in the scheduler, closes their rentals (idempotent). */
	private async free(dropped: Member[]): Promise<void> {
		if (!dropped.length) return;
		const id = this.current().id;
		await this.effects.tell(dropped, () => ({ type: "release", cluster_id: id }));
		await this.env.SCHEDULER.getByName("global").release(
			id,
			dropped.map((m) => m.node_id),
		);
		await this.effects.flushRentals(id);
		await this.effects.endRentals(id, dropped);
		for (const m of dropped) {
			const cur = this.store.member(m.node_id) as Member;
			delete cur.unfreed;
			this.store.saveMember(cur);
		}
	}

	/**
	 * Charges delivered GPU-time, pays operators (minus the network fee) and refunds missing GPU-time; `final` refunds
	 * the rest of the hold. The movement is saved here before it is written to D1 (idempotent keys), so a crash in
	 * between replays exactly the same entries: nothing is lost or counted twice.
	 */
	private async bill(now: number, final: boolean): Promise<void> {
		let st = this.current();
		if (st.pending) st = await this.effects.flushPending(st, now);
		if (!final) {
			// Each ready member counts up to when it was last heard, so a bill never runs ahead of a silence not yet noticed.
			const ready = this.store.membersIn("ready");
			const heard = await this.effects.lastHeard(ready, now);
			let horizon = now; // GPU-time missing is measured as far as every member's time is known, not further
			for (const m of ready) {
				const counted = m.seg_start ?? now; // what is before its segment's start was counted already
				const until = Math.max(counted, heard.get(m.node_id) ?? counted);
				this.closeSegment(st, m, until);
				horizon = Math.min(horizon, until);
			}
			measureGap(st, horizon);
		}
		const step = billingStep(st.billing, st.price_cents, st.hold_cents, final);
		const owners = new Map(this.store.members().map((m) => [m.node_id, m.account_id]));
		const entries = movements(st, step, { n: this.store.bills(), final, owners, network: NETWORK_ACCOUNT });
		st.last_billed_at = now;
		if (entries.length) {
			const summary = { charged_cents: step.charge, refunded_cents: step.refund, fee_cents: step.fee, final };
			st.pending = { entries, billing: applyStep(st.billing, step), summary };
		}
		this.store.save(st);
		if (st.pending) await this.effects.flushPending(st, now);
	}

	// --- Mechanics ---

	/** Runs a change in turn, then points the alarm at what is left as of `now`. */
	private step<T>(now: number, fn: () => Promise<T>): Promise<T> {
		return this.serial.run(async () => {
			try {
				return await fn();
			} finally {
				await this.schedule(now);
			}
		});
	}

	private async schedule(now: number): Promise<void> {
		await this.alarmAt(nextAlarm(this.store.state(), this.store.outstanding(), now));
	}

	/** The state of a cluster known to exist (every step past its creation). */
	private current(): ClusterState {
		return this.store.state() as ClusterState;
	}

	/** Counts a ready member's GPU-time up to `at` into `st` and restarts its segment there. */
	private closeSegment(st: ClusterState, m: Member, at: number): void {
		const counted = closeSegment(st, m, at);
		if (counted) this.store.saveMember(counted);
	}
}
