// Routes for points: epochs and their roots, inclusion proofs, a node's breakdown, an account's summary, leaderboards.
import type { IRequest } from "itty-router";
import { requireAccount } from "../auth.ts";
import { ApiError, json, validate } from "../http.ts";
import { merkleProof } from "../domain/merkle.ts";
import { LeaderboardQuery, PointsQuery } from "../schemas.ts";
import { firstSettledAfter } from "../db/epochs.ts";
import { accountPoints, hasRows, ledgerLeaves, ledgerRow } from "../db/ledger.ts";
import * as nodes from "../db/nodes.ts";
import { epochOr404, epochView, requireSettled, settledEpoch } from "../services/points-reads.ts";
import { breakdown, leaderboard, leafOf } from "../services/points.ts";

function query(request: IRequest): Record<string, string> {
	return Object.fromEntries(new URL(request.url).searchParams);
}

export async function getEpochRoute(request: IRequest, env: Env): Promise<Response> {
	return json(epochView(await epochOr404(env.DB, request.params.n)));
}

export async function getProof(request: IRequest, env: Env): Promise<Response> {
	const e = await epochOr404(env.DB, request.params.n);
	requireSettled(e);
	const nodeId = request.params.node_id as string;
	const leaves = await ledgerLeaves(env.DB, e.n);
	const index = leaves.findIndex((l) => l.node_id === nodeId);
	const row = index >= 0 ? await ledgerRow(env.DB, e.n, nodeId) : null;
	if (!row) throw new ApiError(404, "not_found", `Node '${nodeId}' has no row in epoch ${e.n}.`);
	return json({
		epoch: e.n,
		root: e.root,
		index,
		leaf: leafOf(row),
		leaf_hash: row.leaf,
		proof: await merkleProof(
			leaves.map((l) => l.leaf),
			index,
		),
		encoding:
			"leaf = SHA-256(0x00 ‖ JSON array of the leaf fields in order); node = " +
			"SHA-256(0x01 ‖ left ‖ right); see docs/POINTS.md",
	});
}

/**
 * A node's row in a settled epoch. Settled rows are public and never change, so a deleted node's rows stay readable
 * (as its proofs stay valid), marked `node_deleted_at`; a deleted node that never had a row is unknown.
 */
export async function getNodePoints(request: IRequest, env: Env): Promise<Response> {
	const id = request.params.id as string;
	const live = (await nodes.byId(env.DB, id)) !== null;
	if (!live && !(await hasRows(env.DB, id))) throw new ApiError(404, "not_found", `No node '${id}'.`);
	const e = await settledEpoch(env.DB, validate(PointsQuery, query(request)).epoch);
	const row = await ledgerRow(env.DB, e.n, id);
	if (!row) {
		const why = live ? "it did not exist then" : "it did not exist then, and has been deleted since";
		throw new ApiError(404, "not_found", `Node '${id}' has no row in epoch ${e.n} (${why}).`);
	}
	return json(await breakdown(env.DB, row));
}

export async function getAccountPoints(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	return json({ account_id: account.id, ...(await accountPoints(env.DB, account.id, 48)) });
}

export async function getLeaderboard(request: IRequest, env: Env): Promise<Response> {
	const q = validate(LeaderboardQuery, query(request));
	const latest = await settledEpoch(env.DB, q.window ? undefined : q.epoch);
	// Rolling 7 days: the settled epochs that ended within 7 days of the newest one.
	const from = q.window
		? ((await firstSettledAfter(env.DB, (latest.ended_at as number) - 7 * 86400_000)) ?? latest.n)
		: latest.n;
	return json({
		from_epoch: from,
		to_epoch: latest.n,
		window: q.window ?? null,
		leaders: await leaderboard(env.DB, from, latest.n),
	});
}
