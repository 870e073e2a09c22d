// The words of alert messages: a notice rendered as plain text that fits Telegram and Discord (names are the operator's own, never markup).
import type { AlertRules, Notice } from "./alerts.ts";
import { formatDuration } from "./duration.ts";
import type { FlipReason } from "./flips.ts";

/** Discord allows 2,000 characters, Telegram 4,096: one budget for both. */
export const MAX_TEXT = 1900;
const MAX_LINES = 25;

const WHY: Partial<Record<FlipReason, string>> = {
	disconnected: "disconnected",
	keepalive_timeout: "stopped answering",
	heartbeat_timeout: "heartbeats stopped",
	maintenance_off: "left maintenance while offline",
	coordinator_restart: "lost in a coordinator restart",
};

function clock(ms: number): string {
	return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

function plural(n: number, one: string, many = `${one}s`): string {
	return `${n} ${n === 1 ? one : many}`;
}

/** At most MAX_LINES lines, then "…and N more". */
function list(lines: string[]): string[] {
	if (lines.length <= MAX_LINES) return lines;
	return [...lines.slice(0, MAX_LINES - 1), `…and ${lines.length - (MAX_LINES - 1)} more`];
}

export function renderNotice(n: Notice, name: (nodeId: string) => string, rules: AlertRules): string {
	const parts: string[] = [];
	if (n.down.length) {
		parts.push([
			`🔴 ${plural(n.down.length, "node")} offline`,
			...list(n.down.map((d) => `• ${name(d.nodeId)} — ${WHY[d.reason] ?? d.reason}, last seen ${clock(d.since)}`)),
		].join("\n"));
	}
	if (n.incident.length) {
		parts.push([
			`⚠️ pulsegrid incident on our side: ${plural(n.incident.length, "of your nodes", "of your nodes")} lost the connection to the coordinator.`,
			"This is not your fault and does not count against your uptime or points. Agents reconnect by themselves; nothing to do.",
			...list(n.incident.map((d) => `• ${name(d.nodeId)}`)),
		].join("\n"));
	}
	if (n.up.length) {
		parts.push([
			`🟢 ${plural(n.up.length, "node")} back online`,
			...list(n.up.map((u) => `• ${name(u.nodeId)} — down ${formatDuration(u.downtimeMs)}${u.afterIncident ? " (our incident)" : ""}`)),
		].join("\n"));
	}
	for (const f of n.flapping) {
		parts.push(`🟠 ${name(f.nodeId)} is flapping (${f.drops} drops in ${formatDuration(rules.flapWindowMs)}). Alerts for it pause until it stays stable for ${formatDuration(rules.flapWindowMs)}.`);
	}
	for (const st of n.stable) {
		parts.push(`🔵 ${name(st.nodeId)} is stable again: ${st.status}. Alerts for it are back on.`);
	}
	for (const m of n.muteEnded) {
		const what = m.target === "all" ? "all nodes" : name(m.target);
		parts.push(m.offline.length
			? [`🔔 Mute ended for ${what}. Offline now:`, ...list(m.offline.map((id) => `• ${name(id)}`))].join("\n")
			: `🔔 Mute ended for ${what}. Nothing is offline.`);
	}
	return clip(parts.join("\n\n"));
}

export function clip(text: string, max = MAX_TEXT): string {
	return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
