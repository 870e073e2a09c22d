// Two projects: "worker" runs in the real Workers runtime (workerd); "e2e" starts the coordinator and real agents.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

import { TEST_ADMIN_TOKEN, TEST_BOT_TOKEN, TEST_WEBHOOK_SECRET } from "./test/constants.ts";
import { startFakeBotApi } from "./test/fakes/bot-api.ts";

/** One fake Bot API server for the worker project's tests; it must not keep the test process alive. */
async function fakeApiRoots(): Promise<Record<string, string>> {
	const { url } = await startFakeBotApi({ unref: true });
	return { TELEGRAM_API_ROOT: url, DISCORD_API_ROOT: url, FAKE_BOT_API: url };
}

export default defineConfig({
	test: {
		projects: [
			{
				plugins: [
					cloudflareTest(async () => ({
						// Outbound Telegram and Discord calls go over real HTTP to a local fake of both APIs (the network boundary).
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							bindings: {
								TEST_MIGRATIONS: await readD1Migrations("schema/migrations"),
								ADMIN_TOKEN: TEST_ADMIN_TOKEN,
								DISCORD_PUBLIC_KEY: "",
								DISCORD_BOT_TOKEN: "",
								TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN,
								TELEGRAM_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
								...(await fakeApiRoots()),
								// Short timings so liveness tests take seconds; the defaults are measured by `npm run bench`.
								HEARTBEAT_INTERVAL_S: "1",
								OFFLINE_AFTER_S: "3",
								SWEEP_INTERVAL_S: "1",
								CHALLENGE_EVERY_S: "1",
								CHALLENGE_TIMEOUT_S: "2",
								CHECKPOINT_S: "1",
								INCIDENT_MIN_NODES: "3",
								SHARD_COUNT: "1", // one shard per region, so a test owns its shard by picking a region
								ALERT_GROUP_WINDOW_S: "2",
								ALERT_EDIT_WINDOW_S: "5",
								ALERT_FLAP_COUNT: "3",
								ALERT_FLAP_WINDOW_S: "60",
							},
						},
					})),
				],
				test: {
					name: "worker",
					include: ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts"],
					setupFiles: ["./test/worker/setup.ts"],
					testTimeout: 30_000,
				},
			},
			{
				test: { name: "agent", include: ["test/agent/**/*.test.ts"], environment: "node" },
			},
			{
				test: {
					name: "e2e",
					include: ["test/e2e/**/*.test.ts"],
					environment: "node",
					testTimeout: 180_000,
					hookTimeout: 180_000,
					fileParallelism: false,
				},
			},
		],
	},
});
