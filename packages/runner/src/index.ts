export { main } from "./Cli.ts"
export type { Io } from "./Io.ts"
