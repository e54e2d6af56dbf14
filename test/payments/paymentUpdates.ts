/**
 * Payment updates shaped as Telegram sends them: a `pre_checkout_query`, and a message with a
 * `successful_payment` (private chat of the payer). Each call takes the next update id.
 */
export const anna = { id: 7, is_bot: false, first_name: "Anna" }

let nextUpdate = 900_000

export const preCheckout = (payload: string, amount = 50, from = anna) => ({
  update_id: nextUpdate++,
  pre_checkout_query: { id: `q${nextUpdate}`, from, currency: "XTR", total_amount: amount, invoice_payload: payload }
})

/** A payment; `plan` adds the fields of a subscription's payment (`is_recurring`, `subscription_expiration_date`…). */
export const paid = (payload: string, charge: string, amount = 50, plan: Record<string, unknown> = {}) => ({
  update_id: nextUpdate++,
  message: {
    message_id: nextUpdate,
    from: anna,
    chat: { id: anna.id, type: "private", first_name: anna.first_name },
    date: 1_764_300_000,
    successful_payment: {
      currency: "XTR",
      total_amount: amount,
      invoice_payload: payload,
      telegram_payment_charge_id: charge,
      provider_payment_charge_id: "",
      ...plan
    }
  }
})
