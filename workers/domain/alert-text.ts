// The words of alert messages: a notice rendered as plain text that fits Telegram and Discord (names are the operator's
// own text, each kept on one line; the Discord transport escapes the whole message, Telegram parses none of it).
import type { AlertRules, Notice } from "./alerts.ts";
import { formatDuration } from "./duration.ts";
import type { FlipReason } from "./flips.ts";
import { clip, fitLines, oneLine, plural } from "./text.ts";

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

/** The heading, then at most MAX_LINES lines: "…and N more" when there are more. */
function list(head: string[], lines: string[]): string {
	return fitLines(head, lines, (left) => `…and ${left} more`, { maxLines: MAX_LINES });
}

export function renderNotice(n: Notice, nameOf: (nodeId: string) => string, rules: AlertRules): string {
	const name = (nodeId: string) => oneLine(nameOf(nodeId));
	const parts: string[] = [];
	if (n.down.length) {
		parts.push(
			list(
				[`🔴 ${plural(n.down.length, "node")} offline`],
				n.down.map((d) => `• ${name(d.nodeId)} — ${WHY[d.reason] ?? d.reason}, last seen ${clock(d.since)}`),
			),
		);
	}
	if (n.incident.length) {
		parts.push(
			list(
				[
					`⚠️ pulsegrid incident on our side: ` +
						`${plural(n.incident.length, "of your nodes", "of your nodes")} lost the connection to the coordinator.`,
					"This is not your fault and does not count against your uptime or points. " +
						"Agents reconnect by themselves; nothing to do.",
				],
				n.incident.map((d) => `• ${name(d.nodeId)}`),
			),
		);
	}
	if (n.up.length) {
		parts.push(
			list(
				[`🟢 ${plural(n.up.length, "node")} back online`],
				n.up.map(
					(u) =>
						`• ${name(u.nodeId)} — down ${formatDuration(u.downtimeMs)}${u.afterIncident ? " (our incident)" : ""}`,
				),
			),
		);
	}
	for (const f of n.flapping) {
		parts.push(
			`🟠 ${name(f.nodeId)} is flapping (${f.drops} drops in ${formatDuration(rules.flapWindowMs)}). ` +
				`Alerts for it pause until it stays stable for ${formatDuration(rules.flapWindowMs)}.`,
		);
	}
	for (const st of n.stable) {
		parts.push(`🔵 ${name(st.nodeId)} is stable again: ${st.status}. Alerts for it are back on.`);
	}
	for (const m of n.muteEnded) {
		const what = m.target === "all" ? "all nodes" : name(m.target);
		parts.push(
			m.offline.length
				? list(
						[`🔔 Mute ended for ${what}. Offline now:`],
						m.offline.map((id) => `• ${name(id)}`),
					)
				: `🔔 Mute ended for ${what}. Nothing is offline.`,
		);
	}
	return clip(parts.join("\n\n"), MAX_TEXT);
}
