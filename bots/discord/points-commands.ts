// /points, /leaderboard and /network: the ledger's breakdown, the leaderboard and the network statistics the HTTP API
// serves.
import { escapeDiscord as md, tokens } from "../../workers/domain/text.ts";
import { code } from "../../workers/domain/ticket-text.ts";
import { ledgerRow } from "../../workers/db/ledger.ts";
import { settledEpoch } from "../../workers/services/points-reads.ts";
import { breakdown, leaderboard } from "../../workers/services/points.ts";
import { networkStats } from "../../workers/services/stats.ts";
import { epochPoints, type Breakdown } from "../shared/points.ts";
import { integer, needAccount, text, type CommandContext } from "./context.ts";
import { fitLines, when } from "./format.ts";

/** Nodes shown with their full breakdown in one answer; the rest are named with where to look. */
const DETAILED = 3;

/** One node's row: every input and term, as GET /v1/nodes/:id/points returns them. */
export function breakdownText(b: Breakdown): string {
	const i = b.inputs;
	const t = b.terms;
	const c = i.challenges;
	const lines = [
		`**${b.node_id}** — **${b.points}** points, reward ${tokens(b.reward)}`,
		`• inputs: online ${i.online_seconds} s · incident credit ${i.incident_seconds} s · ` +
			`rented ${i.rented_gpu_seconds} GPU-s · ${i.gpu_count}× ${md(i.gpu_model)} ` +
			`(tier ${i.tier}, weight ${i.tier_weight}) · ${i.verified ? "verified" : "unverified"} · ` +
			`challenges ${c.passed}/${c.issued} passed, ${c.failed} failed, ${c.missed} missed`,
		`• terms: availability **${t.availability_points}** · ` +
			`compute **${t.compute_points}** · penalty **−${t.penalty_points}** · ` +
			`pass ratio ${t.pass_ratio.toFixed(3)} · ${t.credited_gpus} GPU(s) credited at weight ${t.effective_weight}`,
		`• availability × address share ${t.address_share} × bandwidth ${t.bandwidth_factor} ` +
			`(${i.bandwidth_tier ?? "not rated"})${i.probation ? " · probation: no availability" : ""}`,
	];
	for (const p of t.penalties as { code?: string; reason?: string; share?: number }[])
		lines.push(`• flag ${md(p.code ?? "?")} (share ${p.share ?? "?"}): ${md(p.reason ?? "")}`);
	for (const a of b.adjustments)
		lines.push(`• adjustment ${a.points > 0 ? "+" : ""}${a.points} by ${md(a.author)}: ${md(a.reason)}`);
	if (b.adjustments.length) lines.push(`• after adjustments: **${b.points_after_adjustments}**`);
	return lines.join("\n");
}

function formulaText(b: Breakdown): string {
	return (
		`Formula: availability = ${b.formula.availability}; ` +
		`compute = ${b.formula.compute}; points = ${b.formula.points} (docs/POINTS.md).`
	);
}

export async function pointsCommand(c: CommandContext): Promise<string> {
	const account = needAccount(c);
	const nodeId = text(c, "node");
	if (nodeId) {
		const e = await settledEpoch(c.env.DB, integer(c, "epoch"));
		const row = await ledgerRow(c.env.DB, e.n, nodeId);
		if (!row || row.account_id !== account.id)
			return `None of your nodes is ${code(nodeId)} in epoch ${e.n}. \`/status\` lists your nodes.`;
		const b = await breakdown(c.env.DB, row);
		return [`**Epoch ${e.n}** (settled ${when(e.settled_at)})`, breakdownText(b), formulaText(b)].join("\n");
	}
	const { epoch: e, totals, details } = await epochPoints(c.env.DB, account.id, integer(c, "epoch"), DETAILED);
	if (!totals.nodes) return `You had no nodes in epoch ${e.n} (settled ${when(e.settled_at)}), so no points in it.`;
	const adj = totals.adjustments ? ` (${totals.adjustments > 0 ? "+" : ""}${totals.adjustments} in adjustments)` : "";
	const head = [
		`**Epoch ${e.n}** (settled ${when(e.settled_at)}): **${totals.points}** points${adj} ` +
			`from ${totals.nodes} node${totals.nodes === 1 ? "" : "s"}, reward ${tokens(totals.reward)}`,
		"",
	];
	const more = totals.nodes - details.length;
	return fitLines(
		head,
		[
			...details.map(breakdownText),
			...(details[0] ? [formulaText(details[0])] : []),
			...(more > 0
				? [
						`…and ${more} more node${more === 1 ? "" : "s"}: ` +
							`\`/points epoch:${e.n} node:<id>\` or \`GET /v1/nodes/<id>/points?epoch=${e.n}\``,
					]
				: []),
		],
		() => `…more: \`/points epoch:${e.n} node:<id>\` shows one node.`,
	);
}

export async function leaderboardCommand(c: CommandContext): Promise<string> {
	const e = await settledEpoch(c.env.DB, integer(c, "epoch"));
	const leaders = await leaderboard(c.env.DB, e.n, e.n, 10);
	if (!leaders.length) return `Nobody earned points in epoch ${e.n}.`;
	return [
		`🏆 **Leaderboard, epoch ${e.n}** (settled ${when(e.settled_at)})`,
		...leaders.map(
			(l) =>
				`${l.rank}. **${md(l.name)}** — ${l.points} points, ` +
				`${l.nodes} node${l.nodes === 1 ? "" : "s"}${l.account_id === c.account?.id ? " ← you" : ""}`,
		),
		"Every row can be checked against the epoch's Merkle root: `GET /v1/epochs/<n>/proof/<node_id>`.",
	].join("\n");
}

export async function networkCommand(c: CommandContext): Promise<string> {
	const s = await networkStats(c.env.DB, c.now);
	const models = s.by_model
		.slice(0, 5)
		.map((m) => `${m.gpus}× ${md(m.gpu_model)}`)
		.join(", ");
	return [
		`📡 **pulsegrid network** (${when(s.as_of)})`,
		`Nodes online: **${s.nodes_online}** of ${s.nodes_registered} registered · ` +
			`GPUs online: **${s.gpus_online}**${models ? ` (${models})` : ""}`,
		`Last 24 h: ${s.gpu_hours_24h} GPU-hours online · ${s.points_24h} points · ` +
			`${s.rewards_24h} tokens rewarded · ${s.settled_epochs_24h} epochs settled`,
		`Coordinator incidents open: ${s.incidents_open}`,
		"Measured by the coordinator, never self-reported; each figure's definition is in `GET /v1/stats`.",
	].join("\n");
}
