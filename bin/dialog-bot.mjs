#!/usr/bin/env -S node --max-semi-space-size=64
// Package entry: runs the TypeScript CLI in this process (tsx's loader registered first), so
// `dialog-bot <command>` matches `npm start -- <command>` and SIGTERM / SIGINT reach the bot
// itself: it drains and exits with its own code. The compiled build (`npm run build`) runs
// as `node dist/main.js` without tsx. The shebang's `--max-semi-space-size=64` (the same in
// `npm start`) gives V8 a larger young generation: the bot's short-lived per-update objects
// then die there instead of being promoted, which cut CPU per update by about a fifth
// (README, "Node flags").
import { register } from "tsx/esm/api"

register()
await import("../src/main.ts")
