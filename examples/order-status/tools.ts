/** The tools of the order-status bot: the built-in ones plus one line per custom tool. */
import { builtinTools } from "../../src/index.ts"
import { orderStatusTool } from "./orderStatusTool.ts"

export const tools = [...builtinTools, orderStatusTool]
