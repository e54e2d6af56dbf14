/**
 * The bot's command menu (the list Telegram shows after `/`), set at start from the command
 * registry: the built-in commands and a team's own, without the admin chat's. One menu for
 * private chats and one for groups, each in the profile's default language (for every user
 * without a menu of their own) and in each other language the profile has texts in. A
 * description is the profile's (`commands`, per language) or the registry's.
 *
 * Telegram keeps the menu, so it is set only when it changed since the last start: its hash is
 * kept in the store's key/value state. A failure to set it is one log line, never a failed start
 * (the menu is a convenience: every command works without it), and the hash is then not kept, so
 * the next start tries again.
 */
import { createHash } from "node:crypto"
import { Effect, Option } from "effect"
import { BotProfile, type BotProfileData } from "../profile/BotProfile.ts"
import { profileLanguages } from "../profile/UserLanguage.ts"
import { ConversationState } from "../store/ConversationState.ts"
import type { CommandMenu } from "../telegram/BotApiMethods.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { Commands } from "./Commands.ts"

/** Where the hash of the menu last set is kept. */
export const menuHashKey = "command-menu:hash"

/** The scopes that get a menu: private chats and groups. */
const scopes = ["all_private_chats", "all_group_chats"] as const

/** A command's description in `language`: the profile's there, else in its default language, else the registry's. */
const describe = (profile: BotProfileData, name: string, fallback: string, language: string): string => {
  const own = profile.commands?.[name]
  if (own === undefined) return fallback
  if (typeof own === "string") return own
  return own[language] ?? own[profile.language] ?? fallback
}

/** Every menu to set: per scope, the default language's (no code) and one per other language. */
export const commandMenus = (
  profile: BotProfileData,
  commands: ReadonlyArray<{ readonly name: string; readonly description: string }>
): ReadonlyArray<CommandMenu> =>
  scopes.flatMap((scope) =>
    profileLanguages(profile).map((language): CommandMenu => ({
      scope,
      commands: commands.map(({ description, name }) => ({ command: name, description: describe(profile, name, description, language) })),
      ...(language === profile.language ? {} : { languageCode: language })
    }))
  )

/** Sets the command menus when they changed since the last start; never fails. */
export const updateCommandMenu = Effect.gen(function*() {
  const profile = yield* BotProfile
  const commands = yield* Commands
  const state = yield* ConversationState
  const api = yield* TelegramApi
  const menus = commandMenus(profile, commands.menu)
  const hash = createHash("sha256").update(JSON.stringify(menus)).digest("hex")
  if (Option.contains(yield* state.get(menuHashKey), hash)) return yield* Effect.logDebug("command menu unchanged")
  yield* Effect.forEach(menus, (menu) => api.setMyCommands(menu), { discard: true })
  yield* state.put(menuHashKey, hash)
  yield* Effect.logInfo(`command menu set: ${commands.menu.length} commands, ${menus.length} menus`)
}).pipe(
  Effect.catchAll((e) => Effect.logWarning(`command menu not set (the commands work without it): ${e.message}`)),
  Effect.withSpan("dialog.command_menu")
)
