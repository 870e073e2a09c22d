// /link, /unlink, /help and /alerts: tying a Discord user to an account with the shared one-time codes, and what the
// bot can do.
import { alertSettings, changeAlertSettings, type SettingsView } from "../../workers/services/alerts.ts";
import { escapeDiscord as md } from "../../workers/domain/text.ts";
import { orRefusal } from "../shared/failure.ts";
import { linkWithCode, unlinkText } from "../shared/linking.ts";
import { helpText } from "./commands.ts";
import { DISCORD_LINKING, NOT_LINKED, needAccount, text, type CommandContext } from "./context.ts";

export async function linkCommand(c: CommandContext): Promise<string> {
	const r = await linkWithCode(c.env.DB, DISCORD_LINKING, c.user.id, text(c, "code") as string, c.now, c.user.id);
	const before = r.before ? ` (it was linked to ${md(r.before.name)} before)` : "";
	return (
		`✅ Your Discord user is now linked to **${md(r.account.name)}**${before}. ` +
		`Try \`/status\`, \`/points\` or \`/ticket open\`.`
	);
}

export async function unlinkCommand(c: CommandContext): Promise<string> {
	return unlinkText(c.env.DB, DISCORD_LINKING, c.user.id);
}

export async function helpCommand(c: CommandContext): Promise<string> {
	const who = c.account ? `You are linked to **${md(c.account.name)}**.` : NOT_LINKED;
	return [
		helpText(),
		"",
		who,
		...(c.staff ? ["You are staff here: `/ticket list|view|reply|close` work on every ticket."] : []),
	].join("\n");
}

/**
 * Where this account's alerts go, through the same service as `GET|PATCH /v1/alerts/settings`: `/alerts` shows it,
 * `/alerts webhook:<url>` points alerts at a Discord channel webhook. The URL is a secret: it is stored, never echoed.
 */
export async function alertsCommand(c: CommandContext): Promise<string> {
	const account = needAccount(c);
	const webhook = text(c, "webhook");
	if (webhook === undefined)
		return settingsText("🔔 **Where your alerts go**", await alertSettings(c.env, account.id, c.now));
	return orRefusal(
		async () => {
			const settings = await changeAlertSettings(c.env, account.id, { discord_webhook_url: webhook }, c.now);
			const head =
				"✅ Alerts now also go to that Discord channel webhook. Keep its URL private: anyone holding it can post there.";
			return settingsText(head, settings);
		},
		(message) => `❌ ${message}`,
	);
}

function settingsText(head: string, v: SettingsView): string {
	return [
		head,
		`Node alerts: **${v.alerts ? "on" : "off"}** · daily digest: ` +
			`**${v.digest ? `on, ${v.digest_hour_utc}:00 UTC` : "off"}**`,
		`Discord webhook: ${v.discord_webhook ? md(v.discord_webhook) : "none (set one with `/alerts webhook:<url>`)"} · ` +
			`Telegram chats linked: ${v.telegram_chats}`,
		...v.mutes.map((m) => `Muted: ${md(m.target)} until ${m.until}`),
	].join("\n");
}
