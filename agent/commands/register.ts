// `register`: detects the hardware, registers this node with the account's API key, and saves the node id.
import { callApi } from "../api.ts";
import { defaultConfigPath, readConfig, writeConfig } from "../config.ts";
import { CliError, intFlag, parseFlags, positiveFlag, UsageError } from "../errors.ts";
import { describeHardware, detectGpu, localCpuCores, localRamGb, resolveHardware, type Hardware } from "../hardware.ts";
import { CONFIG_FLAG, CONFIG_HELP, HELP_FLAG, say, warn, type Command } from "./command.ts";

interface NodeView {
	id: string;
	name: string;
	status: string;
	region: string | null;
	hardware: Hardware;
}

export const register: Command = {
	name: "register",
	summary: "Register this machine as a node of your account",
	help: `Usage: pulsegrid-agent register --api-key KEY [--name N] [--region R] [hardware flags] [--config PATH]

Detects the GPUs (nvidia-smi; on macOS, Apple silicon via system_profiler), CPU cores and RAM, then
registers this node with the coordinator and saves the node id in the config file. The API key is
used for this one call and never stored.

Options:
  --api-key KEY        Your account's API key (default: $PULSEGRID_API_KEY)
  --name NAME          Node name (default: the name in the config, set by init: the hostname)
  --region REGION      Region, 2-32 lowercase letters, digits or dashes (e.g. eu-west)
  --gpu-model NAME     GPU model; required when no GPU is detected
  --gpu-count N        Number of GPUs of that model (default: detected, else 1)
  --vram-gb GB         Memory per GPU in GB (Apple silicon: the unified memory)
  --cpu-cores N        CPU cores (default: detected)
  --ram-gb GB          RAM in GB (default: detected)
  --dry-run            Print the registration request and stop
  --json               Print the coordinator's answer as JSON
${CONFIG_HELP}
  -h, --help           Show this help
`,
	async run(argv) {
		const { values } = parseFlags(argv, {
			options: {
				...CONFIG_FLAG,
				...HELP_FLAG,
				"api-key": { type: "string" },
				name: { type: "string" },
				region: { type: "string" },
				"gpu-model": { type: "string" },
				"gpu-count": { type: "string" },
				"vram-gb": { type: "string" },
				"cpu-cores": { type: "string" },
				"ram-gb": { type: "string" },
				"dry-run": { type: "boolean" },
				json: { type: "boolean" },
			},
		});
		if (values.help) {
			say(this.help);
			return 0;
		}
		const flags = {
			gpu_model: values["gpu-model"],
			gpu_count: intFlag("gpu-count", values["gpu-count"]),
			vram_gb: positiveFlag("vram-gb", values["vram-gb"]),
			cpu_cores: intFlag("cpu-cores", values["cpu-cores"]),
			ram_gb: positiveFlag("ram-gb", values["ram-gb"]),
		};
		const apiKey = values["api-key"] ?? process.env.PULSEGRID_API_KEY;
		if (!apiKey && !values["dry-run"])
			throw new UsageError("Pass your account's API key with --api-key KEY (or set $PULSEGRID_API_KEY).");
		const path = values.config ?? defaultConfigPath();
		const config = await readConfig(path);
		if (config.node_id) {
			throw new CliError(
				`This identity is already registered as ${config.node_id} (${path}). ` +
					`To register a new node, run \`pulsegrid-agent init --force\` first.`,
			);
		}
		const local = { cpu_cores: localCpuCores(), ram_gb: localRamGb() };
		const gpu = await detectGpu(local.ram_gb);
		if (gpu?.note) warn(`note: ${gpu.note}`);
		const hardware = resolveHardware(gpu, local, flags);
		const name = values.name ?? config.name;
		const body = { name, public_key: config.public_key, hardware, ...(values.region ? { region: values.region } : {}) };
		if (values["dry-run"]) {
			say(JSON.stringify(body, null, 2));
			return 0;
		}
		const { node } = await callApi<{ node: NodeView }>(config.coordinator_url, "POST", "/v1/nodes", {
			bearer: apiKey,
			body,
		});
		await writeConfig(path, { ...config, node_id: node.id, name: node.name }, { overwrite: true });
		if (values.json) {
			say(JSON.stringify({ node }));
			return 0;
		}
		say(`Registered node ${node.id}`);
		say(`  name:     ${node.name}${node.region ? ` (${node.region})` : ""}`);
		say(`  hardware: ${describeHardware(hardware)}${gpu && !flags.gpu_model ? ` (detected by ${gpu.source})` : ""}`);
		say(`  saved in: ${path}`);
		say("Next: pulsegrid-agent run");
		return 0;
	},
};
