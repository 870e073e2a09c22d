// Alert rules for one operator, from recorded flips: grouping, back-online, flap damping, mutes and coordinator
// incidents. Pure; the clock is passed in.
import type { FlipReason } from "./flips.ts";
import type { NodeStatus } from "./status.ts";

export interface AlertRules {
	/** Wait this long after the first event, so that everything that dropped together is one message. */
	groupWindowMs: number;
	/** Later drops within this long of a sent alert edit it instead of paging again (an edit does not notify). */
	editWindowMs: number;
	/** A node that drops more than this many times… */
	flapCount: number;
	/** …within this window is flapping; it is stable again after this long without a flip. */
	flapWindowMs: number;
}

export const DEFAULT_ALERT_RULES: AlertRules = {
	groupWindowMs: 10_000,
	editWindowMs: 30_000,
	flapCount: 3,
	flapWindowMs: 15 * 60_000,
};

/** What the alert pipeline needs of a flip (the shard's Flip has these fields and more). */
export interface AlertFlip {
	/** `${nodeId}:${seq}`: flips of a node are applied once each, in order. */
	id: string;
	nodeId: string;
	from: NodeStatus;
	to: NodeStatus;
	at: number;
	reason: FlipReason;
	lastSeenAt: number | null;
	incidentId: string | null;
}

export interface NodeAlert {
	status: NodeStatus;
	/** Sequence of the last flip applied. */
	seq: number;
	/** Last sign of life before the current outage. */
	downSince: number | null;
	/** Recent drops (ms), for flap detection. */
	drops: number[];
	lastFlipAt: number;
	flapping: boolean;
	/** What the operator was told about the current outage, so that "back online" follows only a "down". */
	told: "down" | "incident" | null;
}

/** The content of one alert message, section by section. */
export interface Notice {
	down: { nodeId: string; since: number; reason: FlipReason }[];
	incident: { nodeId: string; incidentId: string | null; since: number }[];
	up: { nodeId: string; downtimeMs: number; afterIncident: boolean }[];
	flapping: { nodeId: string; drops: number }[];
	stable: { nodeId: string; status: NodeStatus }[];
	muteEnded: { target: string; offline: string[] }[];
}

export interface AlertState {
	nodes: Record<string, NodeAlert>;
	/** Node id or "all" → muted until (ms). */
	mutes: Record<string, number>;
	/** The operator's master switch; off suppresses everything but the digest. */
	enabled: boolean;
	/** Events gathered since `since`, sent when the group window ends. */
	pending: { since: number; notice: Notice } | null;
	/**
	 * The last alert with a down section: more drops join it until `sentAt + editWindowMs`; `dirty` when it needs a
	 * correcting edit.
	 */
	open: { key: string; sentAt: number; notice: Notice; dirty?: boolean } | null;
	nextKey: number;
}

export type Outgoing = { op: "send" | "edit"; key: string; notice: Notice };

export function emptyState(): AlertState {
	return { nodes: {}, mutes: {}, enabled: true, pending: null, open: null, nextKey: 1 };
}

export function emptyNotice(): Notice {
	return { down: [], incident: [], up: [], flapping: [], stable: [], muteEnded: [] };
}

export function isEmpty(n: Notice): boolean {
	return Object.values(n).every((section: unknown[]) => section.length === 0);
}

export function isMuted(s: AlertState, nodeId: string, now: number): boolean {
	return !s.enabled || (s.mutes.all ?? 0) > now || (s.mutes[nodeId] ?? 0) > now;
}

function seqOf(flipId: string): number {
	return Number(flipId.slice(flipId.lastIndexOf(":") + 1));
}

function pending(s: AlertState, now: number): Notice {
	s.pending ??= { since: now, notice: emptyNotice() };
	return s.pending.notice;
}

/**
 * Removes a node's pending down and incident entries (all its entries with `everything`); true when it was waiting as
 * down or incident.
 */
function withdraw(s: AlertState, nodeId: string, everything = true): boolean {
	const n = s.pending?.notice;
	if (!n) return false;
	const wasDown = n.down.some((d) => d.nodeId === nodeId) || n.incident.some((d) => d.nodeId === nodeId);
	n.down = n.down.filter((d) => d.nodeId !== nodeId);
	n.incident = n.incident.filter((d) => d.nodeId !== nodeId);
	if (everything) {
		n.up = n.up.filter((d) => d.nodeId !== nodeId);
		n.flapping = n.flapping.filter((d) => d.nodeId !== nodeId);
		n.stable = n.stable.filter((d) => d.nodeId !== nodeId);
	}
	if (isEmpty(n)) s.pending = null;
	return wasDown;
}

