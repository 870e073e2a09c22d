// Routes for the caller's own credentials and history: API keys (create, list, revoke) and the account's audit log.
import type { IRequest } from "itty-router";
import { z } from "zod";
import { requireAccount } from "../auth.ts";
import * as keys from "../db/keys.ts";
import { json, readJson, validate } from "../http.ts";
import { line } from "../schemas.ts";
import { SCOPES } from "../scopes.ts";
import { accountAudit } from "../services/audit.ts";
import { createKey, keyView, revokeKey } from "../services/keys.ts";

/** `POST /v1/me/keys`: a name (the shared user-text rule) and a scope, `read` when not given. */
export const CreateKey = z.object({ name: line(64), scope: z.enum(SCOPES).optional() }).strict();

export const AuditQuery = z
	.object({
		limit: z.coerce.number().int().min(1).max(100).optional(),
		cursor: z
			.string()
			.regex(/^[1-9][0-9]{0,15}$/, "must be a next_cursor from a previous page")
			.optional(),
	})
	.strict();

export async function postKey(request: IRequest, env: Env): Promise<Response> {
	const caller = await requireAccount(request, env);
	const body = await readJson(request, CreateKey);
	const { key, apiKey } = await createKey(env.DB, caller, body.name, body.scope ?? "read", Date.now());
	return json({ key: keyView(key), api_key: apiKey }, 201);
}

export async function getKeys(request: IRequest, env: Env): Promise<Response> {
	const caller = await requireAccount(request, env);
	const all = await keys.ofAccount(env.DB, caller.id);
	return json({ keys: all.map((k) => ({ ...keyView(k), current: k.id === caller.key.id })) });
}

export async function deleteKey(request: IRequest, env: Env): Promise<Response> {
	const caller = await requireAccount(request, env);
	const key = await revokeKey(env.DB, caller, request.params.id as string, Date.now());
	return json({ key: keyView(key) });
}

export async function getMyAudit(request: IRequest, env: Env): Promise<Response> {
	const caller = await requireAccount(request, env);
	const q = validate(AuditQuery, Object.fromEntries(new URL(request.url).searchParams));
	return json(await accountAudit(env.DB, caller.id, q.limit ?? 50, q.cursor ?? null));
}
