// End-to-end support for alerts: a coordinator pointed at a local fake Bot API, chats linked through the bot, and many
// simulated agent sockets.
import WebSocket from "ws";
import { generateIdentity, TokenSigner } from "../../agent/identity.ts";
import { startFakeBotApi, type FakeBotApiServer, type FakeMessage } from "../fakes/bot-api.ts";
import { SHORT_TIMINGS, startCoordinator, type Coordinator } from "../../scripts/local-coordinator.ts";

export const BOT_TOKEN = "4242:e2e-bot-token";
export const WEBHOOK_SECRET = "e2e-webhook-secret";

/**
 * Short liveness timings (SHORT_TIMINGS) and a short group window, so a drop is reported within seconds.
 */
export const ALERT_VARS: Record<string, string> = {
	...SHORT_TIMINGS,
	TELEGRAM_BOT_TOKEN: BOT_TOKEN,
	TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
	ALERT_GROUP_WINDOW_S: "2",
	ALERT_EDIT_WINDOW_S: "5",
	ALERT_FLAP_COUNT: "3",
	ALERT_FLAP_WINDOW_S: "60",
};

export { startFakeBotApi, type Coordinator, type FakeBotApiServer, type FakeMessage };

export function alertsCoordinator(
	fake: FakeBotApiServer,
	o: { port?: number; persistDir?: string; vars?: Record<string, string> } = {},
): Promise<Coordinator> {
	return startCoordinator({
		...o,
		vars: { ...ALERT_VARS, TELEGRAM_API_ROOT: fake.url, DISCORD_API_ROOT: fake.url, ...o.vars },
	});
}

/** Where requests go: a Coordinator, or `{ url }` of its inner entry. */
export type Target = { url: string };

let ipCounter = 0;
async function post<T>(
	c: Target,
	path: string,
	body: unknown,
	headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
	ipCounter++;
	const res = await fetch(`${c.url}${path}`, {
		method: "POST",
		body: JSON.stringify(body),
		// Distinct client addresses: sign-ups are limited per IP, and the local runtime trusts this header.
		headers: {
			"content-type": "application/json",
			"cf-connecting-ip": `10.66.${(ipCounter >> 8) & 255}.${ipCounter & 255}`,
			...headers,
		},
	});
	const text = await res.text();
	return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function signUp(c: Target, name: string): Promise<string> {
	const r = await post<{ api_key: string }>(c, "/v1/accounts", { name });
	if (r.status !== 201) throw new Error(`sign-up failed: ${r.status}`);
	return r.body.api_key;
}

let updateId = 1;
/** Sends a Telegram update to the coordinator's webhook, as Telegram would. */
export async function telegramUpdate(c: Target, chat: number, text: string): Promise<number> {
	const command = /^\/\S+/.exec(text)?.[0];
	const update = {
		update_id: updateId++,
		message: {
			message_id: updateId,
			date: Math.floor(Date.now() / 1000),
			text,
			chat: { id: chat, type: "private", first_name: "Op" },
			from: { id: chat, is_bot: false, first_name: "Op" },
			...(command ? { entities: [{ type: "bot_command", offset: 0, length: command.length }] } : {}),
		},
	};
	return (await post(c, "/telegram/webhook", update, { "x-telegram-bot-api-secret-token": WEBHOOK_SECRET })).status;
}

/** POST /v1/links, then /start CODE from `chat` through the webhook; resolves once the bot confirmed at the fake. */
export async function linkChat(c: Target, fake: FakeBotApiServer, apiKey: string, chat: number): Promise<void> {
	const { body } = await post<{ code: string }>(c, "/v1/links", {}, { authorization: `Bearer ${apiKey}` });
	if ((await telegramUpdate(c, chat, `/start ${body.code}`)) !== 200) throw new Error("webhook refused /start");
	const reply = fake.fake.messagesTo(`tg:${chat}`).at(-1)?.text ?? "";
	if (!reply.startsWith("✅")) throw new Error(`link failed: ${reply}`);
}

/** A simulated agent: a real WebSocket with keepalives, which can go silent (socket left open) or be cut. */
export class SimNode {
	ws: WebSocket | null = null;
	private timer: NodeJS.Timeout | null = null;
	readonly signer: TokenSigner;
	readonly id: string;

	constructor(id: string, signer: TokenSigner) {
		this.id = id;
		this.signer = signer;
	}

	/** `base`: the coordinator's URL, or its inner entry (see inner-entry.ts) for thousands of sockets. */
	async connect(base: string, everyMs = 1000): Promise<void> {
		const token = await this.signer.mint();
		const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/nodes/${this.id}/connect`, {
			headers: { authorization: `Bearer ${token}` },
			perMessageDeflate: false,
		});
		this.ws = ws;
		await new Promise<void>((resolve, reject) => {
			ws.once("error", reject);
			ws.once("close", (code) => reject(new Error(`closed before welcome: ${code}`)));
			ws.on("message", (data) => {
				if (String(data).includes('"welcome"')) resolve();
			});
		});
		ws.on("error", () => {});
		this.timer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), everyMs);
	}

	/** Stops keepalives but keeps the TCP connection open: a frozen machine. */
	silence(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}

	/** Cuts the connection without a close frame. */
	kill(): void {
		this.silence();
		this.ws?.terminate();
	}
}

/** Registers `n` nodes for the account (bounded concurrency) and returns them, not yet connected. */
export async function registerNodes(c: Target, apiKey: string, n: number, prefix = "rig"): Promise<SimNode[]> {
	const out: SimNode[] = new Array(n);
	let next = 0;
	const worker = async () => {
		while (next < n) {
			const i = next++;
			const identity = generateIdentity();
			const r = await post<{ node: { id: string } }>(
				c,
				"/v1/nodes",
				{
					name: `${prefix}-${i}`,
					public_key: identity.publicKey,
					hardware: { gpu_model: "RTX 4090", gpu_count: 1, vram_gb: 24, cpu_cores: 8, ram_gb: 32 },
				},
				{ authorization: `Bearer ${apiKey}` },
			);
			if (r.status !== 201) throw new Error(`registration failed: ${r.status} ${JSON.stringify(r.body)}`);
			out[i] = new SimNode(r.body.node.id, new TokenSigner(identity, r.body.node.id));
		}
	};
	await Promise.all(Array.from({ length: 8 }, worker));
	return out;
}

/** Connects every node with at most `limit` handshakes in flight; `everyMs` between keepalives. */
export async function connectAll(
	base: string,
	nodes: SimNode[],
	o: { limit?: number; everyMs?: number } = {},
): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < nodes.length) await (nodes[next++] as SimNode).connect(base, o.everyMs);
	};
	const limit = o.limit ?? 32;
	await Promise.all(Array.from({ length: limit }, worker));
}

/** Polls (bounded) until `check` holds. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return;
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error(`timed out waiting for: ${what}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
