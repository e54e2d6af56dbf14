/**
 * A conversation as a cluster entity: the entity id is the chat queue's key of the update
 * (`UpdateJob.key`, as `chatKey` makes it), and each update is one persisted `Update` message
 * whose primary key is its `update_id`, so an update sent twice (a redelivery, a recovery on
 * two replicas) is stored and run once. The entity runs one message at a time: a chat's
 * updates run strictly in order, wherever the entity lives.
 *
 * The message carries the update's id only; its payload and what an earlier run already
 * delivered are read from the inbox when its turn comes.
 */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import { Schema } from "effect"
import { TelegramId } from "../domain/Update.ts"

/** One update of the chat: run it when its turn comes. */
export const ChatUpdate = Rpc.make("Update", {
  payload: {
    updateId: TelegramId,
    /** Dropped by flood protection at intake: only the notice is sent, in the chat's order. */
    flooded: Schema.Boolean,
    /** When the update was queued (epoch millis). */
    queuedAt: Schema.Number
  },
  primaryKey: ({ updateId }) => String(updateId)
}).annotate(ClusterSchema.Persisted, true)

/** The entity type of a conversation. */
export const ChatEntity = Entity.make("Chat", [ChatUpdate])

