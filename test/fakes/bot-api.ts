// A local fake of the Telegram Bot API and of Discord channel webhooks: records every message, enforces the real
// limits, answers 429 on cue.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeMessage, FakeRequest, FakeState } from "./bot-api-types.ts";

export type { FakeMessage, FakeRequest, FakeState };

/** One call of any Bot API method (getMe, setWebhook, setMyCommands, sendMessage…), as it arrived. */
export interface FakeCall {
	method: string;
	token: string;
	body: Record<string, unknown>;
	at: number;
}

/** What a Bot API token looks like (`<bot id>:<secret>`); Telegram answers 401 to anything else. */
const TOKEN = /^\d{1,20}:[\w-]{1,100}$/;

/** Telegram: about one message per second per chat and 30 per second overall (group chats: 20 per minute). */
export const LIMITS = { perChatGapMs: 900, globalPerSecond: 30, discordGapMs: 1800 };

/** The fake itself, independent of any server: `handle` answers one request. */
export class FakeBotApi {
	readonly state: FakeState = { messages: [], requests: [], violations: [] };
	/** Every Bot API method call, in order: a bot built without `botInfo` would show up here as a getMe per update. */
	readonly calls: FakeCall[] = [];
	private nextId = 1;
	/** dest ("*" for every chat) → how many more requests get a 429, and the retry_after to announce. */
	private throttles = new Map<string, { times: number; retryAfterS: number }>();
	/** dest → time before which a request breaks a retry_after we announced. */
	private blockedUntil = new Map<string, number>();
	private lastAt = new Map<string, number>();
	private recent: number[] = [];
	/** chat id → the user ids getChatAdministrators lists for it (none unless a test says so). */
	private admins = new Map<string, number[]>();

	/** The next `times` requests to `dest` (or every dest with "*") get 429 with `retry_after` seconds. */
	throttle(dest: string, times: number, retryAfterS: number): void {
		this.throttles.set(dest, { times, retryAfterS });
	}

	messagesTo(dest: string): FakeMessage[] {
		return this.state.messages.filter((m) => m.dest === dest);
	}

	callsOf(method: string): FakeCall[] {
		return this.calls.filter((c) => c.method === method);
	}

	async handle(
		method: string,
		path: string,
		body: Record<string, unknown>,
	): Promise<{ status: number; body: unknown }> {
		const control = this.control(method, path, body);
		if (control) return control;
		const tg = /^\/bot([^/]+)\/(\w+)$/.exec(path);
		if (tg) {
			const [token, name] = [decodeURIComponent(tg[1] as string), tg[2] as string];
			this.calls.push({ method: name, token, body, at: Date.now() });
			if (!TOKEN.test(token)) return { status: 401, body: { ok: false, error_code: 401, description: "Unauthorized" } };
			return this.telegram(name, body);
		}
		const dc = /^\/webhooks\/(\d+)\/[\w-]+(?:\/messages\/(\d+))?$/.exec(path.split("?")[0] as string);
		if (dc) return this.discord(`dc:${dc[1]}`, method, dc[2] ? Number(dc[2]) : null, body);
		return { status: 404, body: { ok: false, error_code: 404, description: "Not Found" } };
	}

	/** Test-only endpoints under /__fake, so tests running inside workerd can read and steer the fake over HTTP. */
	private control(
		method: string,
		path: string,
		body: Record<string, unknown>,
	): { status: number; body: unknown } | null {
		if (!path.startsWith("/__fake/")) return null;
		const url = new URL(path, "http://fake");
		if (url.pathname === "/__fake/messages") {
			const dest = url.searchParams.get("dest");
			return {
				status: 200,
				body: {
					messages: dest ? this.messagesTo(dest) : this.state.messages,
					requests: this.state.requests.filter((r) => !dest || r.dest === dest),
					violations: this.state.violations,
				},
			};
		}
		if (url.pathname === "/__fake/calls") {
			const name = url.searchParams.get("method");
			return { status: 200, body: { calls: name ? this.callsOf(name) : this.calls } };
		}
		if (url.pathname === "/__fake/admins" && method === "POST") {
			this.admins.set(String(body.chat_id), (body.user_ids as number[]) ?? []);
			return { status: 200, body: { ok: true } };
		}
		if (url.pathname === "/__fake/throttle" && method === "POST") {
			this.throttle(String(body.dest), Number(body.times), Number(body.retry_after));
			return { status: 200, body: { ok: true } };
		}
		return { status: 404, body: { error: "unknown control path" } };
	}

