#!/usr/bin/env node
// Package entry: runs the TypeScript CLI in this process (tsx's loader registered first), so
// `dialog-bot <command>` matches `npm start -- <command>` and SIGTERM / SIGINT reach the bot
// itself: it drains and exits with its own code. The compiled build (`npm run build`) runs
// as `node dist/main.js` without tsx.
import { register } from "tsx/esm/api"

register()
await import("../src/main.ts")
