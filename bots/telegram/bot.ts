// The Telegram bot (grammY): built per update with `botInfo` preset, so nothing calls Telegram at cold start; replies
// go to TELEGRAM_API_ROOT.
import { Bot, type Context } from "grammy";
import type { UserFromGetMe } from "grammy/types";
import { readConfig } from "../../workers/config.ts";
import type { Account } from "../../workers/db/accounts.ts";
import { chatLink, linkedAccount } from "../../workers/db/links.ts";
import { oneLine } from "../../workers/domain/text.ts";
import type { Background } from "../../workers/services/tickets.ts";
import { failureAnswer, orRefusal } from "../shared/failure.ts";
import { linkWithCode, notLinkedText, unlinkText, type LinkSurface } from "../shared/linking.ts";
import { COMMANDS, helpText } from "./commands.ts";
import {
	alertsCommand,
	maintenanceCommand,
	muteCommand,
	nodesText,
	pointsText,
	statusText,
	unmuteCommand,
} from "./handlers.ts";
import { ticketChanges, ticketCommand } from "./tickets.ts";

/** What getMe would answer, from configuration: the bot id is the token's first part. */
export function botInfo(env: Env): UserFromGetMe {
	return {
		id: Number(env.TELEGRAM_BOT_TOKEN.split(":")[0]) || 0,
		is_bot: true,
		first_name: "pulsegrid",
		username: readConfig(env).telegram.botUsername,
		can_join_groups: true,
		can_read_all_group_messages: false,
		supports_inline_queries: false,
		can_connect_to_business: false,
		has_main_web_app: false,
		has_topics_enabled: false,
		allows_users_to_create_topics: false,
		can_manage_bots: false,
		supports_join_request_queries: false,
	};
}

/**
 * How linking reads in Telegram: plain text. Every message is sent without a parse mode, so Telegram parses no markup
 * in it (`<b>`, `*`, `[x](y)` show as typed); user text only needs keeping on its line (`oneLine`).
 */
const TELEGRAM_LINKING: LinkSurface = {
	kind: "telegram",
	subject: "This chat",
	redeem: "send /start CODE here",
	unlinked: "No more alerts here, and this chat no longer speaks for your account.",
	code: (t) => t,
	bold: (t) => t,
};
const NOT_LINKED = notLinkedText(TELEGRAM_LINKING);

export const NOT_YOURS_TO_CHANGE =
	"🔒 In a group, only the member who linked this chat, or a group admin, can change anything. " +
	"Anyone here can read: /status, /nodes, /points, /alerts, /ticket list and /ticket view.";

/**
 * Whether the sender may change something for the account this chat is linked to (or the link itself). In a private
 * chat the sender is the chat. In a group: the member who linked it (`linkedBy`), a group administrator (asked of
 * Telegram, only when the sender is not the linker), or an anonymous administrator posting as the group itself.
 */
async function mayChange(ctx: Context, linkedBy: string | null): Promise<boolean> {
	const chat = ctx.chat;
	if (!chat || chat.type === "private") return true;
	if (ctx.senderChat?.id === chat.id) return true;
	const from = ctx.from?.id;
	if (from === undefined) return false;
	if (linkedBy !== null && String(from) === linkedBy) return true;
	try {
		return (await ctx.getChatAdministrators()).some((m) => m.user.id === from);
	} catch (err) {
		console.warn(`telegram: could not read the administrators of chat ${chat.id}; refusing the change`, err);
		return false;
	}
}

