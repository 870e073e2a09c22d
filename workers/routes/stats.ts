// Network statistics, each derived from recorded state with a stated definition (see /openapi.json).
import type { IRequest } from "itty-router";
import { json } from "../http.ts";
import { listIncidents } from "../services/history.ts";
import { networkStats } from "../services/stats.ts";

export { STAT_DEFINITIONS } from "../services/stats.ts";

export async function getStats(_request: IRequest, env: Env): Promise<Response> {
	return json(await networkStats(env.DB, Date.now()));
}

export async function getIncidents(_request: IRequest, env: Env): Promise<Response> {
	return json({ incidents: await listIncidents(env.DB, 100) });
}
