// Answers a verified Discord interaction: PING, then each slash command at once or deferred (type 5) and completed by a
// follow-up.
import { InteractionResponseFlags, InteractionResponseType, InteractionType } from "discord-interactions";
import { z } from "zod";
import { readConfig } from "../../workers/config.ts";
import { isStaff } from "../../workers/domain/tickets.ts";
import { validate } from "../../workers/http.ts";
import { linkedAccount } from "../../workers/db/links.ts";
import { editOriginalResponse } from "../../workers/transports/discord-rest.ts";
import { failureAnswer } from "../shared/failure.ts";
import { alertsCommand, helpCommand, linkCommand, unlinkCommand } from "./account-commands.ts";
import type { CommandContext, Handler } from "./context.ts";
import { fit } from "./format.ts";
import { nodeCommand, statusCommand } from "./node-commands.ts";
import { parseCommand, type OptionData } from "./options.ts";
import { leaderboardCommand, networkCommand, pointsCommand } from "./points-commands.ts";
import { ticketClose, ticketList, ticketOpen, ticketReply, ticketView } from "./ticket-commands.ts";

const Snowflake = z.string().regex(/^\d{1,25}$/);
const User = z.object({ id: Snowflake, username: z.string().max(64).default("someone") });
const Option: z.ZodType<OptionData> = z.lazy(() =>
	z.object({
		name: z.string().max(32),
		type: z.number().int(),
		value: z.union([z.string().max(6000), z.number(), z.boolean()]).optional(),
		options: z.array(Option).max(25).optional(),
	}),
);

/** The fields we use; Discord sends many more, which are ignored (not refused: Discord adds fields without notice). */
export const Interaction = z.object({
	id: Snowflake,
	application_id: Snowflake,
	type: z.number().int(),
	token: z.string().min(1).max(1000),
	data: z.object({ name: z.string().max(32), options: z.array(Option).max(25).optional() }).optional(),
	guild_id: Snowflake.optional(),
	member: z.object({ user: User, roles: z.array(Snowflake).max(1000).default([]) }).optional(),
	user: User.optional(),
});
export type Interaction = z.infer<typeof Interaction>;

/**
 * A PING is answered whatever else it carries (Discord checks the endpoint with it); anything else must be a full
 * interaction.
 */
export function readInteraction(body: unknown): Interaction | "ping" {
	if (z.object({ type: z.literal(InteractionType.PING) }).safeParse(body).success) return "ping";
	return validate(Interaction, body);
}

export interface InteractionResponse {
	type: InteractionResponseType;
	data?: { content?: string; flags?: number; allowed_mentions?: { parse: string[] }; choices?: unknown[] };
}

const HANDLERS: Record<string, Handler> = {
	link: linkCommand,
	unlink: unlinkCommand,
	help: helpCommand,
	alerts: alertsCommand,
	status: statusCommand,
	node: nodeCommand,
	points: pointsCommand,
	leaderboard: leaderboardCommand,
	network: networkCommand,
	"ticket open": ticketOpen,
	"ticket list": ticketList,
	"ticket view": ticketView,
	"ticket reply": ticketReply,
	"ticket close": ticketClose,
};

const FOLLOW_UP_ATTEMPTS = 3;

/** Staff by configuration: a listed user id, or any listed role on the member (roles only exist inside a server). */
export function isDiscordStaff(env: Env, userId: string, roles: string[]): boolean {
	const { staffRoleIds, staffUserIds } = readConfig(env).discord;
	return staffUserIds.has(userId) || roles.some((r) => staffRoleIds.has(r));
}

function message(content: string, ephemeral: boolean): InteractionResponse {
	return {
		type: InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE,
		data: {
			content: fit(content),
			flags: ephemeral ? InteractionResponseFlags.EPHEMERAL : 0,
			allowed_mentions: { parse: [] },
		},
	};
}

/** Runs a handler; a failure the user can act on becomes its message, anything else a generic one and a log line. */
async function run(handler: Handler, c: Omit<CommandContext, "account">): Promise<string> {
	try {
		const account = await linkedAccount(c.env.DB, "discord", c.user.id);
		return await handler({ ...c, account, staff: isStaff(c.staff, account) });
	} catch (err) {
		return failureAnswer(err, `discord /${c.command.name}${c.sub ? ` ${c.sub.name}` : ""}`);
	}
}

/**
 * Replaces the "thinking…" message; retried a little on 5xx, 429 and network errors (the token is valid for 15
 * minutes).
 */
async function followUp(env: Env, i: Interaction, content: Promise<string>): Promise<void> {
	const text = fit(await content);
	for (let attempt = 1; attempt <= FOLLOW_UP_ATTEMPTS; attempt++) {
		const r = await editOriginalResponse(env, i.application_id, i.token, { content: text });
		if (r.ok) return;
		const retryable = r.status === 0 || r.status === 429 || r.status >= 500;
		if (!retryable || attempt === FOLLOW_UP_ATTEMPTS) {
			console.error(`discord follow-up for interaction ${i.id} failed: ${r.error}`);
			return;
		}
		await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, r.retryAfterMs ?? 500 * attempt)));
	}
}

export async function handleInteraction(
	i: Interaction | "ping",
	env: Env,
	ctx: ExecutionContext,
	now: number,
): Promise<InteractionResponse> {
	if (i === "ping") return { type: InteractionResponseType.PONG };
	if (i.type === InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE)
		return { type: InteractionResponseType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, data: { choices: [] } };
	if (i.type !== InteractionType.APPLICATION_COMMAND || !i.data)
		return message("I only answer slash commands. Try `/help`.", true);
	const user = i.member?.user ?? i.user;
	if (!user) return message("I could not tell who sent this command.", true);
	const parsed = parseCommand(i.data);
	if (!parsed.ok) return message(parsed.message, true);
	const { command, sub, values } = parsed;
	const handler = HANDLERS[sub ? `${command.name} ${sub.name}` : command.name];
	if (!handler) return message(`\`/${command.name}\` is not available yet. Try \`/help\`.`, true);
	const c = {
		env,
		now,
		command,
		sub,
		values,
		user: { id: user.id, name: user.username },
		staff: isDiscordStaff(env, user.id, i.member?.roles ?? []),
		after: (work: Promise<unknown>) =>
			ctx.waitUntil(work.catch((err) => console.error(`discord /${command.name}: background work failed`, err))),
	};
	if (!command.defer) return message(await run(handler, c), command.private);
	ctx.waitUntil(followUp(env, i, run(handler, c)));
	return {
		type: InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
		data: { flags: command.private ? InteractionResponseFlags.EPHEMERAL : 0 },
	};
}
