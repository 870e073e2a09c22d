// Staff routes of the co-scheduled verification rounds (docs/VERIFICATION.md §14): start one now, read one.
import type { IRequest } from "itty-router";
import { requireStaff } from "../auth.ts";
import * as audit from "../db/audit.ts";
import { ApiError, json } from "../http.ts";
import { roundView, startRound } from "../services/verify-rounds.ts";

export async function postVerifyRound(request: IRequest, env: Env): Promise<Response> {
	const actor = await requireStaff(request, env);
	if ((await request.text()).trim() !== "") {
		throw new ApiError(400, "validation_failed", "This route takes no body: it plans a round from the online nodes.");
	}
	const now = Date.now();
	const started = await startRound(env, now);
	if (!started) return json({ round_id: null, reason: "no two online nodes are suspected of sharing hardware" });
	const { round_id, nodes } = started;
	await audit.record(
		env.DB,
		{ actor, action: "verify_round.start", target: `round:${round_id}`, details: { nodes } },
		now,
	);
	return json(started);
}

export async function getVerifyRound(request: IRequest, env: Env): Promise<Response> {
	await requireStaff(request, env);
	const view = await roundView(env, request.params.id as string);
	if (!view) throw new ApiError(404, "not_found", `No verification round '${request.params.id}'.`);
	return json(view);
}
