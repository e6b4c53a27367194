import { label, operations } from './operations.js';

// A protected operation (effective security not empty, no anonymous `{}` alternative) must
// document 401 (no or bad credentials) and 403 (valid credentials, not allowed).
export default function protectedResponses(document, options) {
  const required = options?.statuses ?? ['401', '403'];
  const results = [];
  for (const op of operations(document)) {
    const security = op.operation.security ?? document.security ?? [];
    const anonymous = security.some((alternative) => Object.keys(alternative ?? {}).length === 0);
    if (security.length === 0 || anonymous) continue;
    const responses = op.operation.responses ?? {};
    const missing = required.filter((status) => !(status in responses));
    if (missing.length > 0) {
      results.push({
        message: `${label(op)} requires authentication but does not document ${missing.join(', ')}`,
        path: ['paths', op.path, op.method, 'responses'],
      });
    }
  }
  return results;
}
