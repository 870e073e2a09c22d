// The Discord bot end to end: `npm run discord:register` against a fake Discord, and a really started coordinator
// answering signed interactions.
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { registrationPayload } from "../../bots/discord/commands.ts";
import { DISCORD_TEST } from "../discord-constants.ts";
import { startFakeDiscordApi, type FakeDiscordServer } from "../fakes/discord-api.ts";
import { api, coordinator, newAccount, until, type Coordinator } from "./support.ts";

const SCRIPT = new URL("../../bots/discord/register.ts", import.meta.url).pathname;
let fake: FakeDiscordServer;

beforeAll(async () => {
	fake = await startFakeDiscordApi({ botToken: DISCORD_TEST.botToken });
});
afterAll(async () => {
	await fake.close();
});

/** Runs the script as npm would; asynchronously, since the fake Discord it calls lives in this process. */
function register(
	args: string[],
	env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
	const cwd = mkdtempSync(join(tmpdir(), "pulsegrid-register-")); // no .dev.vars here: only what the test passes counts
	const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DISCORD_")));
	const child = spawn(process.execPath, [SCRIPT, ...args], { cwd, env: { ...clean, ...env } });
	let stdout = "";
	let stderr = "";
	child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
	child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
	return new Promise((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })));
}

describe("npm run discord:register", () => {
	const env = () => ({
		DISCORD_BOT_TOKEN: DISCORD_TEST.botToken,
		DISCORD_APPLICATION_ID: DISCORD_TEST.applicationId,
		DISCORD_API_ROOT: fake.url,
	});

	it("replaces one server's commands with the handler's metadata when given --guild", async () => {
		const r = await register(["--guild", "555555555555555555"], env());
		expect(r.stderr).toBe("");
		expect(r.status).toBe(0);
		expect(r.stdout).toContain(`Registered ${registrationPayload().length} commands in server 555555555555555555`);
		const reg = fake.fake.state.registrations.at(-1);
		expect(reg).toMatchObject({
			application_id: DISCORD_TEST.applicationId,
			guild_id: "555555555555555555",
			authorization: `Bot ${DISCORD_TEST.botToken}`,
		});
		expect(reg?.commands).toEqual(JSON.parse(JSON.stringify(registrationPayload())));
	});

	it("registers globally without --guild", async () => {
		const r = await register([], env());
		expect(r.status).toBe(0);
		expect(fake.fake.state.registrations.at(-1)?.guild_id).toBeNull();
	});

	it("stops with a clear message and sends nothing when the token is missing", async () => {
		const before = fake.fake.state.registrations.length;
		const r = await register(["--guild", "555555555555555555"], {
			DISCORD_APPLICATION_ID: DISCORD_TEST.applicationId,
			DISCORD_API_ROOT: fake.url,
		});
		expect(r.status).toBe(2);
		expect(r.stderr).toContain("DISCORD_BOT_TOKEN is not set");
		expect(r.stderr).toContain("nothing was sent");
		expect(fake.fake.state.registrations.length).toBe(before);
	});

	it("reports Discord's refusal of a wrong token and exits non-zero", async () => {
		const r = await register([], { ...env(), DISCORD_BOT_TOKEN: "wrong" });
		expect(r.status).toBe(1);
		expect(r.stderr).toContain("Discord answered 401");
	});

	it("prints the payload without any network call on --dry-run", async () => {
		const r = await register(["--dry-run"], {});
		expect(r.status).toBe(0);
		expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(registrationPayload())));
	});
});

