// SCIM error responses (RFC 7644 §3.12). Every refusal of the SCIM endpoint is a ScimError, and
// the route turns it into `scimErrorBody` with the same status. Messages (`detail`) name the
// attribute or operator at fault so an administrator can fix the provider's mapping; they never
// echo a token or a whole request body.

export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

/** The scimType values of RFC 7644 Table 9 that UniAsset uses, with the status each goes with. */
export const SCIM_TYPE_STATUS = {
  invalidFilter: 400,
  tooMany: 400,
  uniqueness: 409,
  mutability: 400,
  invalidSyntax: 400,
  invalidPath: 400,
  noTarget: 400,
  invalidValue: 400,
  invalidVers: 400,
  sensitive: 400,
} as const;

export type ScimType = keyof typeof SCIM_TYPE_STATUS;

/** Statuses a SCIM error may have without a scimType (RFC 7644 §3.12). */
export type ScimStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 429 | 500 | 501;

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  /** RFC 7644 §3.12: the HTTP status code as a JSON string. */
  status: string;
  scimType?: ScimType;
  detail: string;
}

export class ScimError extends Error {
  readonly status: ScimStatus;
  readonly scimType: ScimType | undefined;
  readonly detail: string;

  private constructor(status: ScimStatus, scimType: ScimType | undefined, detail: string, options?: { cause?: unknown }) {
    super(scimType ? `${scimType}: ${detail}` : detail, options);
    this.name = "ScimError";
    this.status = status;
    this.scimType = scimType;
    this.detail = detail;
  }

  /** A 400 or 409 with a scimType; the status follows from the type. */
  static of(scimType: ScimType, detail: string, options?: { cause?: unknown }): ScimError {
    return new ScimError(SCIM_TYPE_STATUS[scimType], scimType, detail, options);
  }

  /** An error that has no scimType: 401, 403, 404, 413, 429, 501 and the like. */
  static status(status: ScimStatus, detail: string): ScimError {
    return new ScimError(status, undefined, detail);
  }

  static invalidFilter(detail: string) {
    return ScimError.of("invalidFilter", detail);
  }
  static invalidSyntax(detail: string) {
    return ScimError.of("invalidSyntax", detail);
  }
  static invalidValue(detail: string) {
    return ScimError.of("invalidValue", detail);
  }
  static invalidPath(detail: string) {
    return ScimError.of("invalidPath", detail);
  }
  static noTarget(detail: string) {
    return ScimError.of("noTarget", detail);
  }
  static mutability(detail: string) {
    return ScimError.of("mutability", detail);
  }
  static uniqueness(detail: string) {
    return ScimError.of("uniqueness", detail);
  }
  static tooMany(detail: string) {
    return ScimError.of("tooMany", detail);
  }
  static notFound(detail: string) {
    return ScimError.status(404, detail);
  }

  toBody(): ScimErrorBody {
    return scimErrorBody(this);
  }
}

/** The JSON body of a SCIM error response (RFC 7644 §3.12). */
export function scimErrorBody(error: ScimError): ScimErrorBody {
  const body: ScimErrorBody = { schemas: [ERROR_SCHEMA], status: String(error.status), detail: error.detail };
  if (error.scimType) body.scimType = error.scimType;
  return body;
}
