/**
 * The order-status bot: this example's profile and tools, and the team's order service. The
 * edges — which Telegram, which model, which stores — come from the command line and the
 * environment (`TELEGRAM_BOT_TOKEN`, `OPENAI_API_KEY`, `STORE`…). Here in-memory orders stand in
 * for the team's real order system.
 */
import type { BotDefinition } from "../../src/cli/index.ts"
import { type OrderService, OrderServiceMemory } from "./OrderService.ts"
import { tools } from "./tools.ts"

export const orderBot: BotDefinition<OrderService> = {
  profile: new URL("./profile.json", import.meta.url).pathname,
  tools,
  services: OrderServiceMemory([
    { id: "NW-1001", customerId: 100_000_001, status: "shipped", carrier: "DHL", trackingNumber: "JD0146000033", estimatedDelivery: "2026-01-20" },
    { id: "NW-1002", customerId: 100_000_001, status: "processing" }
  ])
}
