// Routes for accounts: sign-up (rate limited per IP) and "who am I" (and with which key).
import type { IRequest } from "itty-router";
import { requireAccount } from "../auth.ts";
import { ApiError, clientIp, json, readJson } from "../http.ts";
import { CreateAccount } from "../schemas.ts";
import { accountView, createAccount } from "../services/accounts.ts";
import { keyView } from "../services/keys.ts";

export async function postAccount(request: IRequest, env: Env): Promise<Response> {
	const { success } = await env.SIGNUP_LIMITER.limit({ key: clientIp(request) });
	if (!success)
		throw new ApiError(429, "rate_limited", "Too many sign-ups from this address; wait a minute.", {
			"retry-after": "60",
		});
	const body = await readJson(request, CreateAccount);
	const { account, apiKey } = await createAccount(env.DB, body.name, Date.now());
	return json({ account: accountView(account), api_key: apiKey }, 201);
}

export async function getMe(request: IRequest, env: Env): Promise<Response> {
	const caller = await requireAccount(request, env);
	// The account's own role; what this key may do is its scope (staff powers need an `admin` key).
	return json({ account: accountView({ ...caller, role: caller.accountRole }), key: keyView(caller.key) });
}
