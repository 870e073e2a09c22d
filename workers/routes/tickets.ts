// Support tickets over HTTP: accounts open and follow their own; staff (the admin token or a staff account) see and
// answer all.
import type { IRequest } from "itty-router";
import { isAdminToken, requireAccount } from "../auth.ts";
import { json, readJson, validate } from "../http.ts";
import {
	NewTicket,
	TicketListQuery,
	TicketReply,
	closeTicket,
	listTickets,
	messageView,
	openTicket,
	readTicket,
	replyToTicket,
	ticketActor,
	ticketView,
	type TicketActor,
} from "../services/tickets.ts";

async function caller(request: IRequest, env: Env): Promise<TicketActor> {
	if (await isAdminToken(request, env)) return ticketActor(null, true, "admin", "api");
	const account = await requireAccount(request, env);
	return ticketActor(account, false, account.name, "api");
}

export async function postTicket(request: IRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
	const actor = await caller(request, env);
	const body = await readJson(request, NewTicket);
	const { ticket, messages } = await openTicket(env, actor, body, Date.now(), (w) => ctx.waitUntil(w));
	return json({ ticket: ticketView(ticket), messages: messages.map(messageView) }, 201);
}

export async function getTickets(request: IRequest, env: Env): Promise<Response> {
	const q = validate(TicketListQuery, Object.fromEntries(new URL(request.url).searchParams));
	const { status, tickets } = await listTickets(env.DB, await caller(request, env), q);
	return json({ status, tickets: tickets.map(ticketView) });
}

export async function getTicket(request: IRequest, env: Env): Promise<Response> {
	const { ticket, messages } = await readTicket(env.DB, await caller(request, env), request.params.id as string);
	return json({ ticket: ticketView(ticket), messages: messages.map(messageView) });
}

export async function postTicketMessage(request: IRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
	const actor = await caller(request, env);
	const body = await readJson(request, TicketReply);
	const { ticket, message } = await replyToTicket(env, actor, request.params.id as string, body.body, Date.now(), (w) =>
		ctx.waitUntil(w),
	);
	return json({ ticket: ticketView(ticket), message: messageView(message) }, 201);
}

export async function postTicketClose(request: IRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
	const actor = await caller(request, env);
	const { ticket } = await closeTicket(env, actor, request.params.id as string, Date.now(), (w) => ctx.waitUntil(w));
	return json({ ticket: ticketView(ticket) });
}
