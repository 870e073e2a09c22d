// Discord test helpers: interactions really signed with the test Ed25519 key, and what the local fake Discord API
// received.
import { env } from "cloudflare:workers";
import { InteractionResponseType, InteractionType } from "discord-interactions";
import type { ChannelPost, DiscordFakeState, Fault, OriginalEdit } from "../fakes/discord-api-types.ts";
import { DISCORD_TEST } from "../discord-constants.ts";
import { call, callJson, eventually } from "./helpers.ts";

export { DISCORD_TEST };

const E = env as unknown as { TEST_DISCORD_SIGNING_JWK: string; FAKE_DISCORD_API: string };

let signing: Promise<CryptoKey> | undefined;
function signingKey(): Promise<CryptoKey> {
	signing ??= crypto.subtle.importKey(
		"jwk",
		JSON.parse(E.TEST_DISCORD_SIGNING_JWK) as JsonWebKey,
		{ name: "Ed25519" },
		false,
		["sign"],
	);
	return signing;
}

function hex(buf: ArrayBuffer): string {
	return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface SignOptions {
	/** Unix seconds, as Discord sends it; default now. */
	timestamp?: string;
	/** Another key (a forger's); default the application's test key. */
	key?: CryptoKey;
	/** Sign this instead of the body that is sent (a tampered body). */
	signed?: string;
	headers?: Record<string, string>;
}

/** POSTs `body` to /discord/interactions with Discord's signature headers: Ed25519 over timestamp + body. */
export async function signedPost(body: string, o: SignOptions = {}): Promise<Response> {
	const timestamp = o.timestamp ?? String(Math.floor(Date.now() / 1000));
	const signature = await crypto.subtle.sign(
		"Ed25519",
		o.key ?? (await signingKey()),
		new TextEncoder().encode(timestamp + (o.signed ?? body)),
	);
	return call("/discord/interactions", {
		rawBody: body,
		headers: {
			"content-type": "application/json",
			"x-signature-ed25519": hex(signature),
			"x-signature-timestamp": timestamp,
			...o.headers,
		},
	});
}

let counter = 0;
/** A Discord-looking id no other test uses (files run in parallel against one fake). */
export function snowflake(): string {
	counter++;
	return (
		`${1 + Math.floor(Math.random() * 8)}` +
		`${String(Math.floor(Math.random() * 1e12)).padStart(12, "0")}${String(counter).padStart(5, "0")}`
	);
}

export interface DiscordUser {
	id: string;
	username: string;
	/** Roles in the server; absent in a DM with the bot. */
	roles?: string[];
}

export function discordUser(username = "miner", roles?: string[]): DiscordUser {
	return { id: snowflake(), username, ...(roles ? { roles } : {}) };
}

export const staffByRole = () => discordUser("mod", [snowflake(), DISCORD_TEST.staffRoleId]);

export interface Option {
	name: string;
	type: number;
	value?: string | number;
	options?: Option[];
}
export const opt = (name: string, value: string | number): Option => ({
	name,
	type: typeof value === "number" ? 4 : 3,
	value,
});
export const sub = (name: string, ...options: Option[]): Option => ({ name, type: 1, options });

/** A slash-command interaction as Discord sends it: in a server (member + roles) or, without roles, in a DM (user). */
export function commandPayload(user: DiscordUser, name: string, options: Option[] = [], token = `tok-${snowflake()}`) {
	const who = user.roles
		? {
				guild_id: "600000000000000001",
				member: { user: { id: user.id, username: user.username }, roles: user.roles, permissions: "0" },
			}
		: { user: { id: user.id, username: user.username } };
	return {
		id: snowflake(),
		application_id: DISCORD_TEST.applicationId,
		type: InteractionType.APPLICATION_COMMAND,
		token,
		version: 1,
		data: { id: snowflake(), name, type: 1, ...(options.length ? { options } : {}) },
		...who,
		locale: "en-US",
		app_permissions: "0",
	};
}

export interface Answer {
	status: number;
	type: number;
	flags: number;
	content: string;
	token: string;
	/** The immediate answer's allowed_mentions, or the follow-up's. */
	allowedMentions: unknown;
}

/**
 * Runs a command as `user` and returns what Discord would show: the immediate answer, or the follow-up that replaced
 * "thinking…".
 */
export async function slash(user: DiscordUser, name: string, options: Option[] = []): Promise<Answer> {
	const payload = commandPayload(user, name, options);
	const res = await signedPost(JSON.stringify(payload));
	const body = (await res.json()) as {
		type: number;
		data?: { content?: string; flags?: number; allowed_mentions?: unknown };
	};
	const base = { status: res.status, type: body.type, flags: body.data?.flags ?? 0, token: payload.token };
	if (body.type !== InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE) {
		return { ...base, content: body.data?.content ?? "", allowedMentions: body.data?.allowed_mentions };
	}
	const edit = await followUpOf(payload.token);
	return { ...base, content: edit.content, allowedMentions: edit.allowed_mentions };
}

export async function fakeState(): Promise<DiscordFakeState> {
	return (await fetch(`${E.FAKE_DISCORD_API}/__discord/state`)).json();
}

/** The follow-up edit for an interaction token, waiting (bounded) for it to arrive. */
export async function followUpOf(token: string): Promise<OriginalEdit> {
	return (await eventually(async () => (await fakeState()).edits.find((e) => e.token === token))) as OriginalEdit;
}

/** Staff-channel posts whose content contains `text` (a ticket id), waiting (bounded) until at least `n` arrived. */
export async function staffPosts(text: string, n = 1): Promise<ChannelPost[]> {
	return (await eventually(async () => {
		const posts = (await fakeState()).posts.filter((p) => p.content.includes(text));
		return posts.length >= n ? posts : null;
	})) as ChannelPost[];
}

export async function fault(f: Fault): Promise<void> {
	await fetch(`${E.FAKE_DISCORD_API}/__discord/fault`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify(f),
	});
}

/** Links a fresh Discord user to the account, as a miner would: POST /v1/links, then /link code:… */
export async function linkedUser(account: { key: string }, username = "miner", roles?: string[]): Promise<DiscordUser> {
	const user = discordUser(username, roles);
	const { body } = await callJson<{ code: string }>("/v1/links", { method: "POST", auth: account.key });
	const answer = await slash(user, "link", [opt("code", body.code)]);
	if (!answer.content.startsWith("✅")) throw new Error(`link failed: ${answer.content}`);
	return user;
}
