// The Discord bot's slash commands in one place: the interaction handler, /help and `npm run discord:register` all read
// this list.
import { BODY_MAX, SUBJECT_MAX, TICKET_STATUSES } from "../../workers/domain/tickets.ts";

/** Discord's application command option types (only those we use). */
export const OPTION = { SUB_COMMAND: 1, STRING: 3, INTEGER: 4 } as const;

export interface ValueOption {
	type: typeof OPTION.STRING | typeof OPTION.INTEGER;
	name: string;
	description: string;
	required?: boolean;
	min_length?: number;
	max_length?: number;
	min_value?: number;
	max_value?: number;
	choices?: { name: string; value: string }[];
}

export interface Subcommand {
	type: typeof OPTION.SUB_COMMAND;
	name: string;
	description: string;
	options?: ValueOption[];
}

export interface CommandSpec {
	name: string;
	description: string;
	/** Either plain options or subcommands, never both (as Discord requires). */
	options?: ValueOption[] | Subcommand[];
	/** Answered so only the caller sees it (ephemeral, flag 64): anything about their account. */
	private: boolean;
	/**
	 * Calls a Durable Object (a shard, an operator's alerts) or reads more than a few rows by key: acknowledged at once
	 * (type 5) and completed by a follow-up, since Discord waits only 3 s for the first answer. Commands that run a few
	 * single-row D1 statements by primary key (/link, /unlink, /help) answer at once.
	 */
	defer: boolean;
}

const str = (name: string, description: string, o: Partial<ValueOption> = {}): ValueOption => ({
	type: OPTION.STRING,
	name,
	description,
	...o,
});
const ticketId = str("id", "The ticket id (tkt_…)", { required: true, min_length: 5, max_length: 40 });

export const COMMANDS: readonly CommandSpec[] = [
	{
		name: "link",
		description: "Link your Discord user to your pulsegrid account (code from POST /v1/links)",
		private: true,
		defer: false,
		options: [str("code", "The one-time code from POST /v1/links", { required: true, min_length: 6, max_length: 32 })],
	},
	{ name: "unlink", description: "Unlink your Discord user from your pulsegrid account", private: true, defer: false },
	{
		name: "status",
		description: "Your nodes: online, offline since when, maintenance; the worst first",
		private: true,
		defer: true,
	},
	{
		name: "node",
		description: "One node: status, last seen, uptime, hardware, flags",
		private: true,
		defer: true,
		options: [str("id", "The node id (node_…)", { required: true, min_length: 5, max_length: 64 })],
	},
	{
		name: "points",
		description: "Your points in a settled epoch, with every term of the formula",
		private: true,
		defer: true,
		options: [
			{
				type: OPTION.INTEGER,
				name: "epoch",
				description: "Epoch number (default: the newest settled one)",
				min_value: 1,
			},
			str("node", "Only this node of yours (node_…)", { min_length: 5, max_length: 64 }),
		],
	},
	{
		name: "leaderboard",
		description: "Top accounts by points in a settled epoch",
		private: false,
		defer: true,
		options: [
			{
				type: OPTION.INTEGER,
				name: "epoch",
				description: "Epoch number (default: the newest settled one)",
				min_value: 1,
			},
		],
	},
	{ name: "network", description: "Network statistics, each from recorded state", private: false, defer: true },
	{
		name: "ticket",
		description: "Support tickets: open, list, view, reply, close",
		private: true,
		defer: true,
		options: [
			{
				type: OPTION.SUB_COMMAND,
				name: "open",
				description: "Open a support ticket",
				options: [
					str("subject", `What it is about (at most ${SUBJECT_MAX} characters)`, {
						required: true,
						min_length: 1,
						max_length: SUBJECT_MAX,
					}),
					str("body", `What happened (at most ${BODY_MAX} characters)`, {
						required: true,
						min_length: 1,
						max_length: BODY_MAX,
					}),
					str("node", "One of your nodes, if it is about one (node_…)", { min_length: 5, max_length: 64 }),
					str("flag", "A flag on one of your nodes: the ticket appeals it (flg_…)", { min_length: 5, max_length: 64 }),
				],
			},
			{
				type: OPTION.SUB_COMMAND,
				name: "list",
				description: "Your tickets (staff: everyone's active tickets)",
				options: [
					str("status", "Only tickets in this status", {
						choices: [...TICKET_STATUSES, "active", "all"].map((s) => ({ name: s, value: s })),
					}),
				],
			},
			{ type: OPTION.SUB_COMMAND, name: "view", description: "A ticket and its messages", options: [ticketId] },
			{
				type: OPTION.SUB_COMMAND,
				name: "reply",
				description: "Add a message to a ticket",
				options: [
					ticketId,
					str("message", `Your message (at most ${BODY_MAX} characters)`, {
						required: true,
						min_length: 1,
						max_length: BODY_MAX,
					}),
				],
			},
			{ type: OPTION.SUB_COMMAND, name: "close", description: "Close a ticket", options: [ticketId] },
		],
	},
	{
		name: "alerts",
		description: "Send your node alerts to a Discord channel webhook",
		private: true,
		defer: true,
		options: [str("webhook", "A channel webhook URL (https://discord.com/api/webhooks/…)", { max_length: 300 })],
	},
	{ name: "help", description: "What this bot can do", private: true, defer: false },
];

export function findCommand(name: string): CommandSpec | undefined {
	return COMMANDS.find((c) => c.name === name);
}

export function isSubcommands(options: CommandSpec["options"]): options is Subcommand[] {
	return options?.[0]?.type === OPTION.SUB_COMMAND;
}

function optionUsage(o: ValueOption): string {
	const value = o.choices ? o.choices.map((c) => c.value).join("|") : o.type === OPTION.INTEGER ? "<number>" : "<text>";
	return o.required ? `${o.name}:${value}` : `[${o.name}:${value}]`;
}

/** "/ticket reply id:<text> message:<text>", from the metadata. */
export function usage(command: CommandSpec, sub?: Subcommand): string {
	const opts = sub ? (sub.options ?? []) : isSubcommands(command.options) ? [] : (command.options ?? []);
	return [`/${command.name}${sub ? ` ${sub.name}` : ""}`, ...opts.map(optionUsage)].join(" ");
}

export function helpText(): string {
	const lines = COMMANDS.flatMap((c) =>
		isSubcommands(c.options)
			? c.options.map((s) => `\`${usage(c, s)}\` — ${s.description}`)
			: [`\`${usage(c)}\` — ${c.description}`],
	);
	return ["**pulsegrid** — your nodes, points and support tickets, without leaving Discord.", "", ...lines].join("\n");
}

/** Chat-input commands as Discord's bulk-overwrite endpoint takes them: usable in servers and in DMs with the bot. */
export function registrationPayload(): Record<string, unknown>[] {
	return COMMANDS.map(({ name, description, options }) => ({
		type: 1,
		name,
		description,
		...(options ? { options } : {}),
		contexts: [0, 1],
		integration_types: [0],
	}));
}
