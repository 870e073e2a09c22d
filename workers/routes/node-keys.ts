// Routes for a node's key: the owner sets a new one (old key lost) or revokes it; the node rotates its own with a
// statement signed by the old key (docs/PROTOCOL.md "Rotating a node's key").
import type { IRequest } from "itty-router";
import { z } from "zod";
import { requireAccount, requireKeyRotation } from "../auth.ts";
import * as keys from "../db/keys.ts";
import type { KeyedNode } from "../db/keys.ts";
import { ApiError, json, readJson } from "../http.ts";
import { PublicKey } from "../schemas.ts";
import { nodeKeyView, revokeNodeKey, setNodeKey } from "../services/keys.ts";

export const SetNodeKey = z.object({ public_key: PublicKey }).strict();

async function existing(env: Env, id: string): Promise<KeyedNode> {
	const node = await keys.node(env.DB, id);
	if (!node) throw new ApiError(404, "not_found", `No node '${id}'.`);
	return node;
}

/** The node, if the caller (an `operate` key) owns it: 404 when it does not exist, 403 when it is someone else's. */
async function ownedBy(request: IRequest, env: Env): Promise<{ node: KeyedNode; actor: string }> {
	const account = await requireAccount(request, env);
	const node = await existing(env, request.params.id as string);
	if (node.account_id !== account.id) throw new ApiError(403, "forbidden", "This node belongs to another account.");
	return { node, actor: account.id };
}

/** `PUT /v1/nodes/{id}/key`: the owner sets the node's key (the old one lost, stolen or revoked). */
export async function putNodeKey(request: IRequest, env: Env): Promise<Response> {
	const { node, actor } = await ownedBy(request, env);
	const body = await readJson(request, SetNodeKey);
	const now = Date.now();
	return json({ key: nodeKeyView(await setNodeKey(env, node, body.public_key, { actor, via: "owner" }, now)) });
}

/** `DELETE /v1/nodes/{id}/key`: the owner revokes the node's key; no node token passes until a new key is set. */
export async function deleteNodeKey(request: IRequest, env: Env): Promise<Response> {
	const { node, actor } = await ownedBy(request, env);
	return json({ key: nodeKeyView(await revokeNodeKey(env, node, actor, Date.now())) });
}

/**
 * `POST /v1/nodes/{id}/key/rotate`: the node replaces its key; the credential is a statement its current key signed
 * (sent as the bearer token; any body is ignored: everything that matters is signed).
 */
export async function postNodeKeyRotation(request: IRequest, env: Env): Promise<Response> {
	const now = Date.now();
	const { node, publicKey, jti } = await requireKeyRotation(request, env, request.params.id as string, now);
	const by = { actor: `node:${node.id}`, via: "old_key" as const, jti };
	return json({ key: nodeKeyView(await setNodeKey(env, node, publicKey, by, now)) });
}
