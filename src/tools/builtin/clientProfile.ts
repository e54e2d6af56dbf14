/** Tools over the client's own record: read it, update it. */
import { Effect, Option, Schema } from "effect"
import { ClientStore } from "../../store/ClientStore.ts"
import { defineTool, ToolFailure } from "../Tool.ts"

const storeFailure = (e: { readonly message: string }) => new ToolFailure({ message: `store unavailable: ${e.message}` })

export const getClientProfile = defineTool({
  name: "get_client_profile",
  description: "Returns what the shop knows about the current customer: name, phone, email, notes, and their Telegram name.",
  parameters: Schema.Struct({}),
  handler: (_args, context) =>
    Effect.gen(function*() {
      const clients = yield* ClientStore
      const client = yield* clients.get(context.userId).pipe(Effect.mapError(storeFailure))
      return Option.match(client, {
        onNone: () => ({ known: false }),
        onSome: (c) => ({
          known: true,
          telegramName: [c.firstName, c.lastName].filter(Boolean).join(" "),
          ...c.profile,
          handoffRequested: c.handoffRequestedAt !== undefined
        })
      })
    })
})

const Trimmed = (max: number) => Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(max))

export const UpdateProfileParameters = Schema.Struct({
  name: Schema.optional(Trimmed(100).annotations({ description: "The customer's name as they want to be called" })),
  phone: Schema.optional(
    Schema.String.pipe(
      Schema.pattern(/^\+?[0-9][0-9 ()\-.]{5,24}$/, { message: () => "expected a phone number such as +44 20 7946 0958" })
    ).annotations({ description: "Phone number, international format preferred" })
  ),
  email: Schema.optional(
    Schema.String.pipe(
      Schema.pattern(/^[^\s@]{1,64}@[^\s@]{1,255}\.[^\s@]{2,}$/, { message: () => "expected an email address" })
    )
  ),
  notes: Schema.optional(Trimmed(500).annotations({ description: "Anything else worth remembering" }))
}).pipe(
  Schema.filter((p) => Object.values(p).some((v) => v !== undefined) || "give at least one field to update")
)

export const updateClientProfile = defineTool({
  name: "update_client_profile",
  description: "Saves details the customer gave about themselves (name, phone, email, notes). Only pass the fields they actually said.",
  parameters: UpdateProfileParameters,
  handler: (args, context) =>
    Effect.gen(function*() {
      const clients = yield* ClientStore
      const client = yield* clients.updateProfile(context.userId, args).pipe(Effect.mapError(storeFailure))
      return { saved: Object.keys(args).filter((k) => args[k as keyof typeof args] !== undefined), profile: client.profile }
    })
})