	private telegram(method: string, body: Record<string, unknown>): { status: number; body: unknown } {
		if (method === "getMe")
			return {
				status: 200,
				body: { ok: true, result: { id: 1, is_bot: true, first_name: "fake", username: "fake_bot" } },
			};
		if (method === "getChatAdministrators") {
			const ids = this.admins.get(String(body.chat_id)) ?? [];
			const user = (id: number) => ({ id, is_bot: false, first_name: `admin ${id}` });
			return {
				status: 200,
				body: {
					ok: true,
					result: ids.map((id) => ({ status: "administrator", user: user(id), can_be_edited: false })),
				},
			};
		}
		if (method !== "sendMessage" && method !== "editMessageText")
			return { status: 200, body: { ok: true, result: true } };
		const dest = `tg:${String(body.chat_id)}`;
		const text = String(body.text ?? "");
		const refused = this.gate(dest, method, text);
		if (refused)
			return {
				status: 429,
				body: {
					ok: false,
					error_code: 429,
					description: `Too Many Requests: retry after ${refused}`,
					parameters: { retry_after: refused },
				},
			};
		if (method === "sendMessage") {
			const m = this.record(dest, text);
			return {
				status: 200,
				body: {
					ok: true,
					result: {
						message_id: m.message_id,
						date: Math.floor(m.sent_at / 1000),
						chat: { id: body.chat_id, type: "private" },
						text,
					},
				},
			};
		}
		const m = this.state.messages.find((x) => x.dest === dest && x.message_id === Number(body.message_id));
		if (!m)
			return {
				status: 400,
				body: { ok: false, error_code: 400, description: "Bad Request: message to edit not found" },
			};
		if (m.text === text)
			return { status: 400, body: { ok: false, error_code: 400, description: "Bad Request: message is not modified" } };
		this.edit(m, text);
		return { status: 200, body: { ok: true, result: { message_id: m.message_id, text } } };
	}

	private discord(
		dest: string,
		method: string,
		messageId: number | null,
		body: Record<string, unknown>,
	): { status: number; body: unknown } {
		const text = String(body.content ?? "");
		const refused = this.gate(dest, messageId === null ? "discordExecute" : "discordEdit", text);
		if (refused)
			return { status: 429, body: { message: "You are being rate limited.", retry_after: refused, global: false } };
		if (messageId === null && method === "POST") {
			const m = this.record(dest, text);
			return { status: 200, body: { id: String(m.message_id), content: text } };
		}
		const m = this.state.messages.find((x) => x.dest === dest && x.message_id === messageId);
		if (!m || method !== "PATCH") return { status: 404, body: { message: "Unknown Message", code: 10008 } };
		this.edit(m, text);
		return { status: 200, body: { id: String(m.message_id), content: text } };
	}

	/** Checks limits and throttles; returns a retry_after (s) to answer 429 with, or 0 to accept. */
	private gate(dest: string, method: FakeRequest["method"], text: string): number {
		const now = Date.now();
		const blocked = this.blockedUntil.get(dest) ?? 0;
		if (now < blocked) this.state.violations.push(`${dest}: request ${blocked - now} ms before retry_after ended`);
		const gap = dest.startsWith("dc:") ? LIMITS.discordGapMs : LIMITS.perChatGapMs;
		const last = this.lastAt.get(dest);
		if (last !== undefined && now - last < gap)
			this.state.violations.push(`${dest}: two requests ${now - last} ms apart`);
		this.recent = this.recent.filter((t) => now - t < 1000);
		if (dest.startsWith("tg:") && this.recent.length >= LIMITS.globalPerSecond)
			this.state.violations.push(`more than ${LIMITS.globalPerSecond} requests in one second`);
		this.lastAt.set(dest, now);
		if (dest.startsWith("tg:")) this.recent.push(now);
		const t = this.throttles.get(dest) ?? this.throttles.get("*");
		if (t && t.times > 0) {
			t.times--;
			this.blockedUntil.set(dest, now + t.retryAfterS * 1000);
			this.state.requests.push({ dest, method, at: now, status: 429, text });
			return t.retryAfterS;
		}
		this.state.requests.push({ dest, method, at: now, status: 200, text });
		return 0;
	}

	private record(dest: string, text: string): FakeMessage {
		const m: FakeMessage = {
			dest,
			message_id: this.nextId++,
			text,
			versions: [text],
			sent_at: Date.now(),
			edited_at: null,
		};
		this.state.messages.push(m);
		return m;
	}

	private edit(m: FakeMessage, text: string): void {
		m.text = text;
		m.versions.push(text);
		m.edited_at = Date.now();
	}
}

export interface FakeBotApiServer {
	url: string;
	fake: FakeBotApi;
	close(): Promise<void>;
}

/** Serves a FakeBotApi on 127.0.0.1 (a free port unless given); `unref` lets the process exit while it runs. */
export async function startFakeBotApi(
	o: { port?: number; unref?: boolean; fake?: FakeBotApi } = {},
): Promise<FakeBotApiServer> {
	const fake = o.fake ?? new FakeBotApi();
	const server: Server = createServer((req, res) => void serve(fake, req, res));
	await new Promise<void>((resolve) => server.listen(o.port ?? 0, "127.0.0.1", resolve));
	if (o.unref) server.unref();
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		fake,
		close: () =>
			new Promise((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

async function serve(fake: FakeBotApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	const raw = Buffer.concat(chunks).toString("utf8");
	let body: Record<string, unknown> = {};
	try {
		body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
	} catch {
		body = Object.fromEntries(new URLSearchParams(raw));
	}
	const out = await fake.handle(req.method ?? "GET", req.url ?? "/", body);
	res.writeHead(out.status, { "content-type": "application/json" });
	res.end(JSON.stringify(out.body));
}
