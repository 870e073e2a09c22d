// `run`: keeps this node online over a WebSocket (or HTTP heartbeats) until Ctrl-C, SIGTERM or a fatal close.
import { defaultConfigPath, identityOf, looseModeWarning, readConfig } from "../config.ts";
import { BandwidthRunner } from "../bandwidth.ts";
import { CliError, parseFlags, UsageError } from "../errors.ts";
import type { AgentEvent, Transport } from "../events.ts";
import { DRIVERS } from "../drivers.ts";
import { detectGpuUuids } from "../hardware.ts";
import { HttpLink } from "../http-link.ts";
import { TokenSigner } from "../identity.ts";
import { createReporter, type ReportMode } from "../reporter.ts";
import { WsLink } from "../ws-link.ts";
import { CONFIG_FLAG, CONFIG_HELP, HELP_FLAG, say, warn, type Command } from "./command.ts";

const STOP_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export const run: Command = {
	name: "run",
	summary: "Connect to the coordinator and stay online",
	help: `Usage: pulsegrid-agent run [--transport ws|http] [--no-verify] [--no-bandwidth] [--json] [--config PATH]

Connects to the coordinator and keeps this node online: keepalive pings, availability challenges,
hardware verification (WebSocket only; solved on the CPU, off the main thread), and reconnects
with exponential backoff and full jitter (1 s base, doubling, 60 s cap; reset after a connection
stayed up 30 s). Ctrl-C, SIGTERM or SIGHUP says goodbye and exits 0 (twice: exit at once).

Bandwidth: a few seconds after connecting, and every 24 h while it runs, the agent uploads 4 random
bodies of 12 MB and downloads 4 test blobs of 16 MiB, one at a time, for the coordinator to time
(its bandwidth tier). A failure is reported and tried again an hour later (or at the next connection
after that); it never stops the agent.

Output: on a terminal, a status line redrawn every second; otherwise one line per event, or with
--json one JSON object per line ({"event": ..., "at": ...}; see agent/README.md for the names).

Exit codes: 0 stopped by a signal; 1 the node was deleted (close 4002), replaced by another agent
(close 4001), unknown to the coordinator (404), or the config is missing/invalid; 2 bad flags.

Options:
  --transport ws|http  WebSocket (default), or HTTP heartbeats for networks that block WebSockets
  --driver NAME        Workload driver for rented work (default: simulated; see agent/README.md)
  --no-verify          Decline hardware verification challenges (the node stays unverified)
  --no-bandwidth       Do not measure bandwidth (the node's bandwidth tier stays as last measured)
  --json               One JSON object per event on stdout
${CONFIG_HELP}
  -h, --help           Show this help
`,
	async run(argv) {
		const { values } = parseFlags(argv, {
			options: {
				...CONFIG_FLAG,
				...HELP_FLAG,
				transport: { type: "string", default: "ws" },
				driver: { type: "string", default: "simulated" },
				json: { type: "boolean" },
				"no-verify": { type: "boolean" },
				"no-bandwidth": { type: "boolean" },
			},
		});
		if (values.help) {
			say(this.help);
			return 0;
		}
		const transport = values.transport;
		if (transport !== "ws" && transport !== "http")
			throw new UsageError(`--transport must be 'ws' or 'http' (got '${transport}').`);
		const path = values.config ?? defaultConfigPath();
		const config = await readConfig(path);
		const loose = await looseModeWarning(path);
		if (loose) warn(loose);
		const nodeId = config.node_id;
		if (!nodeId)
			throw new CliError("This node is not registered yet; run `pulsegrid-agent register --api-key KEY` first.");

		const mode: ReportMode = values.json ? "json" : process.stdout.isTTY ? "tty" : "lines";
		const reporter = createReporter(mode);
		const signer = new TokenSigner(identityOf(config), nodeId);
		const bandwidth = values["no-bandwidth"]
			? null
			: new BandwidthRunner({
					coordinatorUrl: config.coordinator_url,
					nodeId,
					mintToken: () => signer.mint(),
					emit: (e) => reporter.emit(e),
				});
		const emit = (e: AgentEvent) => {
			reporter.emit(e);
			bandwidth?.observe(e);
		};
		const makeDriver = DRIVERS[values.driver];
		if (!makeDriver)
			throw new UsageError(`--driver must be one of: ${Object.keys(DRIVERS).join(", ")} (got '${values.driver}').`);
		const options = {
			coordinatorUrl: config.coordinator_url,
			nodeId,
			mintToken: () => signer.mint(),
			emit,
			driver: makeDriver(),
			verify: !values["no-verify"],
			gpuUuids: await detectGpuUuids(),
		};
		const link = transport === "ws" ? new WsLink(options) : new HttpLink(options);

		let signals = 0;
		const onSignal = (signal: NodeJS.Signals) => {
			if (++signals > 1) {
				warn("\nforced exit");
				process.exit(130);
			}
			emit({ event: "stopping", signal });
			void link.stop();
		};
		// SIGHUP too: a closed terminal should say goodbye rather than leave the coordinator to time the node out.
		for (const sig of STOP_SIGNALS) process.on(sig, onSignal);

		emit({
			event: "starting",
			node_id: nodeId,
			transport: transport satisfies Transport,
			coordinator: config.coordinator_url,
		});
		const outcome = await link.run();
		await bandwidth?.stop();
		for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
		reporter.close();
		if (outcome.message) warn(outcome.message);
		return outcome.exitCode;
	},
};
