#!/usr/bin/env node
// `npm run discord:register [-- --guild ID] [--dry-run]`: registers the slash commands with Discord from the metadata
// the handler uses.
import { parseArgs } from "node:util";
import { failWith, reach, settings, type Fail } from "../cli.ts";
import { registrationPayload } from "./commands.ts";
import { DEFAULT_DISCORD_API_ROOT, readConfig } from "../../workers/config.ts";

const HELP = `Registers pulsegrid's Discord slash commands (bots/discord/commands.ts), replacing the registered set.

  npm run discord:register                    global commands (Discord may take up to an hour to show changes)
  npm run discord:register -- --guild <id>    one server's commands (at once: use this while developing)
  npm run discord:register -- --dry-run       print what would be sent; sends nothing

Reads DISCORD_BOT_TOKEN and DISCORD_APPLICATION_ID from the environment, else from ./.dev.vars;
DISCORD_API_ROOT (default ${DEFAULT_DISCORD_API_ROOT}) may point elsewhere.`;

const fail: Fail = failWith("discord:register");

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			guild: { type: "string" },
			"dry-run": { type: "boolean", default: false },
			help: { type: "boolean", short: "h", default: false },
		},
		strict: true,
	});
	if (values.help) return void console.log(HELP);
	if (values.guild !== undefined && !/^\d{5,25}$/.test(values.guild))
		fail(`--guild must be a server id (digits; right-click the server → Copy Server ID), not '${values.guild}'.`);
	const commands = registrationPayload();
	if (values["dry-run"]) return void console.log(JSON.stringify(commands, null, 2));

	const env = settings();
	const token = env.DISCORD_BOT_TOKEN?.trim();
	const appId = env.DISCORD_APPLICATION_ID?.trim();
	if (!token)
		fail(
			"DISCORD_BOT_TOKEN is not set (Developer Portal → your application → Bot → Reset Token). " +
				"Set it in the environment or .dev.vars; nothing was sent.",
		);
	if (!appId || !/^\d{5,25}$/.test(appId))
		fail(
			"DISCORD_APPLICATION_ID is not set or not an id " +
				"(Developer Portal → General Information → Application ID); nothing was sent.",
		);

	const where = values.guild ? `/guilds/${values.guild}` : "";
	const root = readConfig(env).discord.apiRoot;
	const url = `${root}/applications/${appId}${where}/commands`;
	const res = await reach(fail, root, url, {
		method: "PUT",
		headers: { authorization: `Bot ${token}`, "content-type": "application/json" },
		body: JSON.stringify(commands),
	});
	const text = await res.text();
	if (!res.ok)
		fail(
			`Discord answered ${res.status}: ${text.slice(0, 500)}${res.status === 401 ? " (is the bot token right?)" : ""}`,
			1,
		);
	const names = commands.map((c) => `/${String(c.name)}`).join(" ");
	console.log(
		`Registered ${commands.length} commands ` +
			`${values.guild ? `in server ${values.guild}` : "globally (may take up to an hour to appear)"}: ${names}`,
	);
}

await main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err), 1));
