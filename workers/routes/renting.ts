// Routes for renters: prices, quotes, clusters (deploy, read, terminate), billing, and admin credit grants.
import type { IRequest } from "itty-router";
import { requireAccount, requireAdmin } from "../auth.ts";
import { ApiError, iso, json, readJson, validate } from "../http.ts";
import { newId, sha256Hex } from "../ids.ts";
import { SKUS, multiplier, pricePerGpuHourCents, quote, skuByName } from "../domain/pricing.ts";
import { CreateCluster, CreditGrant, IdempotencyKey, QuoteRequest } from "../schemas.ts";
import * as accounts from "../db/accounts.ts";
import * as clusters from "../db/clusters.ts";
import { balance } from "../db/credits.ts";
import { entries, grantOnce } from "../services/credits.ts";
import { fees } from "../services/fees.ts";

const scheduler = (env: Env) => env.SCHEDULER.getByName("global");

export async function getPrices(_request: IRequest, env: Env): Promise<Response> {
	const prices = await Promise.all(
		SKUS.map(async (s) => {
			const u = await scheduler(env).usage(s.name);
			return {
				gpu_model: s.name,
				base_price_per_gpu_hour_cents: s.base_cents,
				online_gpus: u.online_gpus,
				reserved_gpus: u.reserved_gpus,
				multiplier: multiplier(u.reserved_gpus, u.online_gpus),
				price_per_gpu_hour_cents: pricePerGpuHourCents(s, u),
			};
		}),
	);
	return json({
		currency: "USD",
		prices,
		rule: "price = ceil(base × (1 + reserved / online GPUs of the model)), between 1× and 2× the base",
	});
}

export async function postQuote(request: IRequest, env: Env): Promise<Response> {
	const body = await readJson(request, QuoteRequest);
	const sku = skuByName(body.gpu_model);
	if (!sku) throw new ApiError(400, "validation_failed", "Unknown model.");
	const u = await scheduler(env).usage(sku.name);
	// Priced at the usage before the order, as `/v1/prices` shows it now and as a deploy now would pay.
	return json({
		quote: {
			...quote(sku, body.gpu_count, body.hours, u),
			available_gpus: u.online_gpus - u.reserved_gpus,
		},
	});
}

export async function postCluster(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const rawKey = request.headers.get("idempotency-key");
	const key = rawKey === null ? null : validate(IdempotencyKey, rawKey);
	const body = await readJson(request, CreateCluster);
	// The same key always names the same cluster, so its object serializes retries and races of that key.
	const id = key ? `clu_${(await sha256Hex(`${account.id}:${key}`)).slice(0, 24)}` : newId("clu");
	const requestHash = await sha256Hex(
		JSON.stringify([
			body.gpu_model,
			body.gpu_count,
			body.hours,
			body.region ?? null,
			body.max_price_per_gpu_hour ?? null,
		]),
	);
	const result = await env.CLUSTERS.getByName(id).create(
		{
			account_id: account.id,
			gpu_model: body.gpu_model,
			gpu_count: body.gpu_count,
			hours: body.hours,
			region: body.region ?? null,
			max_price_per_gpu_hour_cents:
				body.max_price_per_gpu_hour === undefined ? null : Math.round(body.max_price_per_gpu_hour * 100),
		},
		requestHash,
		Date.now(),
	);
	if (!result.ok) throw ApiError.from(result.failure);
	return json({ cluster: result.cluster }, result.created ? 201 : 200);
}

async function ownedCluster(request: IRequest, env: Env) {
	const account = await requireAccount(request, env);
	const id = request.params.id as string;
	if (!/^clu_[A-Za-z0-9_-]{8,40}$/.test(id)) throw new ApiError(404, "not_found", `No cluster '${id}'.`);
	const row = await clusters.byId(env.DB, id);
	if (!row) throw new ApiError(404, "not_found", `No cluster '${id}'.`);
	if (row.account_id !== account.id) throw new ApiError(403, "forbidden", "This cluster belongs to another account.");
	return env.CLUSTERS.getByName(id);
}

export async function getCluster(request: IRequest, env: Env): Promise<Response> {
	return json({ cluster: await (await ownedCluster(request, env)).view() });
}

export async function deleteCluster(request: IRequest, env: Env): Promise<Response> {
	return json({ cluster: await (await ownedCluster(request, env)).terminate(Date.now()) });
}

export async function listClusters(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const rows = await clusters.ofAccount(env.DB, account.id, 100);
	const clusterViews = rows.map((c) => ({
		id: c.id,
		gpu_model: c.gpu_model,
		gpu_count: c.gpu_count,
		hours: c.hours,
		status: c.status,
		price_per_gpu_hour_cents: c.price_cents,
		created_at: iso(c.created_at),
		ended_at: iso(c.ended_at),
	}));
	return json({ clusters: clusterViews });
}

export async function getBilling(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	return json({
		account_id: account.id,
		currency: "USD",
		...(await balance(env.DB, account.id)),
		entries: await entries(env.DB, account.id, 200),
		fees: await fees(env.DB, account.id, 200),
	});
}

/** Grants credits; payment rails are outside this project (see README: plugging in payments). */
export async function postCredits(request: IRequest, env: Env): Promise<Response> {
	await requireAdmin(request, env);
	const rawKey = request.headers.get("idempotency-key");
	const body = await readJson(request, CreditGrant);
	if (!(await accounts.exists(env.DB, body.account_id)))
		throw new ApiError(404, "not_found", `No account '${body.account_id}'.`);
	const key = `grant:${rawKey === null ? crypto.randomUUID() : validate(IdempotencyKey, rawKey)}`;
	const now = Date.now();
	const trace = {
		actor: "admin",
		action: "credits.grant",
		target: `account:${body.account_id}`,
		details: { amount_cents: body.amount_cents, key },
	};
	const grant = await grantOnce(env.DB, key, body.account_id, body.amount_cents, body.memo ?? null, trace, now);
	if (!grant) throw new ApiError(409, "conflict", "This Idempotency-Key was used for a different grant.");
	// 201 for the grant that made the entry, 200 with the same body for a replay, as a replayed `POST /v1/clusters`.
	return json({ entry: grant.entry }, grant.created ? 201 : 200);
}
