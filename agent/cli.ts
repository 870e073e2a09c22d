// The command line: picks the subcommand, prints help, and maps failures to exit codes (0 ok, 1 runtime, 2 usage).
import { ApiError } from "./api.ts";
import { init } from "./commands/init.ts";
import { points } from "./commands/points.ts";
import { register } from "./commands/register.ts";
import { rotateKey } from "./commands/rotate-key.ts";
import { run } from "./commands/run.ts";
import { status } from "./commands/status.ts";
import type { Command } from "./commands/command.ts";
import { CliError, EXIT_RUNTIME, EXIT_USAGE, messageOf } from "./errors.ts";

const COMMANDS: Command[] = [init, register, run, status, points, rotateKey];

export const HELP = `pulsegrid-agent: connects this machine to a pulsegrid coordinator as a GPU node.

Usage: pulsegrid-agent <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join("\n")}

Start with:  pulsegrid-agent init --coordinator URL
Then:        pulsegrid-agent register --api-key KEY && pulsegrid-agent run

Run \`pulsegrid-agent <command> --help\` for a command's options.
Exit codes: 0 ok, 1 runtime error, 2 usage error.
`;

export async function main(argv: string[]): Promise<number> {
	const [name, ...rest] = argv;
	if (name === undefined || name === "--help" || name === "-h" || name === "help") {
		process.stdout.write(HELP);
		return name === undefined ? EXIT_USAGE : 0;
	}
	const command = COMMANDS.find((c) => c.name === name);
	if (!command) {
		process.stderr.write(`pulsegrid-agent: unknown command '${name}'\n\n${HELP}`);
		return EXIT_USAGE;
	}
	try {
		return await command.run(rest);
	} catch (err) {
		if (err instanceof CliError) {
			const from = err instanceof ApiError ? ` (coordinator answered ${err.status} ${err.code})` : "";
			process.stderr.write(`pulsegrid-agent ${name}: ${err.message}${from}\n`);
			if (err.exitCode === EXIT_USAGE) process.stderr.write(`Run \`pulsegrid-agent ${name} --help\` for usage.\n`);
			return err.exitCode;
		}
		process.stderr.write(`pulsegrid-agent ${name}: unexpected error: ${messageOf(err)}\n`);
		return EXIT_RUNTIME;
	}
}
