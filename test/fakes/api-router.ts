// One local address for every faked outside API: routes each request to the Telegram/alerts fake or the Discord bot
// fake.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

/** Paths the Discord bot fake owns; everything else (Bot API, alert webhooks) goes to the Bot API fake. */
function isDiscordBotPath(path: string): boolean {
	return (
		/^\/(channels|applications|users|__discord)\//.test(path) ||
		/^\/webhooks\/[^/]+\/[^/]+\/messages\/@original/.test(path)
	);
}

export async function startApiRouter(o: { discord: string; bot: string; unref?: boolean }): Promise<{ url: string }> {
	const server = createServer((req, res) => void forward(o, req, res));
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	if (o.unref) server.unref();
	return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

async function forward(o: { discord: string; bot: string }, req: IncomingMessage, res: ServerResponse): Promise<void> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	const path = req.url ?? "/";
	const target = `${isDiscordBotPath(path) ? o.discord : o.bot}${path}`;
	const headers: Record<string, string> = {};
	for (const [k, v] of Object.entries(req.headers))
		if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v;
	try {
		const out = await fetch(target, {
			method: req.method,
			headers,
			body: chunks.length ? Buffer.concat(chunks) : undefined,
		});
		res.writeHead(
			out.status,
			Object.fromEntries(
				[...out.headers].filter(
					([k]) => k !== "content-encoding" && k !== "content-length" && k !== "transfer-encoding",
				),
			),
		);
		res.end(Buffer.from(await out.arrayBuffer()));
	} catch (err) {
		res.writeHead(502).end(String(err));
	}
}
