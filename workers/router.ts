// Every public route, one line each, delegating to a named handler (the contract is in /openapi.json).
import { Router } from "itty-router";
import { ApiError, decodePath, errorResponse } from "./http.ts";
import { getMe, postAccount } from "./routes/accounts.ts";
import { deleteKey, getKeys, getMyAudit, postKey } from "./routes/keys.ts";
import { deleteNodeKey, postNodeKeyRotation, putNodeKey } from "./routes/node-keys.ts";
import {
	deleteFlag,
	getAudit,
	getLivenessMetrics,
	postAdjustment,
	postAdjustmentApproval,
	postFlag,
	postSettle,
	putRole,
} from "./routes/admin.ts";
import { deleteMute, getAlertSettings, patchAlertSettings, postMute } from "./routes/alerts.ts";
import { connectNode, heartbeatNode } from "./routes/node-link.ts";
import { postDownload, postDownloadAnswer, postUpload } from "./routes/bandwidth.ts";
import { deleteNode, getFlips, getNode, getUptime, listNodes, patchNode, postNode } from "./routes/nodes.ts";
import { postLink } from "./routes/links.ts";
import { getOpenApi } from "./routes/openapi.ts";
import {
	deleteCluster,
	getBilling,
	getCluster,
	getPrices,
	listClusters,
	postCluster,
	postCredits,
	postQuote,
} from "./routes/renting.ts";
import { getAccountPoints, getEpochRoute, getLeaderboard, getNodePoints, getProof } from "./routes/points.ts";
import { getIncidents, getStats } from "./routes/stats.ts";
import { telegramWebhook } from "./routes/telegram.ts";
import { discordInteractions } from "./routes/discord.ts";
import { getTicket, getTickets, postTicket, postTicketClose, postTicketMessage } from "./routes/tickets.ts";
import { getVerifyRound, postVerifyRound } from "./routes/verify-rounds.ts";

export const router = Router<import("itty-router").IRequest, [Env, ExecutionContext]>({
	before: [decodePath],
	catch: errorResponse,
})
	.post("/v1/accounts", postAccount)
	.get("/v1/me", getMe)
	.post("/v1/me/keys", postKey)
	.get("/v1/me/keys", getKeys)
	.delete("/v1/me/keys/:id", deleteKey)
	.get("/v1/me/audit", getMyAudit)
	.post("/v1/nodes", postNode)
	.get("/v1/nodes", listNodes)
	.get("/v1/nodes/:id", getNode)
	.patch("/v1/nodes/:id", patchNode)
	.delete("/v1/nodes/:id", deleteNode)
	.put("/v1/nodes/:id/key", putNodeKey)
	.delete("/v1/nodes/:id/key", deleteNodeKey)
	.post("/v1/nodes/:id/key/rotate", postNodeKeyRotation)
	.get("/v1/nodes/:id/uptime", getUptime)
	.get("/v1/nodes/:id/flips", getFlips)
	.get("/v1/nodes/:id/connect", connectNode)
	.post("/v1/nodes/:id/heartbeat", heartbeatNode)
	.post("/v1/nodes/:id/bandwidth/upload", postUpload)
	.post("/v1/nodes/:id/bandwidth/download", postDownload)
	.post("/v1/nodes/:id/bandwidth/download/:test", postDownloadAnswer)
	.post("/v1/links", postLink)
	.get("/v1/stats", getStats)
	.get("/v1/incidents", getIncidents)
	.get("/v1/nodes/:id/points", getNodePoints)
	.get("/v1/points", getAccountPoints)
	.get("/v1/leaderboard", getLeaderboard)
	.get("/v1/epochs/:n", getEpochRoute)
	.get("/v1/epochs/:n/proof/:node_id", getProof)
	.get("/v1/prices", getPrices)
	.post("/v1/quotes", postQuote)
	.post("/v1/clusters", postCluster)
	.get("/v1/clusters", listClusters)
	.get("/v1/clusters/:id", getCluster)
	.delete("/v1/clusters/:id", deleteCluster)
	.get("/v1/billing", getBilling)
	.post("/v1/admin/credits", postCredits)
	.get("/v1/alerts/settings", getAlertSettings)
	.patch("/v1/alerts/settings", patchAlertSettings)
	.post("/v1/alerts/mutes", postMute)
	.delete("/v1/alerts/mutes/:target", deleteMute)
	.post("/telegram/webhook", telegramWebhook)
	.get("/v1/admin/liveness", getLivenessMetrics)
	.post("/v1/admin/epochs/settle", postSettle)
	.post("/v1/admin/adjustments", postAdjustment)
	.post("/v1/admin/adjustments/:id/approve", postAdjustmentApproval)
	.post("/v1/admin/flags", postFlag)
	.delete("/v1/admin/flags/:id", deleteFlag)
	.post("/v1/admin/verify-rounds", postVerifyRound)
	.get("/v1/admin/verify-rounds/:id", getVerifyRound)
	.get("/v1/admin/audit", getAudit)
	.put("/v1/admin/accounts/:id/role", putRole)
	.post("/v1/tickets", postTicket)
	.get("/v1/tickets", getTickets)
	.get("/v1/tickets/:id", getTicket)
	.post("/v1/tickets/:id/messages", postTicketMessage)
	.post("/v1/tickets/:id/close", postTicketClose)
	.post("/discord/interactions", discordInteractions)
	.get("/openapi.json", getOpenApi)
	.all("*", (request) => {
		throw new ApiError(
			404,
			"not_found",
			`No route ${request.method} ${new URL(request.url).pathname}; see /openapi.json.`,
		);
	});
