/**
 * The HTTP API: `buildHttpApi` / `startHttpApi`, the embedded token, the OpenAPI document and the
 * typed client generated from it, the problem types and the response schemas.
 */
export * from './api-token.js';
export * from './client.js';
export * from './http-api.js';
export { openApiDocument } from './openapi.js';
export {
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPES,
  problemTypeUri,
  type ProblemType,
} from './problems.js';
export * from './schemas.js';
