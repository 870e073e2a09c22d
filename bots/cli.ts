// What the bots' set-up scripts share: settings from the environment or ./.dev.vars, and stopping with a clear message.
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/** The environment wins over .dev.vars, so a token exported for one run is the one used. */
export function settings(): Record<string, string | undefined> {
	const file = existsSync(".dev.vars") ? parseEnv(readFileSync(".dev.vars", "utf8")) : {};
	return { ...file, ...process.env };
}

/** Stops the script; typed explicitly where it is declared so that TypeScript narrows after a call. */
export type Fail = (message: string, code?: number) => never;

/**
 * Prints `<script>: message` to stderr and exits: 2 for bad input or settings (nothing sent), 1 when the far side
 * refused.
 */
export function failWith(script: string): Fail {
	return (message, code = 2) => {
		console.error(`${script}: ${message}`);
		process.exit(code);
	};
}

/** fetch, with a network failure turned into the script's exit 1 and a message naming the address. */
export async function reach(fail: Fail, root: string, url: string, init: RequestInit): Promise<Response> {
	try {
		return await fetch(url, init);
	} catch (err) {
		return fail(`could not reach ${root}: ${err instanceof Error ? err.message : String(err)}`, 1);
	}
}
