// `init`: creates this node's Ed25519 key pair and writes the config file (never overwriting an identity unasked).
import {
	defaultConfigPath,
	defaultCoordinatorUrl,
	newConfig,
	normalizeCoordinatorUrl,
	writeConfig,
} from "../config.ts";
import { parseFlags } from "../errors.ts";
import { generateIdentity } from "../identity.ts";
import { CONFIG_FLAG, CONFIG_HELP, HELP_FLAG, say, type Command } from "./command.ts";

export const init: Command = {
	name: "init",
	summary: "Create this node's key pair and config file",
	help: `Usage: pulsegrid-agent init [--coordinator URL] [--config PATH] [--name NAME] [--force]

Creates an Ed25519 key pair for this node and writes it, with the coordinator URL, to the config
file (mode 0600; missing directories are created with 0700). No API key is stored.

Options:
  --coordinator URL    Coordinator base URL (default: $PULSEGRID_URL or http://127.0.0.1:8787)
${CONFIG_HELP}
  --name NAME          Node name used by \`register\` (default: this machine's hostname)
  --force              Replace an existing config: its key pair, and the node registered with it, are lost
  -h, --help           Show this help
`,
	async run(argv) {
		const { values } = parseFlags(argv, {
			options: {
				...CONFIG_FLAG,
				...HELP_FLAG,
				coordinator: { type: "string" },
				name: { type: "string" },
				force: { type: "boolean" },
			},
		});
		if (values.help) {
			say(this.help);
			return 0;
		}
		const path = values.config ?? defaultConfigPath();
		const coordinator = normalizeCoordinatorUrl(values.coordinator ?? defaultCoordinatorUrl());
		const config = newConfig(generateIdentity(), coordinator, values.name);
		await writeConfig(path, config, { overwrite: values.force === true });
		say(`Created a node identity in ${path}`);
		say(`  coordinator: ${coordinator}`);
		say(`  public key:  ${config.public_key}`);
		say("Next: pulsegrid-agent register --api-key <your account's API key>");
		return 0;
	},
};
