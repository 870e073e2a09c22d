// Coordinator incidents: when most of a shard's nodes drop together, the fault is ours, not the operators'.
import { ipv6Groups, ipv6Prefix, observedAddress } from "./identity.ts";
import type { Settings } from "./settings.ts";

/** Drops counted together: a keepalive interval plus a sweep, so that one event's silent drops land in one window. */
export function incidentWindowMs(s: Settings): number {
	return (s.heartbeatIntervalS + s.sweepIntervalS * 2) * 1000;
}

/** Who is behind a connection, as the coordinator observed it: the node's account and its network. */
export interface Origin {
	accountId: string;
	/** The address's network: an IPv4 /24 or an IPv6 /48 (`unknown` when the edge gave no address). */
	network: string;
}

/** The network an address belongs to, coarse enough that one operator's machines behind one line share it. */
export function networkOf(ip: string | null): string {
	const { address, network } = observedAddress(ip);
	if (address === "unknown" || !network.endsWith("::/64")) return network;
	return ipv6Prefix(ipv6Groups(address) as number[], 3); // an IPv6 site: its /48
}

/**
 * True when the drops within one window are a coordinator-side event: at least INCIDENT_MIN_NODES of them, at least
 * INCIDENT_FRACTION of the nodes that were online, and spread over at least INCIDENT_MIN_ACCOUNTS accounts and
 * INCIDENT_MIN_NETWORKS networks. The spread is what the coordinator observes, so no label an operator chooses (a
 * region of its own) can turn one operator's outage into ours.
 */
export function isIncident(drops: Drop[], onlineBefore: number, s: Settings): boolean {
	const n = drops.length;
	if (n < s.incidentMinNodes || onlineBefore <= 0 || n < s.incidentFraction * onlineBefore) return false;
	const accounts = new Set(drops.map((d) => d.origin.accountId)).size;
	const networks = new Set(drops.map((d) => d.origin.network)).size;
	return accounts >= s.incidentMinAccounts && networks >= s.incidentMinNetworks;
}

export interface Drop {
	at: number;
	flipId: string;
	nodeId: string;
	/** Start of the online interval the drop ended, so an incident can be stamped on it. */
	intervalStart: number | null;
	origin: Origin;
}

/** Recent drops of one shard, oldest first; keeps only what the window needs. */
export class DropWindow {
	private drops: Drop[] = [];
	constructor(private readonly windowMs: number) {}

	add(at: number, flip: { id: string; nodeId: string; intervalStart: number | null }, origin: Origin): void {
		this.drops.push({ at, flipId: flip.id, nodeId: flip.nodeId, intervalStart: flip.intervalStart, origin });
	}

	/** Drops within the window ending at `now`. */
	recent(now: number): Drop[] {
		this.drops = this.drops.filter((d) => now - d.at <= this.windowMs);
		return this.drops;
	}
}
