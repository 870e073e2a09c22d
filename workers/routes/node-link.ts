// Routes a node calls with its own token: the WebSocket connection and the HTTP heartbeat fallback.
import type { IRequest } from "itty-router";
import { requireNode } from "../auth.ts";
import { ApiError, json, readJson } from "../http.ts";
import { verificationsOf } from "../db/verifications.ts";
import { MAX_GPU_UUIDS, parseGpuUuids } from "../domain/identity.ts";
import { networkOf } from "../domain/incident.ts";
import { challengedAtConnect, verificationOf } from "../domain/verification.ts";
import { Heartbeat } from "../schemas.ts";
import { observeConnection } from "../services/identity.ts";
import { shard } from "../services/liveness.ts";

export async function connectNode(request: IRequest, env: Env): Promise<Response> {
	if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
		throw new ApiError(426, "upgrade_required", "This route is a WebSocket; connect with 'Upgrade: websocket'.", {
			upgrade: "websocket",
		});
	}
	const now = Date.now();
	const caller = await requireNode(request, env, request.params.id as string, now);
	const uuids = parseGpuUuids(request.headers.get("x-pulsegrid-gpu-uuids"));
	if (uuids === null) {
		throw new ApiError(
			400,
			"validation_failed",
			`x-pulsegrid-gpu-uuids: at most ${MAX_GPU_UUIDS} distinct GPU UUIDs as nvidia-smi prints them, comma-separated.`,
		);
	}
	const ip = request.headers.get("cf-connecting-ip");
	const contradicted = await observeConnection(env, caller.node, ip, uuids, now);
	const claim = { gpu_model: caller.node.gpu_model, gpu_count: caller.node.gpu_count };
	const verified = verificationOf((await verificationsOf(env.DB, [caller.node.id])).get(caller.node.id), claim);
	// The claim to prove on this connection, if the node may prove it alone now (docs/VERIFICATION.md §6, §14).
	const verify: Record<string, string> =
		challengedAtConnect(verified) && !contradicted ? { "x-pulsegrid-verify": JSON.stringify(claim) } : {};
	// The shard trusts only these headers, set here after verification; nothing from the client is forwarded.
	return shard(env, caller.node.shard).fetch(
		new Request(request.url, {
			headers: {
				upgrade: "websocket",
				"x-pulsegrid-node": caller.node.id,
				"x-pulsegrid-jti": caller.jti,
				"x-pulsegrid-exp": String(caller.exp * 1000),
				"x-pulsegrid-account": caller.node.account_id,
				"x-pulsegrid-network": networkOf(ip),
				...verify, // docs/VERIFICATION.md §6
			},
		}),
	);
}

export async function heartbeatNode(request: IRequest, env: Env): Promise<Response> {
	const caller = await requireNode(request, env, request.params.id as string, Date.now());
	const body = request.headers.get("content-length") === "0" ? {} : await readJson(request, Heartbeat);
	const result = await shard(env, caller.node.shard).heartbeat(
		caller.node.id,
		caller.jti,
		caller.iat,
		caller.exp,
		{
			answers: body.answers ?? [],
			bye: body.bye === true,
			origin: { accountId: caller.node.account_id, network: networkOf(request.headers.get("cf-connecting-ip")) },
		},
		Date.now(),
	);
	if (result === "replayed")
		throw new ApiError(
			401,
			"unauthorized",
			"This node token was already used, or predates a coordinator restart; mint a new one.",
		);
	const { sessionStart, ...wire } = result;
	// Where an HTTP node beats from counts like a connection's address (the allowance; no UUIDs come this way).
	if (sessionStart)
		await observeConnection(env, caller.node, request.headers.get("cf-connecting-ip"), null, Date.now());
	return json(wire);
}
