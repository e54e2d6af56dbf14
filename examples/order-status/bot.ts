/**
 * The order-status bot for production: the bot's own layers chosen from the environment
 * (`TELEGRAM_BOT_TOKEN`, `OPENAI_API_KEY`, `STORE`…), this example's profile and tools, and
 * the team's order service. An entry point provides this layer to the poller or the webhook
 * server; here the in-memory orders stand in for the team's real order system.
 */
import { NodeContext } from "@effect/platform-node"
import { type ConfigError, Layer } from "effect"
import {
  botLayer,
  BotProfileFile,
  type ConfigurationError,
  type StoreError,
  selectedModel,
  selectedStores,
  TelegramApiLive
} from "../../src/index.ts"
import { type OrderService, OrderServiceMemory } from "./OrderService.ts"
import { tools } from "./tools.ts"

const profile = new URL("./profile.json", import.meta.url).pathname

// The type arguments: what building the layer may fail with, and the team's services the tools need.
export const OrderBotLive = botLayer<ConfigError.ConfigError | ConfigurationError | StoreError, OrderService>({
  telegram: TelegramApiLive,
  model: selectedModel,
  stores: selectedStores,
  profile: BotProfileFile(profile).pipe(Layer.provide(NodeContext.layer)),
  tools
}).pipe(
  Layer.provide(OrderServiceMemory([
    { id: "NW-1001", customerId: 42, status: "shipped", carrier: "DHL", trackingNumber: "JD0146000033" }
  ]))
)
