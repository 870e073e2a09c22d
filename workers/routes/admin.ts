// Admin and staff routes: liveness counters, settlement, point adjustments, flags, roles and the audit log.
import type { IRequest } from "itty-router";
import type { ShardMetrics } from "../contracts.ts";
import { requireAdmin, requireStaff } from "../auth.ts";
import { ApiError, iso, json, readJson } from "../http.ts";
import { randomToken } from "../domain/challenge.ts";
import { Adjustment, NewFlag, RoleChange } from "../schemas.ts";
import { audit, auditStatement, auditStatementIf, listAudit } from "../services/audit.ts";
import { getEpoch, ledgerRow } from "../services/epochs.ts";
import { getNodeRow } from "../services/nodes.ts";
import { shard } from "../services/liveness.ts";

/** Counters of billable operations summed over every shard that owns nodes (the benchmark's cost model reads this). */
export async function getLivenessMetrics(request: IRequest, env: Env): Promise<Response> {
	await requireAdmin(request, env);
	const { results } = await env.DB.prepare("SELECT DISTINCT shard FROM nodes").all<{ shard: string }>();
	const per = await Promise.all(results.map(async (r) => ({ shard: r.shard, metrics: await shard(env, r.shard).metricsSnapshot() })));
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
	await audit(env.DB, "admin", "epoch.settle", last ? `epoch:${last.epoch}` : null, result, now);
	if (!last) throw new ApiError(409, "conflict", "Nothing was settled; another settlement may be running.");
	return json({ epoch: last.epoch, root: last.root, settled: result.settled });
}

export async function postAdjustment(request: IRequest, env: Env): Promise<Response> {
	const actor = await requireStaff(request, env);
	const body = await readJson(request, Adjustment);
	const e = await getEpoch(env.DB, body.epoch);
	if (!e || e.settled_at === null) throw new ApiError(409, "conflict", `Epoch ${body.epoch} is not settled; adjust settled epochs only.`);
	if (!(await ledgerRow(env.DB, body.epoch, body.node_id))) throw new ApiError(404, "not_found", `Node '${body.node_id}' has no row in epoch ${body.epoch}.`);
	const now = Date.now();
	const adjustment = { id: `adj_${randomToken(9)}`, ...body, author: actor, created_at: now };
	await env.DB.batch([
		env.DB.prepare("INSERT INTO points_adjustments (id, epoch, node_id, points, reason, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
			.bind(adjustment.id, body.epoch, body.node_id, body.points, body.reason, actor, now),
		auditStatement(env.DB, actor, "points.adjust", `node:${body.node_id}`, adjustment, now),
	]);
	return json({ adjustment: { ...adjustment, created_at: iso(now) } }, 201);
}

export async function postFlag(request: IRequest, env: Env): Promise<Response> {
	const actor = await requireStaff(request, env);
	const body = await readJson(request, NewFlag);
	if (!(await getNodeRow(env.DB, body.node_id))) throw new ApiError(404, "not_found", `No node '${body.node_id}'.`);
	const now = Date.now();
	const flag = { id: `flg_${randomToken(9)}`, ...body, author: actor, created_at: now };
	await env.DB.batch([
		env.DB.prepare("INSERT INTO flags (id, node_id, code, reason, share, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
			.bind(flag.id, body.node_id, body.code, body.reason, body.share, actor, now),
		auditStatement(env.DB, actor, "flag.add", `node:${body.node_id}`, flag, now),
	]);
	return json({ flag: { ...flag, created_at: iso(now), cleared_at: null } }, 201);
}

export async function deleteFlag(request: IRequest, env: Env): Promise<Response> {
	const actor = await requireStaff(request, env);
	const id = request.params.id as string;
	const now = Date.now();
	// The entry is written only if the flag is there to clear: a 404 leaves no trace in the audit log.
	const [, cleared] = await env.DB.batch([
		auditStatementIf(env.DB, { sql: "SELECT 1 FROM flags WHERE id = ? AND cleared_at IS NULL", params: [id] }, actor, "flag.clear", `flag:${id}`, { id }, now),
		env.DB.prepare("UPDATE flags SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL RETURNING node_id").bind(now, id),
	]);
	if (!cleared?.results.length) throw new ApiError(404, "not_found", `No active flag '${id}'.`);
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
	const [, updated] = await env.DB.batch([
		auditStatementIf(env.DB, { sql: "SELECT 1 FROM accounts WHERE id = ?", params: [id] }, "admin", "account.role", `account:${id}`, body, now),
		env.DB.prepare("UPDATE accounts SET role = ? WHERE id = ? RETURNING id").bind(body.role, id),
	]);
	if (!updated?.results.length) throw new ApiError(404, "not_found", `No account '${id}'.`);
	return json({ account: { id, role: body.role } });
}
