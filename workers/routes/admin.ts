// Admin and staff routes: liveness counters, settlement, point adjustments, flags, roles and the audit log.
import type { IRequest } from "itty-router";
import type { ShardMetrics } from "../contracts.ts";
import { requireAdmin, requireStaff } from "../auth.ts";
import { ApiError, iso, json, readJson } from "../http.ts";
import { randomToken } from "../domain/challenge.ts";
import { Adjustment, NewFlag, RoleChange } from "../schemas.ts";
import * as accounts from "../db/accounts.ts";
import * as audit from "../db/audit.ts";
import { getEpoch } from "../db/epochs.ts";
import * as flags from "../db/flags.ts";
import * as ledger from "../db/ledger.ts";
import * as nodes from "../db/nodes.ts";
import { listAudit } from "../services/audit.ts";
import { adjustmentView } from "../services/points.ts";
import { deliverSoon } from "../services/tickets.ts";
import { approvalNeeded, approvalRefused } from "../domain/adjustments.ts";
import { shard } from "../services/liveness.ts";
import { flagCleared } from "../services/verifications.ts";

/** Counters of billable operations summed over every shard that owns nodes (the benchmark's cost model reads this). */
export async function getLivenessMetrics(request: IRequest, env: Env): Promise<Response> {
	await requireAdmin(request, env);
	const names = await nodes.shards(env.DB);
	const per = await Promise.all(
		names.map(async (name) => ({ shard: name, metrics: await shard(env, name).metricsSnapshot() })),
	);
	const total = per.reduce<Record<string, number>>((sum, p) => {
		for (const [k, v] of Object.entries(p.metrics as ShardMetrics)) sum[k] = (sum[k] ?? 0) + v;
		return sum;
	}, {});
	return json({ shards: per.length, total, per_shard: per });
}

/** Ends the open epoch now and settles it (and anything left unsettled). */
export async function postSettle(request: IRequest, env: Env): Promise<Response> {
	await requireAdmin(request, env);
	const now = Date.now();
	const result = await env.SETTLER.getByName("global").settleNow(now);
	const last = result.settled[result.settled.length - 1];
	const target = last ? `epoch:${last.epoch}` : null;
	await audit.record(env.DB, { actor: "admin", action: "epoch.settle", target, details: result }, now);
	const b = result.blocked;
	if (!last) {
		if (!b) throw new ApiError(409, "conflict", "Nothing was settled; another settlement may be running.");
		const why = `Epoch ${b.epoch} breaks an invariant and was not published; staff were told.`;
		throw new ApiError(409, "conflict", why, {}, { blocked: { epoch: b.epoch, violations: b.violations } });
	}
	return json({ epoch: last.epoch, root: last.root, settled: result.settled, ...(b ? { blocked: b } : {}) });
}

/**
 * A staff adjustment of a node's points in a settled epoch. One to a node of the author's own account, or of more
 * than ADJUSTMENT_APPROVAL_POINTS, is recorded `pending` and counts nowhere until a second staff member approves it.
 */
export async function postAdjustment(request: IRequest, env: Env): Promise<Response> {
	const actor = await requireStaff(request, env);
	const body = await readJson(request, Adjustment);
	const e = await getEpoch(env.DB, body.epoch);
	if (!e || e.settled_at === null)
		throw new ApiError(409, "conflict", `Epoch ${body.epoch} is not settled; adjust settled epochs only.`);
	const row = await ledger.ledgerRow(env.DB, body.epoch, body.node_id);
	if (!row) throw new ApiError(404, "not_found", `Node '${body.node_id}' has no row in epoch ${body.epoch}.`);
	const now = Date.now();
	const needs_approval = approvalNeeded(body.points, actor, row.account_id);
	const adjustment = { id: `adj_${randomToken(9)}`, ...body, author: actor, created_at: now, needs_approval };
	const entry = { actor, action: "points.adjust", target: `node:${body.node_id}`, details: adjustment };
	await ledger.addAdjustment(env.DB, { ...adjustment, approved_by: null, approved_at: null }, entry);
	return json({ adjustment: adjustmentView({ ...adjustment, approved_by: null, approved_at: null }) }, 201);
}

