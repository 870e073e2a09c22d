// How a node's status reads in the bots and the digest: one icon and one label per status, and the "2 online, 1
// offline…" summary.
import type { NodeStatus } from "./status.ts";

export const STATUS_ICON: Readonly<Record<NodeStatus, string>> = {
	offline: "🔴",
	maintenance: "🛠️",
	new: "⚪",
	online: "🟢",
};
export const STATUS_LABEL: Readonly<Record<NodeStatus, string>> = {
	online: "online",
	offline: "offline",
	maintenance: "in maintenance",
	new: "never connected",
};

/** "1 online, 2 offline, 0 in maintenance, 0 never connected" (with the separator given), every status always named. */
export function statusSummary(nodes: { status: NodeStatus }[], separator = ", "): string {
	const order: NodeStatus[] = ["online", "offline", "maintenance", "new"];
	return order.map((s) => `${nodes.filter((n) => n.status === s).length} ${STATUS_LABEL[s]}`).join(separator);
}
