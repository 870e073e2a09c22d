// The config file: written owner-only, never silently replacing an identity, and read back with clear errors.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultConfigPath, newConfig, readConfig, writeConfig } from "../../agent/config.ts";
import { generateIdentity } from "../../agent/identity.ts";

let dir: string;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), "pulsegrid-agent-config-"));
});
afterEach(async () => {
	await rm(dir, { recursive: true, force: true });
});

const fresh = () => newConfig(generateIdentity(), "http://127.0.0.1:8787", "box");

describe("config file", () => {
	it("is written with mode 0600 inside directories created with mode 0700", async () => {
		const path = join(dir, "nested", "deeper", "agent.json");
		await writeConfig(path, fresh(), { overwrite: false });
		expect((await stat(path)).mode & 0o777).toBe(0o600);
		expect((await stat(join(dir, "nested"))).mode & 0o777).toBe(0o700);
		expect((await stat(join(dir, "nested", "deeper"))).mode & 0o777).toBe(0o700);
	});

	it("refuses to overwrite an existing identity unless told to", async () => {
		const path = join(dir, "agent.json");
		const first = fresh();
		await writeConfig(path, first, { overwrite: false });
		await expect(writeConfig(path, fresh(), { overwrite: false })).rejects.toThrow(
			/already holds a node identity; pass --force/,
		);
		expect((await readConfig(path)).public_key).toBe(first.public_key);

		const second = fresh();
		await writeConfig(path, second, { overwrite: true });
		expect((await readConfig(path)).public_key).toBe(second.public_key);
		expect((await stat(path)).mode & 0o777).toBe(0o600);
	});

	it("holds the identity and an unset node id, and round-trips", async () => {
		const path = join(dir, "agent.json");
		const config = fresh();
		await writeConfig(path, config, { overwrite: false });
		const raw = JSON.parse(await readFile(path, "utf8"));
		expect(Object.keys(raw).sort()).toEqual(["coordinator_url", "name", "node_id", "private_jwk", "public_key"]);
		expect(raw.node_id).toBeNull();
		expect(raw.private_jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", x: config.public_key });
		expect(await readConfig(path)).toEqual(config);
	});

	it("tells the user to run init when the file is missing", async () => {
		await expect(readConfig(join(dir, "nope.json"))).rejects.toThrow(/run `pulsegrid-agent init` first/);
	});

	it("rejects a file that is not an agent config", async () => {
		const path = join(dir, "agent.json");
		await writeFile(path, JSON.stringify({ coordinator_url: "http://x", node_id: null }));
		await expect(readConfig(path)).rejects.toThrow(/not a valid agent config/);
		await writeFile(path, "{oops");
		await expect(readConfig(path)).rejects.toThrow(/not valid JSON/);
	});

	it("lives at $PULSEGRID_AGENT_CONFIG, else under ~/.config/pulsegrid", () => {
		expect(defaultConfigPath({ PULSEGRID_AGENT_CONFIG: "/etc/pg.json" })).toBe("/etc/pg.json");
		expect(defaultConfigPath({})).toMatch(/\.config\/pulsegrid\/agent\.json$/);
	});
});
