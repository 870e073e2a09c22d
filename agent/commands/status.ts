// `status`: this node as the coordinator sees it (status, last seen, 24 h uptime, hardware).
import { callApi } from "../api.ts";
import { defaultConfigPath, readConfig } from "../config.ts";
import { CliError, parseFlags } from "../errors.ts";
import { describeHardware } from "../hardware.ts";
import { duration } from "../reporter.ts";
import { CONFIG_FLAG, CONFIG_HELP, HELP_FLAG, say, type Command } from "./command.ts";

interface NodeView {
	id: string;
	name: string;
	status: string;
	status_since: string | null;
	last_seen_at: string | null;
	uptime_24h: number;
	region: string | null;
	hardware: { gpu_model: string; gpu_count: number; vram_gb: number; cpu_cores?: number; ram_gb?: number };
	maintenance?: boolean;
}

export const status: Command = {
	name: "status",
	summary: "Show this node's status as the coordinator sees it",
	help: `Usage: pulsegrid-agent status [--api-key KEY] [--json] [--config PATH]

Reads GET /v1/nodes/:id. With the owner's API key the full record is shown (CPU, RAM, maintenance);
without it, the public view.

Options:
  --api-key KEY        Your account's API key (default: $PULSEGRID_API_KEY; optional)
  --json               Print the coordinator's JSON as is
${CONFIG_HELP}
  -h, --help           Show this help
`,
	async run(argv) {
		const { values } = parseFlags(argv, {
			options: { ...CONFIG_FLAG, ...HELP_FLAG, "api-key": { type: "string" }, json: { type: "boolean" } },
		});
		if (values.help) {
			say(this.help);
			return 0;
		}
		const config = await readConfig(values.config ?? defaultConfigPath());
		if (!config.node_id)
			throw new CliError("This node is not registered yet; run `pulsegrid-agent register --api-key KEY` first.");
		const apiKey = values["api-key"] ?? process.env.PULSEGRID_API_KEY;
		const body = await callApi<{ node: NodeView }>(
			config.coordinator_url,
			"GET",
			`/v1/nodes/${encodeURIComponent(config.node_id)}`,
			{ bearer: apiKey },
		);
		if (values.json) {
			say(JSON.stringify(body));
			return 0;
		}
		for (const line of formatStatus(body.node, Date.now())) say(line);
		return 0;
	},
};

export function formatStatus(n: NodeView, now: number): string[] {
	const ago = (iso: string | null) => (iso ? `${iso} (${duration(now - Date.parse(iso))} ago)` : "never");
	return [
		`node       ${n.id} (${n.name})`,
		`status     ${n.status}${n.status_since ? ` since ${ago(n.status_since)}` : ""}` +
			`${n.maintenance ? " [maintenance]" : ""}`,
		`last seen  ${ago(n.last_seen_at)}`,
		`uptime     ${(n.uptime_24h * 100).toFixed(2)}% over the last 24 h`,
		`hardware   ${describeHardware(n.hardware)}`,
		...(n.region ? [`region     ${n.region}`] : []),
	];
}
