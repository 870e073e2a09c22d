// Failures the CLI reports: the sentence shown to the user and the exit code it ends with (1 runtime, 2 usage).
import { parseArgs } from "node:util";

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** A failure to report as one sentence on stderr, without a stack trace. */
export class CliError extends Error {
	readonly exitCode: number;

	constructor(message: string, exitCode: number = EXIT_RUNTIME) {
		super(message);
		this.exitCode = exitCode;
	}
}

/** The command was called wrongly: a missing or malformed flag. Exit code 2. */
export class UsageError extends CliError {
	constructor(message: string) {
		super(message, EXIT_USAGE);
	}
}

type ParseArgsConfig = NonNullable<Parameters<typeof parseArgs>[0]>;

/** node:util parseArgs with strict flags and no positionals; its errors become usage errors. */
export function parseFlags<T extends ParseArgsConfig>(argv: string[], config: T): ReturnType<typeof parseArgs<T>> {
	try {
		// Same options as T, with strict on and positionals off: the defaults ParsedResults<T> assumes.
		return parseArgs({ ...config, args: argv, strict: true, allowPositionals: false }) as ReturnType<
			typeof parseArgs<T>
		>;
	} catch (err) {
		throw new UsageError(err instanceof Error ? err.message : String(err));
	}
}

/** A flag that must be a whole number ≥ 1, or undefined when absent. */
export function intFlag(name: string, raw: string | undefined): number | undefined {
	if (raw === undefined) return undefined;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 1)
		throw new UsageError(`--${name} must be a whole number of at least 1 (got '${raw}').`);
	return n;
}

/** A flag that must be a number > 0, or undefined when absent. */
export function positiveFlag(name: string, raw: string | undefined): number | undefined {
	if (raw === undefined) return undefined;
	const n = Number(raw);
	if (raw.trim() === "" || !Number.isFinite(n) || n <= 0)
		throw new UsageError(`--${name} must be a number greater than 0 (got '${raw}').`);
	return n;
}

export function messageOf(err: unknown): string {
	if (err instanceof Error) {
		const code = (err as { code?: unknown }).code;
		return typeof code === "string" && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
	}
	return String(err);
}
