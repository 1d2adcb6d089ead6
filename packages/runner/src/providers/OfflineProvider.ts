/** `--offline`: answers every request that reaches it with an error; plan has already refused any cache miss. */
import { Provider } from "@tollgate/core/Provider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export const layer = Layer.succeed(Provider, {
  send: () =>
    Effect.succeed({
      _tag: "Response" as const,
      status: 400,
      headers: {},
      body: {
        error: { code: 400, message: "--offline: this request is not in the cache, and nothing is sent" }
      }
    })
})
