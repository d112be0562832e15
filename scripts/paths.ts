import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root; scripts work from any current directory. */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
