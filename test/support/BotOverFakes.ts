/**
 * The whole bot over HTTP on both fakes: the fake Bot API and the fake OpenAI endpoint through
 * the live clients, memory stores, the shop's profile. The model is `main-model`, classification
 * `classify-model` (a fake's fallback tells them apart). For streaming tests and bench/streaming.ts.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Layer, Option } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig, type SendConfigShape } from "../../src/telegram/SendConfig.ts"
import { StreamConfig, type StreamConfigShape } from "../../src/telegram/StreamConfig.ts"
import { defaultProfilePath, StoresMemory } from "../../src/testing/index.ts"
import { telegramLayerFor } from "./FakeBotApi.ts"
import { openAiLayerFor } from "./FakeOpenAi.ts"

export const botOverFakes = (
  telegram: Parameters<typeof telegramLayerFor>[0],
  model: { readonly url: string },
  options: { readonly send?: Partial<SendConfigShape>; readonly stream?: Partial<StreamConfigShape> } = {}
) =>
  botLayer({
    telegram: telegramLayerFor(telegram),
    model: openAiLayerFor(model, { model: "main-model", classifyModel: Option.some("classify-model") }),
    stores: StoresMemory,
    profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
    dialogConfig: DialogConfig.make(),
    dispatcherConfig: DispatcherConfig.make(),
    sendConfig: SendConfig.make(options.send),
    streamConfig: StreamConfig.make(options.stream)
  }).pipe(Layer.orDie)