/**
 * Applies one flip; false when it was already applied (a redelivery) or is older than one applied.
 * `now` is when the pipeline received it: the group window runs from the first event received.
 */
export function receiveFlip(s: AlertState, f: AlertFlip, now: number, r: AlertRules): boolean {
	const seq = seqOf(f.id);
	const n: NodeAlert = s.nodes[f.nodeId] ?? {
		status: f.from,
		seq: 0,
		downSince: null,
		drops: [],
		lastFlipAt: f.at,
		flapping: false,
		told: null,
	};
	if (seq <= n.seq) return false;
	s.nodes[f.nodeId] = n;
	n.seq = seq;
	n.status = f.to;
	n.lastFlipAt = f.at;
	if (f.reason === "node_deleted") {
		withdraw(s, f.nodeId);
		delete s.nodes[f.nodeId];
		return true;
	}
	if (f.to === "offline") {
		n.downSince = f.lastSeenAt ?? f.at;
		if (f.from === "online") n.drops = [...n.drops.filter((t) => f.at - t < r.flapWindowMs), f.at];
		if (isMuted(s, f.nodeId, now)) return true;
		if (f.incidentId !== null || f.reason === "coordinator_restart") {
			if (!n.flapping)
				pending(s, now).incident.push({ nodeId: f.nodeId, incidentId: f.incidentId, since: n.downSince });
		} else if (n.flapping) {
			// quiet until stable
		} else if (n.drops.length > r.flapCount) {
			n.flapping = true;
			withdraw(s, f.nodeId);
			pending(s, now).flapping.push({ nodeId: f.nodeId, drops: n.drops.length });
		} else {
			pending(s, now).down.push({ nodeId: f.nodeId, since: n.downSince, reason: f.reason });
		}
		return true;
	}
	if (f.to === "online" && f.from === "offline") {
		const since = n.downSince ?? f.at;
		n.downSince = null;
		if (withdraw(s, f.nodeId, false)) return true; // back within the group window: nothing to say
		if (n.told && !n.flapping && !isMuted(s, f.nodeId, now)) {
			pending(s, now).up.push({
				nodeId: f.nodeId,
				downtimeMs: Math.max(0, f.at - since),
				afterIncident: n.told === "incident",
			});
		}
		n.told = null;
		return true;
	}
	// Into or out of maintenance towards online, or a first connection: the owner's doing, nothing to report.
	withdraw(s, f.nodeId);
	n.downSince = null;
	n.told = null;
	return true;
}

/**
 * A shard attributed these nodes' latest drops to a coordinator incident after delivering them: reclassify, and correct
 * a sent alert.
 */
export function receiveIncidentTag(s: AlertState, nodeIds: string[], incidentId: string): void {
	const ids = new Set(nodeIds);
	const move = (notice: Notice): boolean => {
		const tagged = notice.down.filter((d) => ids.has(d.nodeId));
		notice.down = notice.down.filter((d) => !ids.has(d.nodeId));
		notice.incident.push(...tagged.map((d) => ({ nodeId: d.nodeId, incidentId, since: d.since })));
		return tagged.length > 0;
	};
	if (s.pending) move(s.pending.notice);
	if (s.open && move(s.open.notice)) s.open.dirty = true;
	for (const id of ids) {
		const n = s.nodes[id];
		if (n?.told === "down" && n.status === "offline") n.told = "incident";
	}
}

/**
 * Everything due at `now`: mute expiries and stable-again checks join the pending notice; a pending notice past its
 * window is sent.
 */
