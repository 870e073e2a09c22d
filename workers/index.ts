// The Worker entry: HTTP through the router, the cron that keeps every shard sweeping, and the Durable Object classes.
import { router } from "./router.ts";
import { shard } from "./services/liveness.ts";

export { DeliveryGate } from "../durable-objects/DeliveryGate.ts";
export { LivenessShard } from "../durable-objects/LivenessShard.ts";
export { OperatorAlerts } from "../durable-objects/OperatorAlerts.ts";

export default {
	fetch: (request, env, ctx) => router.fetch(request, env, ctx),

	/** A restarted coordinator resumes by itself: every shard that D1 says holds online nodes is woken to sweep. */
	async scheduled(_controller, env) {
		const { results } = await env.DB.prepare("SELECT DISTINCT shard FROM nodes WHERE status = 'online' AND deleted_at IS NULL").all<{ shard: string }>();
		await Promise.all(results.map((r) => shard(env, r.shard).wake()));
	},
} satisfies ExportedHandler<Env>;