describe("a started coordinator and Discord", () => {
	let c: Coordinator | undefined;
	let key: KeyObject;

	afterEach(async () => {
		await c?.stop();
		c = undefined;
	});

	async function interaction(
		payload: Record<string, unknown>,
	): Promise<{ status: number; body: { type: number; data?: { content?: string; flags?: number } } }> {
		const body = JSON.stringify(payload);
		const timestamp = String(Math.floor(Date.now() / 1000));
		const signature = sign(null, Buffer.from(timestamp + body), key).toString("hex");
		const res = await fetch(`${(c as Coordinator).url}/discord/interactions`, {
			method: "POST",
			headers: {
				"content-type": "application/json",
				"x-signature-ed25519": signature,
				"x-signature-timestamp": timestamp,
			},
			body,
		});
		return {
			status: res.status,
			body: (await res.json()) as { type: number; data?: { content?: string; flags?: number } },
		};
	}

	let interactionId = 1;
	// Each interaction has its own id: the coordinator refuses a second one with the same id as a replay.
	const command = (user: string, name: string, options: unknown[], token: string) => ({
		id: String(interactionId++),
		application_id: DISCORD_TEST.applicationId,
		type: 2,
		token,
		version: 1,
		guild_id: "600000000000000001",
		member: { user: { id: user, username: "e2e-miner" }, roles: [] },
		data: { id: "2", name, type: 1, options },
	});

	it(
		"links a user, opens a ticket from Discord, " + "completes the deferred answer and tells the staff channel",
		async () => {
			const pair = generateKeyPairSync("ed25519");
			key = pair.privateKey;
			const publicKeyHex = Buffer.from(pair.publicKey.export({ format: "jwk" }).x as string, "base64url").toString(
				"hex",
			);
			c = await coordinator({
				vars: {
					DISCORD_PUBLIC_KEY: publicKeyHex,
					DISCORD_API_ROOT: fake.url,
					DISCORD_BOT_TOKEN: DISCORD_TEST.botToken,
					DISCORD_APPLICATION_ID: DISCORD_TEST.applicationId,
					DISCORD_STAFF_CHANNEL_ID: DISCORD_TEST.staffChannelId,
				},
			});
			expect(
				(await interaction({ id: "1", application_id: DISCORD_TEST.applicationId, type: 1, token: "t", version: 1 }))
					.body,
			).toEqual({ type: 1 });
			const unsigned = await fetch(`${c.url}/discord/interactions`, { method: "POST", body: "{}" });
			expect(unsigned.status).toBe(401);

			const apiKey = await newAccount(c, "e2e-operator");
			const { body: link } = await api<{ code: string }>(c, "/v1/links", { method: "POST", auth: apiKey });
			const linked = await interaction(
				command("424242424242424242", "link", [{ name: "code", type: 3, value: link.code }], "tok-link"),
			);
			expect(linked.body.data?.content).toContain("linked to **e2e\\-operator**");
			expect(linked.body.data?.flags).toBe(64);

			const opened = await interaction(
				command(
					"424242424242424242",
					"ticket",
					[
						{
							name: "open",
							type: 1,
							options: [
								{ name: "subject", type: 3, value: "E2E rig offline" },
								{ name: "body", type: 3, value: "since the storm" },
							],
						},
					],
					"tok-e2e-open",
				),
			);
			expect(opened.body).toEqual({ type: 5, data: { flags: 64 } });
			await until("the follow-up", async () => fake.fake.state.edits.some((e) => e.token === "tok-e2e-open"));
			const edit = fake.fake.state.edits.find((e) => e.token === "tok-e2e-open");
			const id = /tkt_[A-Za-z0-9_-]+/.exec(edit?.content ?? "")?.[0] as string;
			expect(edit?.content).toContain("Opened");
			await until("the staff post", async () => fake.fake.state.posts.some((p) => p.content.includes(id)));
			expect(fake.fake.state.posts.find((p) => p.content.includes(id))?.content).toContain(
				"**Subject:** E2E rig offline",
			);

			const { body: mine } = await api<{ tickets: { id: string; opened_via: string }[] }>(c, "/v1/tickets", {
				auth: apiKey,
			});
			expect(mine.tickets).toEqual([expect.objectContaining({ id, opened_via: "discord" })]);
		},
	);
});
