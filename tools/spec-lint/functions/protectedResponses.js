import { label, operations } from './operations.js';

const SAFE_METHODS = new Set(['get', 'head', 'options']);

// A protected operation (effective security not empty, no anonymous `{}` alternative) must
// document 401 (no or bad credentials). One that changes state must also document 403: valid
// credentials that may not do this (not the owner, or a banned account). A protected read has no
// such case (banned users may still read), and the contract documents only what can happen,
// unless it is reserved to a role (`Token: [admin]`): then a caller without the role gets 403.
export default function protectedResponses(document, options) {
  const always = options?.statuses ?? ['401'];
  const onWrites = options?.writeStatuses ?? ['403'];
  const results = [];
  for (const op of operations(document)) {
    const security = op.operation.security ?? document.security ?? [];
    const anonymous = security.some((alternative) => Object.keys(alternative ?? {}).length === 0);
    if (security.length === 0 || anonymous) continue;
    const roles = security.some((alternative) =>
      Object.values(alternative ?? {}).some((listed) => Array.isArray(listed) && listed.length > 0),
    );
    const required = SAFE_METHODS.has(op.method) && !roles ? always : [...always, ...onWrites];
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
