// /link, /unlink, /help and /alerts: tying a Discord user to an account with the shared one-time codes, and what the bot can do.
import { operatorAlerts, settingsView, telegramChatsOf } from "../../workers/services/alerts.ts";
import { linkedAccount, redeemLinkCode, unlink } from "../../workers/services/links.ts";
import { helpText } from "./commands.ts";
import { NOT_LINKED, needAccount, text, type CommandContext } from "./context.ts";

const REDEEM_FAILED = {
	unknown: "❌ That code is not valid. Create a new one with `POST /v1/links` and run `/link code:<code>`.",
	expired: "⌛ That code has expired (codes last 10 minutes). Create a new one with `POST /v1/links`.",
	used: "❌ That code has already been used. Create a new one with `POST /v1/links`.",
} as const;

export async function linkCommand(c: CommandContext): Promise<string> {
	const r = await redeemLinkCode(c.env.DB, text(c, "code") as string, "discord", c.user.id, c.now);
	if (!r.ok) return REDEEM_FAILED[r.reason];
	const account = await linkedAccount(c.env.DB, "discord", c.user.id);
	const before = c.account && c.account.id !== r.accountId ? ` (it was linked to ${c.account.name} before)` : "";
	return `✅ Your Discord user is now linked to **${account?.name ?? r.accountId}**${before}. Try \`/status\`, \`/points\` or \`/ticket open\`.`;
}

export async function unlinkCommand(c: CommandContext): Promise<string> {
	return (await unlink(c.env.DB, "discord", c.user.id))
		? "Unlinked: this Discord user no longer speaks for your account. Link again any time with `/link code:<code>`."
		: NOT_LINKED;
}

export async function helpCommand(c: CommandContext): Promise<string> {
	const who = c.account ? `You are linked to **${c.account.name}**.` : NOT_LINKED;
	return [helpText(), "", who, ...(c.staff ? ["You are staff here: `/ticket list|view|reply|close` work on every ticket."] : [])].join("\n");
}

/**
 * Where this account's alerts go, through the same service as `GET|PATCH /v1/alerts/settings`: `/alerts` shows it,
 * `/alerts webhook:<url>` points alerts at a Discord channel webhook. The URL is a secret: it is stored, never echoed.
 */
export async function alertsCommand(c: CommandContext): Promise<string> {
	const account = needAccount(c);
	const webhook = text(c, "webhook");
	const alerts = operatorAlerts(c.env, account.id);
	if (webhook !== undefined) {
		const r = await alerts.updateSettings(account.id, { discord_webhook_url: webhook });
		if (!r.ok) return `❌ ${r.reason}`;
	}
	const v = settingsView(await alerts.snapshot(account.id), (await telegramChatsOf(c.env.DB, account.id)).length, c.now);
	return [
		webhook !== undefined ? "✅ Alerts now also go to that Discord channel webhook. Keep its URL private: anyone holding it can post there." : "🔔 **Where your alerts go**",
		`Node alerts: **${v.alerts ? "on" : "off"}** · daily digest: **${v.digest ? `on, ${v.digest_hour_utc}:00 UTC` : "off"}**`,
		`Discord webhook: ${v.discord_webhook ?? "none (set one with `/alerts webhook:<url>`)"} · Telegram chats linked: ${v.telegram_chats}`,
		...v.mutes.map((m) => `Muted: ${m.target} until ${m.until}`),
	].join("\n");
}
