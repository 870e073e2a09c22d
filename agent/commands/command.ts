// The shape every subcommand has, and the flags they share.

export interface Command {
	name: string;
	summary: string;
	/** The full --help text. */
	help: string;
	/** Runs with the arguments after the command name; resolves to the exit code. */
	run(argv: string[]): Promise<number>;
}

export const CONFIG_FLAG = { config: { type: "string" } } as const;
export const HELP_FLAG = { help: { type: "boolean", short: "h" } } as const;

export const CONFIG_HELP =
	"  --config PATH        Config file (default: $PULSEGRID_AGENT_CONFIG or ~/.config/pulsegrid/agent.json)";

/** Output for humans goes to stdout; warnings and progress that scripts should not parse go to stderr. */
export function say(line: string): void {
	process.stdout.write(`${line}\n`);
}

export function warn(line: string): void {
	process.stderr.write(`${line}\n`);
}
