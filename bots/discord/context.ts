// What a command handler gets: the caller (Discord user, linked account, staff or not), its options, and the clock.
import { ApiError } from "../../workers/http.ts";
import type { Account } from "../../workers/services/accounts.ts";
import { ticketActor, type TicketActor } from "../../workers/services/tickets.ts";
import { notLinkedText, type LinkSurface } from "../shared/linking.ts";
import type { CommandSpec, Subcommand } from "./commands.ts";
import type { OptionValues } from "./options.ts";

export interface CommandContext {
	env: Env;
	now: number;
	user: { id: string; name: string };
	/** The linked account, or null when this Discord user has not linked one. */
	account: Account | null;
	/** A configured staff role or user id (DISCORD_STAFF_ROLE_IDS / DISCORD_STAFF_USER_IDS), or a linked staff account. */
	staff: boolean;
	command: CommandSpec;
	sub: Subcommand | null;
	values: OptionValues;
	/** Work to finish after the answer is sent (e.g. delivering the staff-channel post). */
	after(work: Promise<unknown>): void;
}

export type Handler = (c: CommandContext) => Promise<string>;

/** How linking reads in Discord. */
export const DISCORD_LINKING: LinkSurface = {
	kind: "discord",
	subject: "Your Discord user",
	redeem: "run `/link code:<code>` here",
	unlinked: "This Discord user no longer speaks for your account.",
	code: (t) => `\`${t}\``,
	bold: (t) => `**${t}**`,
};

export const NOT_LINKED = notLinkedText(DISCORD_LINKING);

/** The linked account; an unlinked user gets the "link first" answer instead of the command's. */
export function needAccount(c: CommandContext): Account {
	if (!c.account) throw new ApiError(401, "unauthorized", NOT_LINKED);
	return c.account;
}

export function actorOf(c: CommandContext): TicketActor {
	return ticketActor(c.account, c.staff, c.account?.name ?? `discord:${c.user.name}`, "discord");
}

export function text(c: CommandContext, name: string): string | undefined {
	const v = c.values[name];
	return typeof v === "string" ? v : undefined;
}

export function integer(c: CommandContext, name: string): number | undefined {
	const v = c.values[name];
	return typeof v === "number" ? v : undefined;
}
