// The agent's config file: where it lives, what it holds, and writing it owner-only (0600 in a 0700 directory).
import { chmod, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import { dirname, join } from "node:path";
import type { JWK } from "jose";
import { z } from "zod";
import { CliError, messageOf } from "./errors.ts";
import type { Identity } from "./identity.ts";

export const DEFAULT_COORDINATOR = "http://127.0.0.1:8787";

/** What the file holds. The account's API key is never stored: it is only needed once, to register. */
export interface AgentConfig {
	coordinator_url: string;
	/** Raw 32-byte Ed25519 public key, base64url. */
	public_key: string;
	/** The private key as a JWK (OKP / Ed25519, with `d`). */
	private_jwk: JWK;
	/** Set by `register`; null until then. */
	node_id: string | null;
	name: string;
}

const ConfigSchema = z.object({
	coordinator_url: z.url(),
	public_key: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
	private_jwk: z
		.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string(), d: z.string() })
		.passthrough(),
	node_id: z.string().min(1).nullable(),
	name: z.string().min(1),
});

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
	return env.PULSEGRID_AGENT_CONFIG || join(homedir(), ".config", "pulsegrid", "agent.json");
}

export function defaultCoordinatorUrl(env: NodeJS.ProcessEnv = process.env): string {
	return env.PULSEGRID_URL || DEFAULT_COORDINATOR;
}

/** Checks a coordinator URL is http(s) and drops any trailing slash, so paths can be appended. */
export function normalizeCoordinatorUrl(raw: string): string {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new CliError(
			`'${raw}' is not a URL; pass the coordinator as e.g. --coordinator https://pulsegrid.example.com`,
			2,
		);
	}
	if (url.protocol !== "http:" && url.protocol !== "https:") {
		throw new CliError(`The coordinator URL must start with http:// or https:// (got '${raw}').`, 2);
	}
	return url.toString().replace(/\/+$/, "");
}

export function newConfig(identity: Identity, coordinatorUrl: string, name = hostname()): AgentConfig {
	return {
		coordinator_url: coordinatorUrl,
		public_key: identity.publicKey,
		private_jwk: identity.privateJwk,
		node_id: null,
		name: name.slice(0, 64) || "node",
	};
}

export function identityOf(config: AgentConfig): Identity {
	return { publicKey: config.public_key, privateJwk: config.private_jwk };
}

export async function configExists(path: string): Promise<boolean> {
	try {
		await stat(path);
		return true;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
		throw new CliError(`Cannot read ${path}: ${messageOf(err)}`);
	}
}

export async function readConfig(path: string): Promise<AgentConfig> {
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") {
			throw new CliError(`No agent config at ${path}; run \`pulsegrid-agent init\` first.`);
		}
		throw new CliError(`Cannot read ${path}: ${messageOf(err)}`);
	}
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch {
		throw new CliError(
			`${path} is not valid JSON; fix it, or recreate it with \`pulsegrid-agent init --force\` (a new identity).`,
		);
	}
	const parsed = ConfigSchema.safeParse(raw);
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		throw new CliError(
			`${path} is not a valid agent config (${issue?.path.join(".") || "file"}: ${issue?.message}); ` +
				`recreate it with \`pulsegrid-agent init --force\`.`,
		);
	}
	return parsed.data as AgentConfig;
}

/**
 * Writes the config atomically (temp file + rename) with mode 0600, creating missing directories with 0700.
 * Without `overwrite`, an existing file is an error: it holds the node's identity.
 */
export async function writeConfig(path: string, config: AgentConfig, opts: { overwrite: boolean }): Promise<void> {
	if (!opts.overwrite && (await configExists(path))) {
		throw new CliError(`${path} already holds a node identity; pass --force to replace it (the old key pair is lost).`);
	}
	const dir = dirname(path);
	const tmp = join(dir, `.${Date.now()}-${process.pid}.agent.json.tmp`);
	try {
		await mkdir(dir, { recursive: true, mode: 0o700 });
		const fh = await open(tmp, "wx", 0o600);
		try {
			await fh.writeFile(`${JSON.stringify(config, null, 2)}\n`);
			await fh.sync();
		} finally {
			await fh.close();
		}
		await chmod(tmp, 0o600); // in case the umask or an odd filesystem widened it
		await rename(tmp, path);
	} catch (err) {
		await unlink(tmp).catch(() => {});
		throw new CliError(`Cannot write ${path}: ${messageOf(err)}`);
	}
}

/** Other users can read the private key if the file is group- or world-accessible: worth a warning, like ssh. */
export async function looseModeWarning(path: string): Promise<string | null> {
	if (process.platform === "win32") return null;
	try {
		const { mode } = await stat(path);
		return (mode & 0o077) !== 0
			? `warning: ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``
			: null;
	} catch {
		return null;
	}
}
