// Replaces Spectral's oas3-operation-security-defined, which applies OpenAPI 3.0's rule to 3.1
// documents (stoplightio/spectral#2643): in 3.1 a requirement on a scheme other than oauth2 or
// openIdConnect may list role names, "not otherwise defined" by OpenAPI. Conduit defines them as
// the values of one schema (functionOptions.rolesSchema), so a misspelled role is caught here
// instead of locking every caller out at run time.
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function requirementLists(document) {
  const found = [];
  if (Array.isArray(document.security)) found.push({ security: document.security, path: ['security'] });
  for (const [path, pathItem] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const security = pathItem?.[method]?.security;
      if (Array.isArray(security)) found.push({ security, path: ['paths', path, method, 'security'] });
    }
  }
  return found;
}

function oauthScopes(scheme) {
  const scopes = new Set();
  for (const flow of Object.values(scheme.flows ?? {})) {
    for (const name of Object.keys(flow?.scopes ?? {})) scopes.add(name);
  }
  return scopes;
}

export default function securityRequirements(document, options) {
  const schemes = document.components?.securitySchemes ?? {};
  const rolesSchema = document.components?.schemas?.[options?.rolesSchema];
  const roles = new Set(Array.isArray(rolesSchema?.enum) ? rolesSchema.enum : []);
  const results = [];
  for (const { security, path } of requirementLists(document)) {
    security.forEach((requirement, index) => {
      for (const [name, listed] of Object.entries(requirement ?? {})) {
        const where = [...path, index, name];
        const scheme = schemes[name];
        if (scheme === undefined) {
          results.push({ message: `"${name}" is not a scheme of components.securitySchemes`, path: where });
          continue;
        }
        if (scheme.type === 'openIdConnect') continue; // scopes live in the provider's metadata
        const known = scheme.type === 'oauth2' ? oauthScopes(scheme) : roles;
        const kind = scheme.type === 'oauth2' ? 'a scope of the scheme' : `a role (${options?.rolesSchema})`;
        (Array.isArray(listed) ? listed : []).forEach((value, i) => {
          if (!known.has(value)) {
            results.push({ message: `"${value}" is not ${kind}`, path: [...where, i] });
          }
        });
      }
    });
  }
  return results;
}
