/**
 * The Stop button in the cluster: a stop is asked of every replica at once, as a `Stop` notice
 * on one PostgreSQL channel (`LISTEN`/`NOTIFY`) every replica listens on, and the replica whose
 * registry (`RunningTurns`) has the turn stops it and answers `Stopped`.
 *
 * Why not a message to the conversation's entity: a turn runs on the replica that held the
 * conversation's shard when the turn began, and a message to an entity goes to whichever
 * replica holds the shard now. While a shard moves (a runner joins or leaves), its old owner
 * gives it up at once but drains the turn it runs for up to the entity termination timeout,
 * and the new owner takes the shard only once the old one has released it: in between no
 * replica holds the shard, a message to it waits, and it reaches the new owner after the turn
 * it was meant to stop has ended (which then answers that nothing ran). A notice does not
 * depend on shards: it reaches the replica that runs the turn, wherever that is.
 *
 * A replica takes no update before it listens (it hears its own probe first), and probes its
 * listener every {@link listenerCheck} (a cut listening connection fails silently): one that
 * hears nothing is started again on a new connection. A stop that no replica answers within
 * {@link answerWithin} is reported as one for a turn no longer running; if the answer was only
 * late, the turn is stopped all the same.
 */
import { randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Duration, Effect, FiberHandle, Option, Schedule, Schema, type Scope, Stream } from "effect"
import { StoreError } from "../domain/errors.ts"
import { TelegramId } from "../domain/Update.ts"
import type { RunningTurnsService } from "../dialog/RunningTurns.ts"

/** The channel of the stops, one per database (the cluster's). */
export const stopsChannel = "dialog_bot_turn_stops"

/** How long a stop waits for the replica that runs its turn to answer: a notice takes milliseconds. */
export const answerWithin = Duration.seconds(2)

/** How long a replica waits to hear its own probe at start before it says it cannot listen. */
const listenWithin = Duration.seconds(30)

/** How long a probe of the listener waits to be heard. */
const probeWithin = Duration.seconds(2)

/** How often a replica checks that it still hears the channel. */
export const listenerCheck = Duration.seconds(30)

/** What goes over the channel: a stop, its answer, and a replica's probe of its own listener. */
const Notice = Schema.Union(
  Schema.TaggedStruct("Stop", { ask: Schema.String, chatId: TelegramId, draftId: Schema.Number }),
  Schema.TaggedStruct("Stopped", { ask: Schema.String }),
  Schema.TaggedStruct("Probe", { ask: Schema.String })
)
type Notice = typeof Notice.Type

const decodeNotice = Schema.decodeUnknown(Schema.parseJson(Notice))

export interface TurnStopsService {
  /** Stops the running turn of `chatId` that shows draft `draftId` on whichever replica runs it; whether one answered. */
  readonly stop: (chatId: TelegramId, draftId: number) => Effect.Effect<boolean, StoreError>
}

/**
 * The stops of this replica, over `PgClient`: it listens (until the scope closes, checked every
 * `checkEvery`) and stops the turns of `turns` it is asked to (none without the registry).
 * Returns once it listens.
 */
export const makeTurnStops = (
  turns: Option.Option<RunningTurnsService>,
  checkEvery: Duration.Duration = listenerCheck
): Effect.Effect<TurnStopsService, StoreError, PgClient.PgClient | Scope.Scope> =>
  Effect.gen(function*() {
    const pg = yield* PgClient.PgClient
    /** This replica's questions waiting for their answer, by id. */
    const waiting = new Map<string, Deferred.Deferred<void>>()

    const send = (notice: Notice) =>
      pg`SELECT pg_notify(${stopsChannel}, ${JSON.stringify(notice)})`.pipe(
        Effect.mapError((e) =>
          new StoreError({ operation: "cluster_stop", message: `stop notice not sent: ${e.message}`, retryable: true })
        ),
        Effect.asVoid
      )

    /** Sends the notice made with a fresh id and waits at most `within` for its answer; whether one came. */
    const ask = (notice: (ask: string) => Notice, within: Duration.Duration) =>
      Effect.acquireUseRelease(
        Effect.map(Deferred.make<void>(), (answered) => {
          const id = randomUUID()
          waiting.set(id, answered)
          return { id, answered }
        }),
        ({ answered, id }) =>
          Effect.zipRight(send(notice(id)), Effect.map(Effect.timeoutOption(Deferred.await(answered), within), Option.isSome)),
        ({ id }) => Effect.sync(() => waiting.delete(id))
      )

    const answer = (id: string) => Effect.suspend(() => Option.match(Option.fromNullable(waiting.get(id)), {
      onNone: () => Effect.void,
      onSome: (answered) => Effect.asVoid(Deferred.succeed(answered, undefined))
    }))

    const hear = (payload: string) =>
      Effect.flatMap(Effect.option(decodeNotice(payload)), (notice) => {
        if (Option.isNone(notice)) return Effect.logDebug("a notice on the stops' channel not understood, ignored")
        const heard = notice.value
        if (heard._tag !== "Stop") return answer(heard.ask)
        return Option.match(turns, {
          onNone: () => Effect.void,
          onSome: (running) =>
            Effect.flatMap(running.stop(heard.chatId, heard.draftId), (stopped) =>
              stopped
                ? send({ _tag: "Stopped", ask: heard.ask }).pipe(
                  Effect.catchAll((e) => Effect.logWarning(`turn stopped, the answer not sent: ${e.message}`))
                )
                : Effect.void)
        })
      })

    // Listening for as long as the replica runs. The listening connection's failure is silent
    // (the stream just hears nothing more), so the listener is checked with a probe every
    // `checkEvery` and started again on a new connection when two probes go unheard.
    const listening = yield* FiberHandle.make()
    const listen = FiberHandle.run(
      listening,
      pg.listen(stopsChannel).pipe(
        Stream.runForEach(hear),
        Effect.tapErrorCause((cause) => Effect.logWarning("not listening for stops, listening again", cause)),
        Effect.retry(Schedule.spaced("1 second"))
      )
    )
    const probe = ask((id) => ({ _tag: "Probe", ask: id }), probeWithin).pipe(
      Effect.catchAll((e) => Effect.as(Effect.logDebug(`probe not sent: ${e.message}`), false))
    )
    yield* listen
    // The listener is up once it hears this replica's own probe.
    const heard = yield* probe.pipe(
      Effect.repeat({ until: (heard) => heard, schedule: Schedule.spaced("100 millis") }),
      Effect.timeoutOption(listenWithin)
    )
    if (Option.isNone(heard)) {
      return yield* new StoreError({
        operation: "cluster_stop",
        message: `not listening on ${stopsChannel} after ${Duration.format(listenWithin)}: stops could not reach this replica's turns`,
        retryable: false
      })
    }
    yield* probe.pipe(
      Effect.repeat({ until: (heard) => heard, times: 1 }),
      Effect.flatMap((heard) =>
        heard
          ? Effect.void
          : Effect.logWarning("the stops' listener heard nothing, listening again").pipe(
            // The old listener lets its connection go first, so that a new one is opened.
            Effect.zipRight(FiberHandle.clear(listening)),
            Effect.zipRight(listen)
          )
      ),
      Effect.repeat(Schedule.spaced(checkEvery)),
      Effect.delay(checkEvery),
      Effect.forkScoped
    )

    return {
      stop: (chatId, draftId) =>
        ask((id) => ({ _tag: "Stop", ask: id, chatId, draftId }), answerWithin).pipe(Effect.withSpan("cluster.stop"))
    }
  })
