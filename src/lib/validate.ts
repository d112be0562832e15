// The one way inputs are validated: zod schemas through @hono/zod-validator, with a hook that
// turns any failure into an AppError, so bad input gets a clear message and changes nothing.
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { ZodType } from "zod";
import { AppError } from "./errors.ts";

export function validate<Target extends keyof ValidationTargets, Schema extends ZodType>(target: Target, schema: Schema) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      const messages = result.error.issues.slice(0, 3).map((issue) => issue.message);
      throw new AppError("invalid_input", [...new Set(messages)].join(" "));
    }
  });
}
