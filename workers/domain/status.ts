// Node status as a pure function of measured timestamps: the one place that decides online/offline.
import type { Settings } from "./settings.ts";

export const NODE_STATUSES = ["new", "online", "offline", "maintenance"] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export interface LivenessFacts {
	/** The owner put the node in maintenance. */
	maintenance: boolean;
	/** The node holds an open connection (WebSocket, or an HTTP heartbeat session). */
	connected: boolean;
	/** Last moment the coordinator heard from the node (ms), or null if never. */
	lastSeenAt: number | null;
	/** The node has been online at least once. */
	everOnline: boolean;
}

/** True when the node has been silent for longer than OFFLINE_AFTER_S. */
export function isSilent(lastSeenAt: number | null, now: number, s: Settings): boolean {
	return lastSeenAt === null || now - lastSeenAt > s.offlineAfterS * 1000;
}

export function deriveStatus(f: LivenessFacts, now: number, s: Settings): NodeStatus {
	if (f.maintenance) return "maintenance";
	if (f.connected && !isSilent(f.lastSeenAt, now, s)) return "online";
	return f.everOnline ? "offline" : "new";
}
