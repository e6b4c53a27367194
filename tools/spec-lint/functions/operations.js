// Shared helpers for Conduit's Spectral functions (no imports: the ruleset is bundled by Spectral).
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Every operation of the document as {path, method, pathItem, operation}.
export function operations(document) {
  const found = [];
  for (const [path, pathItem] of Object.entries(document.paths ?? {})) {
    if (pathItem === null || typeof pathItem !== 'object') continue;
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (operation !== null && typeof operation === 'object') {
        found.push({ path, method, pathItem, operation });
      }
    }
  }
  return found;
}

export function label({ path, method, operation }) {
  const id = operation.operationId ? ` (${operation.operationId})` : '';
  return `${method.toUpperCase()} ${path}${id}`;
}
