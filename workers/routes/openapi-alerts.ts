// The OpenAPI paths of alert settings, mutes and the Telegram webhook (merged into /openapi.json).
import { z } from "zod";
import { PatchAlertSettings, PostMute } from "./alerts.ts";

const error = { $ref: "#/components/schemas/Error" };
const err = (description: string) => ({ description, content: { "application/json": { schema: error } } });
const body = (schema: z.ZodType) => ({
	required: true,
	content: { "application/json": { schema: z.toJSONSchema(schema, { io: "input" }) } },
});
const account = [{ apiKey: [] }];

const Settings = {
	type: "object",
	properties: {
		alerts: {
			type: "boolean",
			description: "Per-node alerts on or off (off is like muting everything without an end; the digest is separate).",
		},
		digest: { type: "boolean", description: "A daily digest: nodes by status, 24 h uptime and drops." },
		digest_hour_utc: { type: "integer", minimum: 0, maximum: 23 },
		discord_webhook: {
			type: ["string", "null"],
			description: "The Discord channel webhook alerts also go to; its token is never shown again.",
		},
		telegram_chats: {
			type: "integer",
			description: "Telegram chats linked to the account (POST /v1/links, then /start CODE).",
		},
		mutes: {
			type: "array",
			items: {
				type: "object",
				properties: {
					target: { type: "string", description: 'A node id, or "all"' },
					until: { type: "string", format: "date-time" },
				},
			},
		},
	},
};

export const ALERT_PATHS = {
	"/v1/alerts/settings": {
		get: {
			summary: "The caller's alert settings and active mutes",
			security: account,
			responses: {
				200: {
					description: "Settings",
					content: { "application/json": { schema: { type: "object", properties: { settings: Settings } } } },
				},
				401: err("No or invalid credentials (`unauthorized`)."),
			},
		},
		patch: {
			summary:
				"Change alert settings; discord_webhook_url must be " +
				"https://discord.com/api/webhooks/<id>/<token> (null removes it)",
			security: account,
			requestBody: body(PatchAlertSettings),
			responses: {
				200: {
					description: "Updated settings",
					content: { "application/json": { schema: { type: "object", properties: { settings: Settings } } } },
				},
				400: err("Bad input (`validation_failed`, `invalid_json`)."),
				401: err("No or invalid credentials (`unauthorized`)."),
			},
		},
	},
	"/v1/alerts/mutes": {
		post: {
			summary:
				'Mute alerts for one of the caller\'s nodes (id or name) or "all" for a duration ' +
				"(30m, 2h, 1d; at most 30d). When the mute ends every destination is told what is still offline.",
			security: account,
			requestBody: body(PostMute),
			responses: {
				201: {
					description: "Muted",
					content: {
						"application/json": {
							schema: {
								type: "object",
								properties: {
									mute: {
										type: "object",
										properties: { target: { type: "string" }, until: { type: "string", format: "date-time" } },
									},
								},
							},
						},
					},
				},
				400: err("Bad duration or body (`validation_failed`)."),
				401: err("No or invalid credentials (`unauthorized`)."),
				404: err("No such node of the caller's (`not_found`)."),
			},
		},
	},
	"/v1/alerts/mutes/{target}": {
		parameters: [
			{
				name: "target",
				in: "path",
				required: true,
				schema: { type: "string" },
				description: 'A node id or name of the caller\'s, or "all" for every mute',
			},
		],
		delete: {
			summary: "Lift a mute now; every destination is told what is still offline",
			security: account,
			responses: {
				200: {
					description: "Lifted",
					content: {
						"application/json": {
							schema: { type: "object", properties: { lifted: { type: "array", items: { type: "string" } } } },
						},
					},
				},
				400: err(
					"The target is not valid percent-encoded UTF-8, or decodes to a control or bidi character " +
						"(`validation_failed`), as on every route.",
				),
				401: err("No or invalid credentials (`unauthorized`)."),
				404: err("Nothing muted under that name, or no such node (`not_found`)."),
			},
		},
	},
	"/telegram/webhook": {
		post: {
			summary:
				"Telegram Bot API updates (setWebhook with secret_token); " +
				"the X-Telegram-Bot-Api-Secret-Token header is checked in constant time before the body is read",
			parameters: [
				{ name: "X-Telegram-Bot-Api-Secret-Token", in: "header", required: true, schema: { type: "string" } },
			],
			requestBody: {
				required: true,
				content: {
					"application/json": {
						schema: { type: "object", required: ["update_id"], properties: { update_id: { type: "integer" } } },
					},
				},
			},
			responses: {
				200: { description: "Handled (replies are sent through the Bot API)" },
				400: err("Not an update (`invalid_json`, `validation_failed`)."),
				401: err("Missing or wrong secret token (`unauthorized`)."),
				413: err("Larger than 256 KiB (`payload_too_large`)."),
			},
		},
	},
};
