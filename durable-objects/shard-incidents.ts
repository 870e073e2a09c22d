// A shard's coordinator incidents: recent drops, the open incident, and its records in the outbox.
import type { IncidentReason } from "../workers/contracts.ts";
import type { Flip } from "../workers/domain/flips.ts";
import { DropWindow, incidentWindowMs, isIncident, type Origin } from "../workers/domain/incident.ts";
import { randomToken } from "../workers/domain/challenge.ts";
import type { Settings } from "../workers/domain/settings.ts";
import type { Meta } from "./kit.ts";
import type { ShardStore } from "./shard-store.ts";

interface OpenIncident {
	id: string;
	reason: IncidentReason;
	startedAt: number;
	lastDropAt: number;
	affected: number;
}

export class IncidentTracker {
	private readonly drops: DropWindow;
	private open: OpenIncident | null;

	/** `scope` names the shard in the incident records (`shard:<name>`). */
	constructor(
		private readonly store: ShardStore,
		private readonly meta: Meta,
		private readonly s: Settings,
		private readonly scope: string,
	) {
		this.drops = new DropWindow(incidentWindowMs(s));
		this.open = meta.get<OpenIncident>("incident");
	}

	/**
	 * The id to stamp on an unannounced drop happening now: a mass drop's, while it lasts. A restart's incident is
	 * stamped only on the nodes the restart lost (by the shard), never on a drop that happens while it is open.
	 */
	get currentId(): string | null {
		return this.open?.reason === "mass_drop" ? this.open.id : null;
	}

	get isOpen(): boolean {
		return this.open !== null;
	}

	/** An unannounced drop (not a "bye"): it may be part of a mass drop. */
	dropped(at: number, flip: Flip, origin: Origin): void {
		this.drops.add(at, flip, origin);
	}

	/**
	 * A restarted shard lost `affected` sockets, however few: our outage, from its last checkpoint until the lost nodes
	 * are back or given up on; only those nodes carry it. An incident the previous instance left open ended when that
	 * instance stopped (its last checkpoint at the latest). Returns the new incident's id (null when nothing was lost).
	 */
	restarted(lastCheckpoint: number, affected: number, now: number): string | null {
		if (affected === 0) return null; // a wake from hibernation holds its sockets: an open incident goes on
		if (this.open) this.record(this.open, Math.max(this.open.startedAt, Math.min(lastCheckpoint, now)));
		return this.begin("coordinator_restart", lastCheckpoint, affected, now);
	}

	/** The restart's lost nodes are all back or given up on at `now`: the incident may close once drops stop. */
	settled(now: number): void {
		if (this.open?.reason !== "coordinator_restart") return;
		this.open.lastDropAt = Math.max(this.open.lastDropAt, now);
		this.meta.set("incident", this.open);
	}

	/** Called each sweep: opens an incident when most nodes dropped together, closes it once drops stop for a window. */
	watch(now: number, onlineNow: number): void {
		const recent = this.drops.recent(now);
		if (!this.open) {
			if (!isIncident(recent, onlineNow + recent.length, this.s)) return;
			const id = this.begin("mass_drop", recent[0]?.at ?? now, recent.length, now);
			// The drops that revealed the incident were recorded before it opened: stamp them now.
			this.store.enqueue({
				kind: "tag",
				incident_id: id,
				flip_ids: recent.map((d) => d.flipId),
				node_ids: recent.map((d) => d.nodeId),
				intervals: recent.flatMap((d) =>
					d.intervalStart === null ? [] : [{ node_id: d.nodeId, started_at: d.intervalStart }],
				),
			});
			return;
		}
		// Drops join a mass drop only: a restart's incident is the lost nodes'.
		const latest = this.open.reason === "mass_drop" ? recent[recent.length - 1] : undefined;
		if (latest) {
			this.open.lastDropAt = Math.max(this.open.lastDropAt, latest.at);
			this.open.affected = Math.max(this.open.affected, recent.length);
		}
		if (now - this.open.lastDropAt > incidentWindowMs(this.s)) {
			this.record(this.open, this.open.lastDropAt);
			this.open = null;
		}
		this.meta.set("incident", this.open);
	}

	private begin(reason: IncidentReason, startedAt: number, affected: number, now: number): string {
		this.open = { id: `inc_${randomToken(9)}`, reason, startedAt, lastDropAt: now, affected };
		this.meta.set("incident", this.open);
		this.record(this.open, null);
		return this.open.id;
	}

	private record(inc: OpenIncident, endedAt: number | null): void {
		this.store.enqueue({
			kind: "incident",
			id: inc.id,
			scope: this.scope,
			reason: inc.reason,
			started_at: inc.startedAt,
			ended_at: endedAt,
			nodes_affected: inc.affected,
		});
	}
}
