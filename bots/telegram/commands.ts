// The Telegram bot's commands, in one place: the handlers, /help and `npm run telegram:setup` (setMyCommands) all read
// this list.

export interface CommandSpec {
	command: string;
	/** Shown in Telegram's command menu (at most 256 characters). */
	description: string;
	usage: string;
}

export const COMMANDS: CommandSpec[] = [
	{
		command: "start",
		description: "Link this chat to your pulsegrid account",
		usage: "/start CODE — the code from POST /v1/links",
	},
	{ command: "status", description: "Your nodes at a glance", usage: "/status" },
	{ command: "nodes", description: "Every node with its status and 24 h uptime", usage: "/nodes" },
	{
		command: "points",
		description: "Your points in a settled epoch, with each term",
		usage: "/points [epoch] — default the newest settled epoch",
	},
	{
		command: "mute",
		description: "Silence alerts for a node or for all, for a while",
		usage: "/mute <node|all> <30m|2h|1d> — at most 30d",
	},
	{ command: "unmute", description: "Lift a mute (or all mutes)", usage: "/unmute [node|all]" },
	{
		command: "maintenance",
		description: "Put a node in maintenance, or take it out",
		usage: "/maintenance <node> on|off",
	},
	{
		command: "alerts",
		description: "Show or change alert settings",
		usage: "/alerts [on|off] · /alerts digest on|off · /alerts digest-hour 0-23",
	},
	{
		command: "ticket",
		description: "Support tickets: open, appeal a flag, list, view, reply, close",
		usage:
			"/ticket open <subject> (your message on the next lines)\n" +
			"/ticket appeal <flag id> <why>\n" +
			"/ticket [list] [unread|open|closed|…] · /ticket view <id>\n" +
			"/ticket reply <id> <message> · /ticket close <id>",
	},
	{ command: "unlink", description: "Stop alerts here and unlink this chat", usage: "/unlink" },
	{ command: "help", description: "What I can do", usage: "/help" },
];

export function helpText(): string {
	return [
		"pulsegrid tells you within a minute when your nodes drop, in one message per incident.",
		"",
		...COMMANDS.map((c) => c.usage),
		"",
		"A node is named by its name or its id (node_…).",
	].join("\n");
}

export function usageOf(command: string): string {
	return COMMANDS.find((c) => c.command === command)?.usage ?? "/help";
}

/** The command menu as setMyCommands takes it. */
export function menuPayload(): { command: string; description: string }[] {
	return COMMANDS.map(({ command, description }) => ({ command, description }));
}
