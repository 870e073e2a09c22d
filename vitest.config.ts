// Two projects: "worker" runs in the real Workers runtime (workerd); "e2e" starts the coordinator and real agents.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";

export default defineConfig({
	test: {
		projects: [
			{
				plugins: [
					cloudflareTest(async () => ({
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							bindings: {
								TEST_MIGRATIONS: await readD1Migrations("schema/migrations"),
								ADMIN_TOKEN: TEST_ADMIN_TOKEN,
								DISCORD_PUBLIC_KEY: "",
								DISCORD_BOT_TOKEN: "",
								TELEGRAM_BOT_TOKEN: "",
								TELEGRAM_WEBHOOK_SECRET: "test-webhook-secret",
							},
						},
					})),
				],
				test: {
					name: "worker",
					include: ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts"],
					setupFiles: ["./test/worker/setup.ts"],
				},
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
