/** The built-in tools, in the order they are offered to the model. */
import { getClientProfile, updateClientProfile } from "./clientProfile.ts"
import { requestHumanHandoff } from "./handoff.ts"
import { searchKnowledgeBase } from "./knowledgeBase.ts"
import { getCurrentTime } from "./time.ts"
import { forget, remember } from "./userMemory.ts"

export const builtinTools = [
  getClientProfile,
  updateClientProfile,
  searchKnowledgeBase,
  getCurrentTime,
  requestHumanHandoff,
  remember,
  forget
] as const
