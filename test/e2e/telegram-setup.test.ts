// `npm run telegram:setup` against the fake Bot API: the webhook with its secret, and the menu from the handler's own
// metadata.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS, menuPayload } from "../../bots/telegram/commands.ts";
import { startFakeBotApi, type FakeBotApiServer } from "../fakes/bot-api.ts";

const SCRIPT = new URL("../../bots/telegram/setup.ts", import.meta.url).pathname;
const TOKEN = "5151:setup-test-token";
const SECRET = "setup-test-secret_0123456789";
let fake: FakeBotApiServer;

beforeAll(async () => {
	fake = await startFakeBotApi();
});
afterAll(async () => {
	await fake.close();
});

const run = promisify(execFile);

/**
 * Runs the script as npm would, in a fresh directory (with a .dev.vars only when given); asynchronously, since the fake
 * lives in this process.
 */
async function setup(
	args: string[],
	env: Record<string, string>,
	devVars?: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
	const cwd = mkdtempSync(join(tmpdir(), "pulsegrid-telegram-setup-"));
	if (devVars !== undefined) writeFileSync(join(cwd, ".dev.vars"), devVars);
	const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TELEGRAM_")));
	try {
		return { status: 0, ...(await run(process.execPath, [SCRIPT, ...args], { cwd, env: { ...inherited, ...env } })) };
	} catch (err) {
		const failed = err as { code?: number | string; stdout?: string; stderr?: string };
		return {
			status: typeof failed.code === "number" ? failed.code : null,
			stdout: failed.stdout ?? "",
			stderr: failed.stderr ?? "",
		};
	}
}

const callsWith = (method: string, token: string) => fake.fake.callsOf(method).filter((c) => c.token === token);

describe("npm run telegram:setup", () => {
	const env = () => ({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_SECRET: SECRET, TELEGRAM_API_ROOT: fake.url });

	it(
		"sets the webhook at <url>/telegram/webhook with the secret token, " + "then the menu from the handler's commands",
		async () => {
			const r = await setup(["--url", "https://pulsegrid.example.workers.dev"], env());
			expect(r.stderr).toBe("");
			expect(r.status).toBe(0);
			expect(r.stdout).toContain("Webhook set to https://pulsegrid.example.workers.dev/telegram/webhook");
			const [hook] = callsWith("setWebhook", TOKEN);
			expect(hook?.body).toEqual({
				url: "https://pulsegrid.example.workers.dev/telegram/webhook",
				secret_token: SECRET,
				allowed_updates: ["message"],
			});
			const [menu] = callsWith("setMyCommands", TOKEN);
			expect(menu?.body).toEqual({ commands: menuPayload() });
			expect((menu?.body.commands as { command: string }[]).map((c) => c.command)).toEqual(
				COMMANDS.map((c) => c.command),
			);
			expect(fake.fake.calls.findIndex((c) => c === hook)).toBeLessThan(fake.fake.calls.findIndex((c) => c === menu));
		},
	);

	it(
		"reads the token and secret from ./.dev.vars when the environment has none, " +
			"and keeps a --url with a path as given",
		async () => {
			const token = "5252:from-dev-vars";
			const r = await setup(
				["--url", "https://tunnel.example/telegram/webhook"],
				{ TELEGRAM_API_ROOT: fake.url },
				`TELEGRAM_BOT_TOKEN=${token}\nTELEGRAM_WEBHOOK_SECRET=${SECRET}\n`,
			);
			expect(r.status).toBe(0);
			expect(callsWith("setWebhook", token)[0]?.body).toMatchObject({
				url: "https://tunnel.example/telegram/webhook",
				secret_token: SECRET,
			});
			expect(callsWith("setMyCommands", token)).toHaveLength(1);
		},
	);

	it(
		"stops with a clear message and sends nothing when the " +
			"token or the secret is missing, or the URL is not https",
		async () => {
			const before = fake.fake.calls.length;
			const noToken = await setup(["--url", "https://x.example"], {
				TELEGRAM_WEBHOOK_SECRET: SECRET,
				TELEGRAM_API_ROOT: fake.url,
			});
			expect(noToken.status).toBe(2);
			expect(noToken.stderr).toContain("TELEGRAM_BOT_TOKEN is not set");
			const noSecret = await setup(["--url", "https://x.example"], {
				TELEGRAM_BOT_TOKEN: TOKEN,
				TELEGRAM_API_ROOT: fake.url,
			});
			expect(noSecret.status).toBe(2);
			expect(noSecret.stderr).toContain("TELEGRAM_WEBHOOK_SECRET is not set");
			const http = await setup(["--url", "http://x.example"], env());
			expect(http.status).toBe(2);
			expect(http.stderr).toContain("must be an https URL");
			const noUrl = await setup([], env());
			expect(noUrl.status).toBe(2);
			expect(noUrl.stderr).toContain("--url is required");
			for (const r of [noToken, noSecret, http, noUrl]) expect(r.stderr).toContain("nothing was sent");
			expect(fake.fake.calls.length).toBe(before);
		},
	);

	it("reports Telegram's refusal of a bad token and exits non-zero", async () => {
		const r = await setup(["--url", "https://x.example"], { ...env(), TELEGRAM_BOT_TOKEN: "not-a-token" });
		expect(r.status).toBe(1);
		expect(r.stderr).toContain("Telegram answered 401 to setWebhook");
		expect(callsWith("setMyCommands", "not-a-token")).toEqual([]);
	});

	it("prints both requests without any network call on --dry-run, never the secret", async () => {
		const before = fake.fake.calls.length;
		const r = await setup(["--url", "https://x.example", "--dry-run"], env());
		expect(r.status).toBe(0);
		const printed = JSON.parse(r.stdout) as {
			setWebhook: { url: string; secret_token: string };
			setMyCommands: { commands: unknown };
		};
		expect(printed.setWebhook).toMatchObject({
			url: "https://x.example/telegram/webhook",
			secret_token: "<TELEGRAM_WEBHOOK_SECRET>",
		});
		expect(printed.setMyCommands.commands).toEqual(menuPayload());
		expect(r.stdout).not.toContain(SECRET);
		expect(fake.fake.calls.length).toBe(before);
	});
});
