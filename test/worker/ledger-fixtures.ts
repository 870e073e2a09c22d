// Ledger fixtures shared by the settlement tests: the open epoch, a node's settled row, and an online interval written
// as a shard records it (so every figure of a settled row is known in advance).
import { env } from "cloudflare:workers";
import type { EpochRow } from "../../workers/db/epochs.ts";
import type { LedgerRow } from "../../workers/db/ledger.ts";
import type { TestNode } from "./helpers.ts";

export async function openEpoch(): Promise<EpochRow> {
	return (await env.DB.prepare("SELECT * FROM epochs WHERE ended_at IS NULL").first<EpochRow>()) as EpochRow;
}

/** The node's settled row of epoch `n`. */
export async function ledgerRow(n: number, node: TestNode): Promise<LedgerRow> {
	return (await env.DB.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?")
		.bind(n, node.id)
		.first<LedgerRow>()) as LedgerRow;
}

/** An online interval as a shard records it. */
export async function online(node: TestNode, from: number, to: number): Promise<void> {
	await env.DB.prepare(
		"INSERT INTO online_intervals (node_id, started_at, ended_at, end_reason, incident_id) VALUES (?, ?, ?, ?, NULL)",
	)
		.bind(node.id, from, to, "disconnected")
		.run();
}
