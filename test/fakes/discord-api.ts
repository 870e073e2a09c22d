// A local fake of the Discord REST API the bot calls (channel posts, interaction follow-ups, command registration),
// failing on cue.
import { generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DiscordFakeState, Fault } from "./discord-api-types.ts";

export type { DiscordFakeState, Fault };

type Answer = { status: number; body: unknown };

export class FakeDiscordApi {
	readonly state: DiscordFakeState = { posts: [], edits: [], registrations: [], refused: [], dm_channels: [] };
	private faults: Fault[] = [];
	private nextId = 1_000_000_000_000_000n;

	constructor(private readonly botToken: string) {}

	fail(f: Fault): void {
		this.faults.push({ ...f });
	}

	/** Answers a request, or returns null for a path this fake does not own (so it can sit beside another fake). */
	handle(method: string, rawPath: string, authorization: string | null, body: Record<string, unknown>): Answer | null {
		const url = new URL(rawPath, "http://fake");
		const path = url.pathname.replace(/^\/api\/v\d+/, "");
		if (path === "/__discord/state") return { status: 200, body: this.state };
		if (path === "/__discord/fault" && method === "POST") {
			this.fail(body as unknown as Fault);
			return { status: 200, body: { ok: true } };
		}
		if (path === "/users/@me/channels" && method === "POST") return this.openDm(authorization, body);
		const post = /^\/channels\/(\d+)\/messages$/.exec(path);
		if (post && method === "POST") return this.post(post[1] as string, authorization, body, path);
		const edit = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/.exec(path);
		if (edit && method === "PATCH")
			return this.edit(edit[1] as string, decodeURIComponent(edit[2] as string), body, path);
		const reg = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path);
		if (reg && method === "PUT") return this.register(reg[1] as string, reg[2] ?? null, authorization, body, path);
		return null;
	}

	private fault(key: string, path: string, content: string): Answer | null {
		const f = this.faults.find((x) => x.times > 0 && key.includes(x.contains));
		if (!f) return null;
		f.times--;
		this.state.refused.push({ path, status: f.status, content });
		return f.status === 429
			? {
					status: 429,
					body: { message: "You are being rate limited.", retry_after: f.retry_after ?? 1, global: false },
				}
			: { status: f.status, body: { message: "Service Unavailable", code: 0 } };
	}

	private post(channelId: string, authorization: string | null, body: Record<string, unknown>, path: string): Answer {
		if (authorization !== `Bot ${this.botToken}`)
			return { status: 401, body: { message: "401: Unauthorized", code: 0 } };
		const content = String(body.content ?? "");
		const refused = this.fault(content, path, content);
		if (refused) return refused;
		if (content.length === 0 || content.length > 2000)
			return { status: 400, body: { message: "Invalid Form Body", code: 50035 } };
		const nonce = typeof body.nonce === "string" ? body.nonce : null;
		// As Discord does: with enforce_nonce, a repeated nonce returns the first message instead of posting again.
		const earlier =
			body.enforce_nonce === true && nonce
				? this.state.posts.find((p) => p.channel_id === channelId && p.nonce === nonce)
				: undefined;
		if (earlier) return { status: 200, body: { id: earlier.id, channel_id: channelId, content: earlier.content } };
		const message = {
			id: String(this.nextId++),
			channel_id: channelId,
			authorization,
			content,
			nonce,
			enforce_nonce: body.enforce_nonce === true,
			allowed_mentions: body.allowed_mentions,
		};
		this.state.posts.push(message);
		return { status: 200, body: { id: message.id, channel_id: channelId, content } };
	}

	/** As Discord does: the bot's DM channel with a user, the same channel every time. */
	private openDm(authorization: string | null, body: Record<string, unknown>): Answer {
		if (authorization !== `Bot ${this.botToken}`)
			return { status: 401, body: { message: "401: Unauthorized", code: 0 } };
		const recipient = typeof body.recipient_id === "string" ? body.recipient_id : "";
		if (!/^\d+$/.test(recipient)) return { status: 400, body: { message: "Invalid Form Body", code: 50035 } };
		let dm = this.state.dm_channels.find((d) => d.recipient_id === recipient);
		if (!dm) {
			dm = { recipient_id: recipient, channel_id: String(this.nextId++) };
			this.state.dm_channels.push(dm);
		}
		return { status: 200, body: { id: dm.channel_id, type: 1, recipients: [{ id: recipient }] } };
	}

	private edit(applicationId: string, token: string, body: Record<string, unknown>, path: string): Answer {
		const content = String(body.content ?? "");
		const refused = this.fault(token, path, content);
		if (refused) return refused;
		if (content.length > 2000) return { status: 400, body: { message: "Invalid Form Body", code: 50035 } };
		this.state.edits.push({ application_id: applicationId, token, content, allowed_mentions: body.allowed_mentions });
		return { status: 200, body: { id: String(this.nextId++), content } };
	}

	private register(
		applicationId: string,
		guildId: string | null,
		authorization: string | null,
		body: unknown,
		path: string,
	): Answer {
		if (authorization !== `Bot ${this.botToken}`)
			return { status: 401, body: { message: "401: Unauthorized", code: 0 } };
		if (!Array.isArray(body)) return { status: 400, body: { message: "Invalid Form Body", code: 50035 } };
		this.state.registrations.push({ application_id: applicationId, guild_id: guildId, authorization, commands: body });
		void path;
		return {
			status: 200,
			body: body.map((c, i) => ({ id: String(i + 1), application_id: applicationId, ...(c as object) })),
		};
	}
}

export interface FakeDiscordServer {
	url: string;
	fake: FakeDiscordApi;
	close(): Promise<void>;
}

/** Serves a FakeDiscordApi on 127.0.0.1; `unref` lets the process exit while it runs (the vitest config's fake). */
export async function startFakeDiscordApi(o: { botToken: string; unref?: boolean }): Promise<FakeDiscordServer> {
	const fake = new FakeDiscordApi(o.botToken);
	const server = createServer((req, res) => void serve(fake, req, res));
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	if (o.unref) server.unref();
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		fake,
		close: () =>
			new Promise((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}

async function serve(fake: FakeDiscordApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	let body: Record<string, unknown> = {};
	try {
		const raw = Buffer.concat(chunks).toString("utf8");
		body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
	} catch {
		/* answered as an empty body */
	}
	const auth = req.headers.authorization ?? null;
	const out = fake.handle(req.method ?? "GET", req.url ?? "/", auth, body) ?? {
		status: 404,
		body: { message: "404: Not Found", code: 0 },
	};
	res.writeHead(out.status, { "content-type": "application/json" });
	res.end(JSON.stringify(out.body));
}

/**
 * A fresh Ed25519 key for signing test interactions: the public key as Discord shows it (hex), the private key as a
 * JWK.
 */
export function discordTestKey(): { publicKeyHex: string; privateJwk: string } {
	const { publicKey, privateKey } = generateKeyPairSync("ed25519");
	const x = publicKey.export({ format: "jwk" }).x as string;
	return {
		publicKeyHex: Buffer.from(x, "base64url").toString("hex"),
		privateJwk: JSON.stringify(privateKey.export({ format: "jwk" })),
	};
}
