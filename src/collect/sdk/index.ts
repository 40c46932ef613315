// The collector SDK: everything a collector imports, from one place (see docs/collectors.md).
export { z } from "zod";
export { parseDateTime } from "../../domain/rules.js";
export {
  type Auth,
  AuthenticationError,
  basicAuth,
  bearerAuth,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
  SourceError,
  safeUrl,
} from "../http-client.js";
export { dateOrDateTime, httpUrl, isoDateTime, timeZoneName } from "../options.js";
export { queryDateTime } from "../time-zone.js";
export {
  type Checkpoint,
  type CollectContext,
  type Collector,
  defineCollector,
  type ObservationRecord,
  type ReadRecord,
  type RejectedRecord,
  type SourceRecord,
} from "../types.js";
export { showValue, toExternalId, toFiniteNumber, toInstant } from "../values.js";
export {
  authOf,
  authOption,
  basicOrBearerOptions,
  type CredentialKeys,
  requireBasicOrBearer,
} from "./auth.js";
export {
  CursorError,
  DEFAULT_SINCE_DAYS,
  epochSecondsCursor,
  inRange,
  instantCursor,
  rejection,
  type StartBound,
  startBound,
} from "./bounds.js";
export { compareCursors, createCursorHold } from "./cursor-hold.js";
export { type FieldMap, fieldEntries, fieldMapOption, rawFieldsOf } from "./fields.js";
export { createPacer } from "./pace.js";
export {
  explainStatus,
  linkNext,
  nextUrl,
  type Page,
  PageError,
  type PagesOptions,
  pages,
  sameOrigin,
} from "./paging.js";
export { type RawFields, type ReadStyle, readObservation } from "./read.js";
export { apiUrl, countHeader, isObject, vendorDateTime } from "./shape.js";
