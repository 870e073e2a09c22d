// /link, /unlink, /help and /alerts: tying a Discord user to an account with the shared one-time codes, and what the bot can do.
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
 * Alert delivery belongs to the alert pipeline (issue 6), which owns where alerts go; until it is merged this answers
 * honestly and stores nothing (a webhook URL is a secret, so it is never echoed either).
 */
export async function alertsCommand(c: CommandContext): Promise<string> {
	needAccount(c);
	const sent = text(c, "webhook") !== undefined;
	return [
		"🔔 **Alert delivery is not live on this coordinator yet**: it arrives with the alert pipeline.",
		"Once it lands, `/alerts webhook:<url>` will point your node alerts at that Discord channel webhook (the same setting as `PATCH /v1/alerts/settings`), and `/alerts` will show where they go.",
		sent ? "The URL you sent was **not stored**. A webhook URL is a secret: anyone holding it can post to your channel, so keep it out of public channels." : "",
	].filter(Boolean).join("\n");
}
