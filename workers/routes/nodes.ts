// Routes for nodes: registration, the owner's list, public and owner views, edits, deletion, uptime and flips.
import type { IRequest } from "itty-router";
import { optionalAccount, requireAccount } from "../auth.ts";
import type { Account } from "../db/accounts.ts";
import * as nodes from "../db/nodes.ts";
import type { NodeRow } from "../db/nodes.ts";
import { readConfig } from "../config.ts";
import { ApiError, iso, json, readJson, validate } from "../http.ts";
import type { CreditedUptime } from "../domain/accrual.ts";
import { uptime } from "../domain/uptime.ts";
import { CreateNode, FlipsQuery, PatchNode, UptimeQuery } from "../schemas.ts";
import { shard } from "../services/liveness.ts";
import { createNode } from "../services/nodes.ts";
import { DAY_MS, uptimes } from "../services/uptime.ts";
import { listFlips } from "../services/history.ts";
import { setNodeMaintenance } from "../services/maintenance.ts";
import { nodeViews } from "../services/node-views.ts";
import { recentAdjustments } from "../db/ledger.ts";
import { adjustmentView } from "../services/points.ts";

/** The newest staff adjustments a node's page shows (GET /v1/nodes/{id}). */
const NODE_PAGE_ADJUSTMENTS = 50;

async function views(env: Env, rows: NodeRow[], caller: Account | null, now: number) {
	return nodeViews(env, rows, caller?.id ?? null, now);
}

async function existing(env: Env, id: string): Promise<NodeRow> {
	const row = await nodes.byId(env.DB, id);
	if (!row) throw new ApiError(404, "not_found", `No node '${id}'.`);
	return row;
}

/** The node, if the caller owns it: 404 when it does not exist, 403 when it is someone else's. */
async function owned(env: Env, id: string, account: Account): Promise<NodeRow> {
	const row = await existing(env, id);
	if (row.account_id !== account.id) throw new ApiError(403, "forbidden", "This node belongs to another account.");
	return row;
}

export async function postNode(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const body = await readJson(request, CreateNode);
	const now = Date.now();
	const row = await createNode(env.DB, account.id, body, readConfig(env).liveness.shardCount, now);
	if (!row)
		throw new ApiError(409, "conflict", "This public key is already registered; every node needs its own key pair.");
	const [view] = await views(env, [row], account, now);
	return json({ node: view }, 201);
}

export async function listNodes(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	return json({ nodes: await views(env, await nodes.ofAccount(env.DB, account.id), account, Date.now()) });
}

export async function getNode(request: IRequest, env: Env): Promise<Response> {
	const caller = await optionalAccount(request, env);
	const row = await existing(env, request.params.id as string);
	const [[view], adjustments] = await Promise.all([
		views(env, [row], caller, Date.now()),
		recentAdjustments(env.DB, row.id, NODE_PAGE_ADJUSTMENTS),
	]);
	// Every staff adjustment of the node's points is public here with its reason, author and approval (issue 12).
	return json({ node: { ...view, adjustments: adjustments.map(adjustmentView) } });
}

export async function patchNode(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const row = await owned(env, request.params.id as string, account);
	const body = await readJson(request, PatchNode);
	if (body.name !== undefined) await nodes.rename(env.DB, row.id, body.name);
	if (body.maintenance !== undefined) await setNodeMaintenance(env, row, body.maintenance);
	const [view] = await views(env, [await existing(env, row.id)], account, Date.now());
	return json({ node: view });
}

export async function deleteNode(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const row = await owned(env, request.params.id as string, account);
	await shard(env, row.shard).forget(row.id, Date.now());
	await nodes.softDelete(env.DB, row.id, Date.now());
	return new Response(null, { status: 204 });
}

export async function getUptime(request: IRequest, env: Env): Promise<Response> {
	const row = await existing(env, request.params.id as string);
	const q = validate(UptimeQuery, Object.fromEntries(new URL(request.url).searchParams));
	const now = Date.now();
	const to = q.to ?? now;
	const from = q.from ?? to - DAY_MS;
	if (!(from < to)) throw new ApiError(400, "validation_failed", "'from' must be before 'to'.");
	if (to - from > 31 * DAY_MS) throw new ApiError(400, "validation_failed", "The window may span at most 31 days.");
	const { uptime: u, intervals } = await uptimes(env.DB, [row], { from, to, now });
	const credited = u.get(row.id) as CreditedUptime;
	const merged = uptime(intervals.get(row.id) ?? [], from, to, now).intervals;
	return json({
		node_id: row.id,
		from: iso(from),
		to: iso(to),
		measured_from: iso(credited.from),
		measured_to: iso(credited.to),
		online_seconds: credited.online_seconds,
		incident_seconds: credited.incident_seconds,
		ratio: credited.ratio,
		intervals: merged.map((i) => ({
			started_at: iso(i.started_at),
			ended_at: i.open && i.ended_at >= Math.min(to, now) ? null : iso(i.ended_at),
		})),
	});
}

export async function getFlips(request: IRequest, env: Env): Promise<Response> {
	const row = await existing(env, request.params.id as string);
	const q = validate(FlipsQuery, Object.fromEntries(new URL(request.url).searchParams));
	return json({ node_id: row.id, flips: await listFlips(env.DB, row.id, q.limit ?? 100) });
}
