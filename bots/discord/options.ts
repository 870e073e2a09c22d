// Reads an interaction's command and options against the shared metadata: unknown commands, options and bad values get
// a friendly answer.
import {
	OPTION,
	findCommand,
	isSubcommands,
	usage,
	type CommandSpec,
	type Subcommand,
	type ValueOption,
} from "./commands.ts";

/** An option as Discord sends it (subcommands carry their own options). */
export interface OptionData {
	name: string;
	type: number;
	value?: string | number | boolean | undefined;
	options?: OptionData[] | undefined;
}

export type OptionValues = Record<string, string | number>;

export type ParsedCommand =
	| { ok: true; command: CommandSpec; sub: Subcommand | null; values: OptionValues }
	| { ok: false; message: string };

const fail = (message: string): ParsedCommand => ({ ok: false, message });

function readValue(spec: ValueOption, o: OptionData, where: string): string | number | { error: string } {
	if (spec.type === OPTION.INTEGER) {
		if (typeof o.value !== "number" || !Number.isInteger(o.value))
			return { error: `\`${o.name}\` must be a whole number.` };
		if (spec.min_value !== undefined && o.value < spec.min_value)
			return { error: `\`${o.name}\` must be at least ${spec.min_value}.` };
		if (spec.max_value !== undefined && o.value > spec.max_value)
			return { error: `\`${o.name}\` must be at most ${spec.max_value}.` };
		return o.value;
	}
	if (typeof o.value !== "string") return { error: `\`${o.name}\` must be text.` };
	const v = o.value.trim();
	if (spec.min_length !== undefined && v.length < spec.min_length)
		return { error: `\`${o.name}\` must be at least ${spec.min_length} characters.` };
	if (spec.max_length !== undefined && v.length > spec.max_length)
		return { error: `\`${o.name}\` must be at most ${spec.max_length} characters.` };
	if (spec.choices && !spec.choices.some((c) => c.value === v))
		return { error: `\`${o.name}\` must be one of ${spec.choices.map((c) => c.value).join(", ")} (${where}).` };
	return v;
}

function readOptions(
	specs: ValueOption[],
	given: OptionData[],
	help: string,
): { values: OptionValues } | { error: string } {
	const values: OptionValues = {};
	for (const o of given) {
		const spec = specs.find((s) => s.name === o.name);
		if (!spec || spec.type !== o.type)
			return { error: `I don't know the option \`${o.name}\` here. Usage: \`${help}\`` };
		if (o.name in values) return { error: `\`${o.name}\` was given twice. Usage: \`${help}\`` };
		const v = readValue(spec, o, help);
		if (typeof v === "object") return { error: `${v.error} Usage: \`${help}\`` };
		values[o.name] = v;
	}
	const missing = specs.find((s) => s.required && !(s.name in values));
	if (missing) return { error: `\`${missing.name}\` is required. Usage: \`${help}\`` };
	return { values };
}

export function parseCommand(data: { name: string; options?: OptionData[] | undefined }): ParsedCommand {
	const command = findCommand(data.name);
	if (!command)
		return fail(
			`I don't know \`/${data.name}\` (perhaps an old command; they are re-registered with each release). Try \`/help\`.`,
		);
	const given = data.options ?? [];
	if (isSubcommands(command.options)) {
		const names = command.options.map((s) => s.name).join(", ");
		const [first, ...rest] = given;
		const sub =
			first && first.type === OPTION.SUB_COMMAND ? command.options.find((s) => s.name === first.name) : undefined;
		if (!first || rest.length || !sub) return fail(`\`/${command.name}\` needs one of: ${names}. Try \`/help\`.`);
		const r = readOptions(sub.options ?? [], first.options ?? [], usage(command, sub));
		return "error" in r ? fail(r.error) : { ok: true, command, sub, values: r.values };
	}
	const r = readOptions(command.options ?? [], given, usage(command));
	return "error" in r ? fail(r.error) : { ok: true, command, sub: null, values: r.values };
}
