// The OpenAPI paths of support tickets and the Discord interactions endpoint, built with the main document's helpers.
import type { z } from "zod";
import { TRANSITIONS } from "../domain/tickets.ts";
import { NewTicket, TicketReply } from "../services/tickets.ts";

interface Helpers {
	ok(description: string, schema?: object): object;
	err(description: string): object;
	body(schema: z.ZodType): object;
	E: Record<400 | 401 | 403 | 404 | 409 | 413 | 415 | 429, object>;
}

const TicketStatus = { type: "string", enum: Object.keys(TRANSITIONS) };
const Ticket = {
	type: "object",
	properties: {
		id: { type: "string", pattern: "^tkt_" },
		account_id: { type: "string" },
		account_name: { type: "string", description: "In lists." },
		subject: { type: "string", maxLength: 120 },
		node_id: { type: ["string", "null"] },
		flag_id: { type: ["string", "null"], description: "The flag this ticket appeals, if it is an appeal." },
		status: TicketStatus,
		opened_via: { type: "string", enum: ["api", "discord", "telegram"] },
		created_at: { type: "string", format: "date-time" },
		updated_at: { type: "string", format: "date-time" },
		closed_at: { type: ["string", "null"], format: "date-time" },
		closed_by: { type: ["string", "null"] },
		messages: { type: "integer", description: "In lists: how many messages." },
		unread_replies: {
			type: "integer",
			description:
				"In lists and `GET /v1/tickets/{id}`: staff messages the owner has not seen. The owner's " +
				"`GET /v1/tickets/{id}` marks every message seen (its own answer still counts those it showed for the first " +
				"time); an owner's reply counts as having seen. Staff reading changes nothing.",
		},
	},
};
const Message = {
	type: "object",
	properties: {
		id: { type: "integer" },
		author: {
			type: "object",
			properties: {
				role: { type: "string", enum: ["owner", "staff"] },
				account_id: { type: ["string", "null"] },
				name: { type: "string" },
			},
		},
		via: { type: "string", enum: ["api", "discord", "telegram"] },
		body: { type: "string", maxLength: 4000 },
		created_at: { type: "string", format: "date-time" },
	},
};

const TRANSITION_DOC =
	"Status: `open` until staff first answer; a staff reply makes it `waiting_on_user`, " +
	"an owner reply `waiting_on_staff`; owner or staff can close it (`closed`: no more replies, open a new ticket). " +
	"A new ticket, each reply and each close are posted to the staff Discord channel. A staff reply (with its text) " +
	"and a staff close reach the owner where they are: every Telegram chat and Discord user linked to the account " +
	"(a DM), paced by the delivery gate and retried from an outbox; the owner answers there " +
	"(`/ticket reply` in either bot). Clearing a flag answers and closes its open appeals, and tells the owner.";

export function ticketPaths({ ok, err, body, E }: Helpers) {
	const idParam = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^tkt_" } };
	const both = [{ apiKey: [] }, { admin: [] }];
	const one = ok("The ticket and its messages", {
		type: "object",
		properties: { ticket: Ticket, messages: { type: "array", items: Message } },
	});
	const missing = err("No such ticket, or it is another account's (`not_found`): others' tickets are not revealed.");
	return {
		"/v1/tickets": {
			post: {
				summary:
					"Open a support ticket (an account; at most 10 open at once and 20 opened an hour). " +
					"`node_id` must be one of the caller's nodes; `flag_id` makes it the appeal of a flag on one of them " +
					"(404 unknown flag, 403 another account's, 422 `node_id` not the flag's node, 409 already cleared).",
				description:
					`${TRANSITION_DOC} A new flag reaches its node's owner within a minute in the same places, with how to ` +
					"appeal it (`/ticket appeal <flag id> <why>` in Telegram, `/ticket open flag:<id>` in Discord, or this " +
					"route with `flag_id`).",
				security: [{ apiKey: [] }],
				requestBody: body(NewTicket),
				responses: {
					201: one,
					400: E[400],
					401: E[401],
					403: err("The node is another account's, or the admin token (no account) was used (`forbidden`)."),
					404: E[404],
					413: E[413],
					415: E[415],
					422: err("10 tickets already open (`unprocessable`)."),
					429: err("20 tickets opened in the last hour (`rate_limited`); see Retry-After."),
				},
			},
			get: {
				summary:
					"Tickets, newest activity first: an account's own (default status `all`); " +
					"staff see everyone's (default `active`, i.e. not closed)",
				security: both,
				parameters: [
					{
						name: "status",
						in: "query",
						schema: { type: "string", enum: [...Object.keys(TRANSITIONS), "active", "all"] },
					},
					{ name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 50 } },
					{
						name: "unread",
						in: "query",
						description: "`true`: only tickets with staff replies the owner has not seen (`unread_replies` > 0).",
						schema: { type: "string", enum: ["true", "false"] },
					},
				],
				responses: {
					200: ok("Tickets", {
						type: "object",
						properties: { status: { type: "string" }, tickets: { type: "array", items: Ticket } },
					}),
					400: E[400],
					401: E[401],
				},
			},
		},
		"/v1/tickets/{id}": {
			parameters: [idParam],
			get: {
				summary: "A ticket with its messages (its owner, or staff); the owner reading it marks its staff replies seen",
				security: both,
				responses: { 200: one, 401: E[401], 404: missing },
			},
		},
		"/v1/tickets/{id}/messages": {
			parameters: [idParam],
			post: {
				summary: "Reply to a ticket (its owner, or staff); moves its status as documented",
				description: TRANSITION_DOC,
				security: both,
				requestBody: body(TicketReply),
				responses: {
					201: ok("The ticket and the new message", {
						type: "object",
						properties: { ticket: Ticket, message: Message },
					}),
					400: E[400],
					401: E[401],
					404: missing,
					409: err("The ticket is closed, or changed meanwhile (`conflict`)."),
					413: E[413],
					415: E[415],
					422: err("The ticket has 200 messages (`unprocessable`)."),
					429: err("The owner added 5 messages in the last minute (`rate_limited`)."),
				},
			},
		},
		"/v1/tickets/{id}/close": {
			parameters: [idParam],
			post: {
				summary: "Close a ticket (its owner, or staff)",
				security: both,
				responses: {
					200: ok("Closed", { type: "object", properties: { ticket: Ticket } }),
					401: E[401],
					404: missing,
					409: err("Already closed (`conflict`)."),
				},
			},
		},
		"/discord/interactions": {
			post: {
				summary:
					"Discord's interactions endpoint: signed by Discord " +
					"(Ed25519 over X-Signature-Timestamp + the raw body, checked against DISCORD_PUBLIC_KEY before parsing)",
				responses: {
					200: ok("An interaction response (PONG, a message, or a deferred message completed by a follow-up)"),
					400: E[400],
					401: err("Missing, wrong or stale signature (`unauthorized`)."),
					409: err("An interaction id already handled (a replay within the signature's 15 minutes): `conflict`."),
					413: E[413],
				},
			},
		},
	};
}