export function due(s: AlertState, now: number, r: AlertRules): { outgoing: Outgoing[]; touched: string[] } {
	const touched: string[] = [];
	for (const [target, until] of Object.entries(s.mutes)) {
		if (until > now) continue;
		delete s.mutes[target];
		if (!s.enabled) continue;
		const covered = target === "all" ? Object.keys(s.nodes) : [target];
		const offline = covered.filter(
			(id) => s.nodes[id]?.status === "offline" && !s.nodes[id]?.flapping && !isMuted(s, id, now),
		);
		pending(s, now).muteEnded.push({ target, offline });
	}
	for (const [id, n] of Object.entries(s.nodes)) {
		if (!n.flapping || now - n.lastFlipAt < r.flapWindowMs) continue;
		n.flapping = false;
		n.drops = [];
		touched.push(id);
		if (!isMuted(s, id, now)) pending(s, now).stable.push({ nodeId: id, status: n.status });
	}
	const outgoing: Outgoing[] = [];
	if (s.pending && now >= s.pending.since + r.groupWindowMs) {
		const notice = s.pending.notice;
		s.pending = null;
		touched.push(...markTold(s, notice));
		outgoing.push(...place(s, notice, now, r));
	}
	if (s.open?.dirty) outgoing.push(correct(s.open));
	return { outgoing, touched };
}

/**
 * Sends a notice: its down and incident sections go into the open alert while it is editable, the rest into a new
 * message.
 */
function place(s: AlertState, notice: Notice, now: number, r: AlertRules): Outgoing[] {
	const out: Outgoing[] = [];
	const open = s.open && now - s.open.sentAt <= r.editWindowMs ? s.open : null;
	const hasDown = notice.down.length + notice.incident.length > 0;
	if (open && hasDown) {
		const stillDown = (id: string) => s.nodes[id]?.status === "offline";
		open.notice.down = [...open.notice.down.filter((d) => stillDown(d.nodeId)), ...notice.down];
		open.notice.incident = [...open.notice.incident.filter((d) => stillDown(d.nodeId)), ...notice.incident];
		notice.down = [];
		notice.incident = [];
	}
	if (open && hasDown) out.push(correct(open));
	if (!isEmpty(notice)) {
		const key = `m${s.nextKey++}`;
		out.push({ op: "send", key, notice });
		if (notice.down.length + notice.incident.length > 0) {
			if (s.open?.dirty) out.unshift(correct(s.open)); // the alert it replaces still gets its correction
			s.open = { key, sentAt: now, notice };
		}
	}
	return out;
}

/** An edit that brings a sent alert up to date. */
function correct(open: NonNullable<AlertState["open"]>): Outgoing {
	delete open.dirty;
	return { op: "edit", key: open.key, notice: open.notice };
}

/** Records what the operator is being told about each node in a notice being sent. */
function markTold(s: AlertState, notice: Notice): string[] {
	const set = (id: string, told: NodeAlert["told"]) => {
		const n = s.nodes[id];
		if (n) n.told = told;
		return id;
	};
	return [
		...notice.down.map((d) => set(d.nodeId, "down")),
		...notice.incident.map((d) => set(d.nodeId, "incident")),
		...notice.up.map((d) => set(d.nodeId, null)),
		...notice.stable.map((d) => set(d.nodeId, d.status === "offline" ? "down" : null)),
		...notice.muteEnded.flatMap((m) => m.offline.map((id) => set(id, "down"))),
	];
}

/** The next moment `due` has something to do, or null when nothing is waiting. */
/**
 * When `due` next has work: a mute's end, the group window's end, a flapping node's quiet period; `now` for a
 * correction to send.
 */
export function nextDeadline(s: AlertState, r: AlertRules, now: number): number | null {
	const times: number[] = Object.values(s.mutes);
	if (s.pending) times.push(s.pending.since + r.groupWindowMs);
	if (s.open?.dirty) times.push(now);
	for (const n of Object.values(s.nodes)) if (n.flapping) times.push(n.lastFlipAt + r.flapWindowMs);
	return times.length ? Math.min(...times) : null;
}

/** Mutes a node (or "all") until `until`; muting drops what was waiting for it. */
export function mute(s: AlertState, target: string, until: number): void {
	s.mutes[target] = until;
	const ids = target === "all" ? Object.keys(s.nodes) : [target];
	for (const id of ids) withdraw(s, id);
}

/**
 * Lifts mutes now (all of them when `target` is omitted); like an expiry, every destination hears of it. Returns the
 * targets lifted.
 */
export function unmute(s: AlertState, now: number, target?: string): string[] {
	const lifted = Object.keys(s.mutes).filter((t) => target === undefined || t === target);
	for (const t of lifted) s.mutes[t] = now;
	return lifted;
}
