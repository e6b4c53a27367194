// Components reachable from nothing outside `components` are dead weight: generators still emit
// them and readers wonder who uses them. Reachability is transitive (a schema used only by an
// unused schema is unused too); security schemes count as used when a security requirement
// names them. Runs on the unresolved document.
const PREFIX = '#/components/';

function collectRefs(node, into) {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, into);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') into.push(value);
      else if (key === 'mapping' && value !== null && typeof value === 'object') {
        into.push(...Object.values(value).filter((v) => typeof v === 'string'));
      }
      collectRefs(value, into);
    }
  }
}

function collectSecuritySchemes(node, into) {
  if (Array.isArray(node)) {
    for (const item of node) collectSecuritySchemes(item, into);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'security' && Array.isArray(value)) {
        for (const requirement of value) {
          for (const name of Object.keys(requirement ?? {})) into.add(`securitySchemes/${name}`);
        }
      }
      collectSecuritySchemes(value, into);
    }
  }
}

// '#/components/schemas/A~1B/properties/x' -> 'schemas/A~1B' (the component, not a sub-path).
function componentKey(ref) {
  if (!ref.startsWith(PREFIX)) return undefined;
  const [type, name] = ref.slice(PREFIX.length).split('/');
  return name === undefined ? undefined : `${type}/${name}`;
}

function lookup(components, key) {
  const [type, escaped] = key.split('/');
  const name = escaped.replace(/~1/g, '/').replace(/~0/g, '~');
  return components[type]?.[name];
}

export default function unusedComponents(document) {
  const components = document.components ?? {};
  const { components: _ignored, ...roots } = document;
  const used = new Set();
  const pending = [];
  collectRefs(roots, pending);
  while (pending.length > 0) {
    const key = componentKey(pending.pop());
    if (key === undefined || used.has(key)) continue;
    used.add(key);
    const next = [];
    collectRefs(lookup(components, key), next);
    pending.push(...next);
  }
  collectSecuritySchemes(roots, used);
  for (const key of [...used]) collectSecuritySchemes(lookup(components, key), used);
  const results = [];
  for (const [type, members] of Object.entries(components)) {
    if (members === null || typeof members !== 'object') continue;
    for (const name of Object.keys(members)) {
      const key = `${type}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (!used.has(key)) {
        results.push({
          message: `components.${type}.${name} is not used by any operation`,
          path: ['components', type, name],
        });
      }
    }
  }
  return results;
}
