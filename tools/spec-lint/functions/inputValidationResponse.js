import { label, operations } from './operations.js';

// An operation that takes input (a parameter, on the path item or the operation, or a request
// body) can be sent invalid input, so it must document the validation error status.
export default function inputValidationResponse(document, options) {
  const status = options?.status ?? '422';
  const results = [];
  for (const op of operations(document)) {
    const parameters = [...(op.pathItem.parameters ?? []), ...(op.operation.parameters ?? [])];
    const takesInput = parameters.length > 0 || op.operation.requestBody !== undefined;
    if (takesInput && !(status in (op.operation.responses ?? {}))) {
      results.push({
        message: `${label(op)} takes input but does not document ${status}`,
        path: ['paths', op.path, op.method, 'responses'],
      });
    }
  }
  return results;
}
