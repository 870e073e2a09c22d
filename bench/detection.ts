// Matches what the fleet did (deaths, clean closes, healthy nodes) with the flips the coordinator recorded in D1.
import type { FlipRow } from "./flips.ts";
import type { SimNode } from "./fleet.ts";
import { summarize, type Summary } from "./stats.ts";

export interface DetectionResult {
	count: number;
	flipped: number;
	neverFlipped: string[];
	/** flip.at − the moment the node went silent / closed (seconds). */
	latencyS: Summary;
	/** flip.at − the node's last keepalive sent (seconds); silent deaths only. */
	sinceLastKeepaliveS: Summary | null;
	reasons: Record<string, number>;
	/** When the fleet saw the coordinator close the silent socket (seconds after silence), with its codes. */
	serverCloseS: Summary | null;
	serverCloseCodes: Record<string, number>;
}

export interface WrongFlips {
	count: number;
	nodes: number;
	/** The first few, with what the simulator knows of the node (to tell a coordinator fault from a fleet one). */
	examples: (FlipRow & {
		sim: {
			welcomeAt: number | null;
			lastPingAt: number | null;
			pings: number;
			serverClose: { code: number; at: number } | null;
		};
	})[];
	reasons: Record<string, number>;
}

function leftOnline(f: FlipRow): boolean {
	return f.from_status === "online" && f.to_status !== "online";
}

function byNode(flips: FlipRow[]): Map<string, FlipRow[]> {
	const m = new Map<string, FlipRow[]>();
	for (const f of flips) m.set(f.node_id, [...(m.get(f.node_id) ?? []), f]);
	return m;
}

/** For each node that died (silent) or left (clean), the first online→offline flip at or after that moment. */
export function detection(nodes: SimNode[], flips: FlipRow[], kind: "silent" | "closed"): DetectionResult {
	const flipsOf = byNode(flips);
	const lat: number[] = [];
	const sinceKeepalive: number[] = [];
	const closes: number[] = [];
	const closeCodes: Record<string, number> = {};
	const reasons: Record<string, number> = {};
	const never: string[] = [];
	for (const n of nodes) {
		const t0 = (kind === "silent" ? n.silentAt : n.closedAt) as number;
		const flip = (flipsOf.get(n.id) ?? []).find((f) => leftOnline(f) && f.at >= t0 - 1);
		if (kind === "silent" && n.serverClose && n.serverClose.at >= t0) {
			closes.push((n.serverClose.at - t0) / 1000);
			closeCodes[n.serverClose.code] = (closeCodes[n.serverClose.code] ?? 0) + 1;
		}
		if (!flip) {
			never.push(n.id);
			continue;
		}
		lat.push((flip.at - t0) / 1000);
		if (kind === "silent" && n.lastPingAt !== null) sinceKeepalive.push((flip.at - Math.min(n.lastPingAt, t0)) / 1000);
		reasons[flip.reason] = (reasons[flip.reason] ?? 0) + 1;
	}
	return {
		count: nodes.length,
		flipped: lat.length,
		neverFlipped: never,
		latencyS: summarize(lat),
		sinceLastKeepaliveS: kind === "silent" ? summarize(sinceKeepalive) : null,
		reasons,
		serverCloseS: kind === "silent" ? summarize(closes) : null,
		serverCloseCodes: closeCodes,
	};
}

/** Flips out of `online` for nodes the fleet kept healthy at that moment: each one is a false positive. */
export function wrongFlips(nodes: SimNode[], flips: FlipRow[]): WrongFlips {
	const sim = new Map(nodes.map((n) => [n.id, n]));
	const wrong: FlipRow[] = [];
	for (const f of flips) {
		const n = sim.get(f.node_id);
		if (!n || !leftOnline(f)) continue;
		const diedAt = Math.min(n.silentAt ?? Infinity, n.closedAt ?? Infinity);
		if (f.at < diedAt) wrong.push(f);
	}
	const reasons: Record<string, number> = {};
	for (const f of wrong) reasons[f.reason] = (reasons[f.reason] ?? 0) + 1;
	const examples = wrong.slice(0, 10).map((f) => {
		const n = sim.get(f.node_id) as SimNode;
		return {
			...f,
			sim: { welcomeAt: n.welcomeAt, lastPingAt: n.lastPingAt, pings: n.pings, serverClose: n.serverClose },
		};
	});
	return { count: wrong.length, nodes: new Set(wrong.map((f) => f.node_id)).size, examples, reasons };
}
