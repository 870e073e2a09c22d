// `rotate-key`: replaces this node's key pair. The current key signs a statement naming the new public key
// (POST /v1/nodes/:id/key/rotate, docs/PROTOCOL.md "Rotating a node's key"); the config keeps the new pair after.
import { rm } from "node:fs/promises";
import { callApi } from "../api.ts";
import { configExists, defaultConfigPath, identityOf, readConfig, writeConfig } from "../config.ts";
import { CliError, parseFlags } from "../errors.ts";
import { generateIdentity, TokenSigner } from "../identity.ts";
import { CONFIG_FLAG, CONFIG_HELP, HELP_FLAG, say, type Command } from "./command.ts";

export const rotateKey: Command = {
	name: "rotate-key",
	summary: "Replace this node's key pair (signed by the current key)",
	help: `Usage: pulsegrid-agent rotate-key [--config PATH]

Makes a new Ed25519 key pair and asks the coordinator to replace the node's key with it, in a statement
the current key signs; no API key is needed. From then on only the new key is accepted: a running
\`pulsegrid-agent run\` is disconnected (code 4004) and must be restarted to use it.

The new pair is written to <config>.rotating before the request and moved into the config after it,
so a crash in between loses nothing: that file then holds the key the coordinator has. If the current
key is lost or stolen, the account's owner sets a new one instead (PUT /v1/nodes/:id/key).

Options:
${CONFIG_HELP}
  -h, --help           Show this help
`,
	async run(argv) {
		const { values } = parseFlags(argv, { options: { ...CONFIG_FLAG, ...HELP_FLAG } });
		if (values.help) {
			say(this.help);
			return 0;
		}
		const path = values.config ?? defaultConfigPath();
		const config = await readConfig(path);
		if (!config.node_id)
			throw new CliError("This node is not registered yet; run `pulsegrid-agent register --api-key KEY` first.");
		const next = generateIdentity();
		const rotated = { ...config, public_key: next.publicKey, private_jwk: next.privateJwk };
		const pending = `${path}.rotating`;
		if (await configExists(pending)) {
			throw new CliError(
				`${pending} exists: a rotation stopped half-way. If the coordinator has its key (\`status --json\` with ` +
					"your API key shows the node's public_key), move it over the config; otherwise delete it and run again.",
			);
		}
		await writeConfig(pending, rotated, { overwrite: false });
		try {
			const statement = await new TokenSigner(identityOf(config), config.node_id).mintRotation(next.publicKey);
			await callApi(config.coordinator_url, "POST", `/v1/nodes/${encodeURIComponent(config.node_id)}/key/rotate`, {
				bearer: statement,
			});
		} catch (err) {
			await rm(pending, { force: true }); // refused: the coordinator still has the current key
			throw err;
		}
		await writeConfig(path, rotated, { overwrite: true });
		await rm(pending, { force: true });
		say(`Rotated ${config.node_id}'s key; new public key ${next.publicKey}.`);
		say("Restart `pulsegrid-agent run` if it is running: the old key is no longer accepted.");
		return 0;
	},
};
