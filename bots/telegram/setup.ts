#!/usr/bin/env node
// `npm run telegram:setup -- --url https://<host>`: points the bot's webhook (with its secret) at the coordinator and
// sets the command menu from the metadata the handler uses.
import { parseArgs } from "node:util";
import { failWith, reach, settings, type Fail } from "../cli.ts";
import { menuPayload } from "./commands.ts";
import { DEFAULT_TELEGRAM_API_ROOT, readConfig } from "../../workers/config.ts";

const WEBHOOK_PATH = "/telegram/webhook";
/** Telegram's rule for secret_token: 1–256 characters of A–Z, a–z, 0–9, _ and -. */
const SECRET = /^[A-Za-z0-9_-]{1,256}$/;

const HELP =
	`Sets pulsegrid's Telegram webhook (with its secret token) and the bot's command menu ` +
	`(bots/telegram/commands.ts).

  npm run telegram:setup -- --url https://pulsegrid.<you>.workers.dev    webhook at <url>${WEBHOOK_PATH}, then the menu
  npm run telegram:setup -- --url <url> --dry-run                        print what would be sent; sends nothing

Reads TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET from the environment, else from ./.dev.vars;
TELEGRAM_API_ROOT (default ${DEFAULT_TELEGRAM_API_ROOT}) may point elsewhere. ` +
	`A --url without a path gets ${WEBHOOK_PATH}.`;

const fail: Fail = failWith("telegram:setup");

/** The webhook's address: https only (Telegram calls nothing else); a bare origin gets the webhook path. */
export function webhookUrl(raw: string): string | null {
	let u: URL;
	try {
		u = new URL(raw);
	} catch {
		return null;
	}
	if (u.protocol !== "https:") return null;
	if (u.pathname === "/" || u.pathname === "") u.pathname = WEBHOOK_PATH;
	return u.toString();
}

/** Calls one Bot API method; a refusal stops the script with Telegram's own description. */
async function call(root: string, token: string, method: string, body: unknown): Promise<void> {
	const res = await reach(fail, root, `${root}/bot${token}/${method}`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify(body),
	});
	const text = await res.text();
	let answer: { ok?: boolean; description?: string } = {};
	try {
		answer = JSON.parse(text) as typeof answer;
	} catch {
		/* an HTML error page from a proxy: the status says enough */
	}
	if (!res.ok || answer.ok !== true) {
		fail(
			`Telegram answered ${res.status} to ${method}: ` +
				`${answer.description ?? text.slice(0, 300)}${res.status === 401 ? " (is TELEGRAM_BOT_TOKEN right?)" : ""}`,
			1,
		);
	}
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			url: { type: "string" },
			"dry-run": { type: "boolean", default: false },
			help: { type: "boolean", short: "h", default: false },
		},
		strict: true,
	});
	if (values.help) return void console.log(HELP);
	if (values.url === undefined)
		fail(
			`--url is required: the coordinator's public https address, e.g. ` +
				`--url https://pulsegrid.<you>.workers.dev (see --help); nothing was sent.`,
		);
	const url = webhookUrl(values.url);
	if (!url)
		fail(
			`--url must be an https URL (Telegram calls webhooks over HTTPS only), not '${values.url}'; nothing was sent.`,
		);
	const commands = menuPayload();
	const webhook = { url, allowed_updates: ["message"] };
	if (values["dry-run"]) {
		return void console.log(
			JSON.stringify(
				{ setWebhook: { ...webhook, secret_token: "<TELEGRAM_WEBHOOK_SECRET>" }, setMyCommands: { commands } },
				null,
				2,
			),
		);
	}

	const env = settings();
	const token = env.TELEGRAM_BOT_TOKEN?.trim();
	const secret = env.TELEGRAM_WEBHOOK_SECRET?.trim();
	if (!token)
		fail(
			"TELEGRAM_BOT_TOKEN is not set (BotFather → /newbot gives it; /token shows it again). " +
				"Set it in the environment or .dev.vars; nothing was sent.",
		);
	if (!secret || !SECRET.test(secret))
		fail(
			"TELEGRAM_WEBHOOK_SECRET is not set or not 1–256 characters of " +
				"A–Z a–z 0–9 _ - (e.g. `openssl rand -hex 32`); nothing was sent.",
		);
	const root = readConfig(env).telegram.apiRoot;

	await call(root, token, "setWebhook", { ...webhook, secret_token: secret });
	await call(root, token, "setMyCommands", { commands });
	console.log(
		`Webhook set to ${url} with its secret token; command menu: ${commands.map((c) => `/${c.command}`).join(" ")}`,
	);
}

await main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err), 1));