export function createBot(env: Env): Bot {
	const client = { apiRoot: readConfig(env).telegram.apiRoot };
	const bot = new Bot(env.TELEGRAM_BOT_TOKEN, { botInfo: botInfo(env), client });
	const chatId = (ctx: Context) => String(ctx.chat?.id ?? "");

	// An update we could not answer (no chat: a message always has one, so it is malformed) is ignored with a 200:
	// Telegram retries anything else.
	bot.use(async (ctx, next) => {
		if (ctx.chat) await next();
	});

	/**
	 * Runs `handler` for the account this chat is linked to; other chats are told how to link. A refusal the user can act
	 * on is the answer. `changes` says whether these arguments change something: in a group only some members may.
	 */
	const linked =
		(
			handler: (ctx: Context, account: Account, args: string, background: Background) => Promise<string>,
			changes: (args: string) => boolean = () => false,
		) =>
		async (ctx: Context) => {
			const link = await chatLink(env.DB, "telegram", chatId(ctx));
			if (!link) return void (await ctx.reply(NOT_LINKED));
			const args = typeof ctx.match === "string" ? ctx.match : "";
			if (changes(args) && !(await mayChange(ctx, link.linkedBy))) return void (await ctx.reply(NOT_YOURS_TO_CHANGE));
			let answer: string;
			// Deliveries a command queued (a ticket's staff post, notices) run after the answer, within this update.
			const later: Promise<unknown>[] = [];
			try {
				answer = await handler(ctx, link.account, args, (w) => later.push(w));
			} catch (err) {
				answer = failureAnswer(err, `telegram update ${ctx.update.update_id}`);
			}
			await ctx.reply(answer);
			await Promise.allSettled(later);
		};

	bot.command("start", async (ctx) => {
		const code = ctx.match.trim();
		if (!code) {
			const account = await linkedAccount(env.DB, "telegram", chatId(ctx));
			return void (await ctx.reply(
				account
					? `This chat is linked to ${oneLine(account.name)}.\n\n${helpText()}`
					: `${NOT_LINKED}\n\n${helpText()}`,
			));
		}
		// Linking a group that is linked already changes that link: the same members as any other change.
		const link = await chatLink(env.DB, "telegram", chatId(ctx));
		if (link && !(await mayChange(ctx, link.linkedBy))) return void (await ctx.reply(NOT_YOURS_TO_CHANGE));
		const by = ctx.from ? String(ctx.from.id) : null;
		const answer = await orRefusal(
			async () => {
				const r = await linkWithCode(env.DB, TELEGRAM_LINKING, chatId(ctx), code, Date.now(), by);
				const before = r.before ? ` (it was linked to ${oneLine(r.before.name)} before)` : "";
				const name = oneLine(r.account.name);
				return `✅ Linked to ${name}${before}. Alerts about your nodes will come here.\n\n${helpText()}`;
			},
			(message) => message,
		);
		await ctx.reply(answer);
	});
	bot.command("help", (ctx) => ctx.reply(helpText()));
	bot.command(
		"status",
		linked((_ctx, account) => statusText(env, account, Date.now())),
	);
	bot.command(
		"nodes",
		linked((_ctx, account) => nodesText(env, account, Date.now())),
	);
	bot.command(
		"points",
		linked((_ctx, account, args) => pointsText(env, account, args)),
	);
	const always = () => true;
	bot.command(
		"mute",
		linked((_ctx, account, args) => muteCommand(env, account, args, Date.now()), always),
	);
	bot.command(
		"unmute",
		linked((_ctx, account, args) => unmuteCommand(env, account, args), always),
	);
	bot.command(
		"maintenance",
		linked((_ctx, account, args) => maintenanceCommand(env, account, args), always),
	);
	// `/alerts` alone only shows the settings.
	bot.command(
		"alerts",
		linked(
			(_ctx, account, args) => alertsCommand(env, account, args, Date.now()),
			(args) => args.trim() !== "",
		),
	);
	bot.command(
		"ticket",
		linked(
			(_ctx, account, args, background) => ticketCommand(env, account, args, Date.now(), background),
			ticketChanges,
		),
	);
	bot.command("unlink", async (ctx) => {
		const link = await chatLink(env.DB, "telegram", chatId(ctx));
		if (link && !(await mayChange(ctx, link.linkedBy))) return void (await ctx.reply(NOT_YOURS_TO_CHANGE));
		await ctx.reply(await unlinkText(env.DB, TELEGRAM_LINKING, chatId(ctx)));
	});

	// Anything else: an unknown command (addressed to us) or, in a private chat, plain text → help.
	bot.on("message:text", async (ctx) => {
		const text = ctx.message.text;
		const mention = /^\/\w+@(\w+)/.exec(text)?.[1];
		if (mention && mention.toLowerCase() !== bot.botInfo.username.toLowerCase()) return;
		if (!text.startsWith("/") && ctx.chat.type !== "private") return;
		await ctx.reply(
			`${text.startsWith("/") ? "I don't know that command." : "I only understand commands."}\n\n${helpText()}`,
		);
	});

	bot.catch((err) => console.error(`telegram update ${err.ctx.update.update_id} failed`, err.error));
	return bot;
}

export { COMMANDS };
