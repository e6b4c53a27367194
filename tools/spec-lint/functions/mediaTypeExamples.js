import { label, operations } from './operations.js';

function hasExample(mediaType) {
  if (mediaType === null || typeof mediaType !== 'object') return false;
  if (mediaType.example !== undefined) return true;
  const examples = mediaType.examples;
  return examples !== null && typeof examples === 'object' && Object.keys(examples).length > 0;
}

function requestResults(op) {
  const content = op.operation.requestBody?.content ?? {};
  return Object.entries(content)
    .filter(([, mediaType]) => !hasExample(mediaType))
    .map(([type]) => ({
      message: `${label(op)}: request body ${type} has no example`,
      path: ['paths', op.path, op.method, 'requestBody', 'content', type],
    }));
}

function responseResults(op) {
  const results = [];
  for (const [status, response] of Object.entries(op.operation.responses ?? {})) {
    for (const [type, mediaType] of Object.entries(response?.content ?? {})) {
      if (!hasExample(mediaType)) {
        results.push({
          message: `${label(op)}: response ${status} ${type} has no example`,
          path: ['paths', op.path, op.method, 'responses', status, 'content', type],
        });
      }
    }
  }
  return results;
}

// Every request body and response media type carries `example` or a non-empty `examples`:
// Swagger UI and ReDoc show them, and Schemathesis' examples phase sends them.
export default function mediaTypeExamples(document, options) {
  const collect = options?.side === 'response' ? responseResults : requestResults;
  return operations(document).flatMap(collect);
}
