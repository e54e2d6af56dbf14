/** A fixed text of the profile as its schema reads it: non-empty, with a default where a profile may leave it out. */
import { Schema } from "effect"

export const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "expected a non-empty string" }))

/** An optional text, `fallback` when the profile has none. */
export const text = (fallback: string) => Schema.optionalWith(NonEmpty, { default: () => fallback })
