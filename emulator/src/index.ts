// Entry point of the emulator Worker (wrangler and the test bundle both start here).
export { default } from "./app.tsx";
