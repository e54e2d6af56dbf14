/** Clients the bot talks to, keyed by Telegram user id. */
import { Context, type Effect, type Option } from "effect"
import type { Client, ClientProfile, NewClient } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"

export interface ClientStoreService {
  /** The client with this id, created from what Telegram tells about the user if it is new. */
  readonly getOrCreate: (user: NewClient) => Effect.Effect<Client, StoreError>
  readonly get: (id: TelegramId) => Effect.Effect<Option.Option<Client>, StoreError>
  /** Sets the given profile fields; fields not given keep their value. Fails if the client does not exist. */
  readonly updateProfile: (id: TelegramId, patch: ClientProfile) => Effect.Effect<Client, StoreError>
  /** Marks whether the user has blocked the bot (no sends while blocked). Creates nothing. */
  readonly setBlocked: (id: TelegramId, blocked: boolean) => Effect.Effect<void, StoreError>
  /** Records that the client asked for a human. */
  readonly requestHandoff: (id: TelegramId, reason: string) => Effect.Effect<Client, StoreError>
}

export class ClientStore extends Context.Tag("dialog-bot/ClientStore")<ClientStore, ClientStoreService>() {}