/** A second staff member approves a pending adjustment: from now it counts (docs/POINTS.md "Staff adjustments"). */
export async function postAdjustmentApproval(request: IRequest, env: Env): Promise<Response> {
	const actor = await requireStaff(request, env);
	const id = request.params.id as string;
	const a = await ledger.adjustment(env.DB, id);
	if (!a) throw new ApiError(404, "not_found", `No adjustment '${id}'.`);
	const row = await ledger.ledgerRow(env.DB, a.epoch, a.node_id);
	const refused = approvalRefused(a, actor, row?.account_id ?? "");
	if (refused) {
		const settled = a.approved_at !== null || a.needs_approval === null; // nothing left to approve
		throw new ApiError(settled ? 409 : 403, settled ? "conflict" : "forbidden", refused);
	}
	const now = Date.now();
	const entry = { actor, action: "points.approve", target: `node:${a.node_id}`, details: { id, points: a.points } };
	if (!(await ledger.approveAdjustment(env.DB, id, actor, now, entry))) {
		throw new ApiError(409, "conflict", "This adjustment is approved already.");
	}
	return json({ adjustment: adjustmentView({ ...a, approved_by: actor, approved_at: now }) });
}

/** Flags a node; the owner is told at once (Telegram, Discord DM) with how to appeal, after the answer. */
export async function postFlag(request: IRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
	const actor = await requireStaff(request, env);
	const body = await readJson(request, NewFlag);
	if (!(await nodes.byId(env.DB, body.node_id))) throw new ApiError(404, "not_found", `No node '${body.node_id}'.`);
	const now = Date.now();
	const { evidence, ...rest } = body;
	const flag = { id: `flg_${randomToken(9)}`, ...rest, author: actor, created_at: now };
	const row = { ...flag, evidence: evidence === undefined ? null : JSON.stringify(evidence) };
	await flags.add(env.DB, row, { actor, action: "flag.add", target: `node:${body.node_id}`, details: flag });
	deliverSoon(env, (w) => ctx.waitUntil(w), now);
	return json({ flag: { ...flag, evidence: evidence ?? null, created_at: iso(now), cleared_at: null } }, 201);
}

/** Clears a flag; its open appeals are answered and closed, and the owner told, after the answer. */
export async function deleteFlag(request: IRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
	const actor = await requireStaff(request, env);
	const id = request.params.id as string;
	const now = Date.now();
	// The entry is written only if the flag is there to clear: a 404 leaves no trace in the audit log.
	const cleared = await flags.clear(
		env.DB,
		id,
		{ actor, action: "flag.clear", target: `flag:${id}`, details: { id } },
		now,
	);
	if (!cleared) throw new ApiError(404, "not_found", `No active flag '${id}'.`);
	await flagCleared(env, cleared);
	deliverSoon(env, (w) => ctx.waitUntil(w), now);
	return json({ flag: { id, cleared_at: iso(now) } });
}

export async function getAudit(request: IRequest, env: Env): Promise<Response> {
	await requireStaff(request, env);
	return json({ entries: await listAudit(env.DB, 200) });
}

export async function putRole(request: IRequest, env: Env): Promise<Response> {
	await requireAdmin(request, env);
	const body = await readJson(request, RoleChange);
	const id = request.params.id as string;
	const now = Date.now();
	const entry = { actor: "admin", action: "account.role", target: `account:${id}`, details: body };
	if (!(await accounts.setRole(env.DB, id, body.role, entry, now)))
		throw new ApiError(404, "not_found", `No account '${id}'.`);
	return json({ account: { id, role: body.role } });
}
