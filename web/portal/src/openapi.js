// Reads an OpenAPI 3.x or Swagger 2.0 document into one shape the documentation page shows:
//   { version, info, servers: [{url, description}], tags: [{name, description, operations}] }
// an operation being
//   { key, id, method, path, summary, description, deprecated, parameters: [{name, in, required,
//     description, schema, example}], body: {required, description, contentTypes, schema, example} | null,
//     responses: [{status, description, contentTypes, schema}] }
// Local references (#/components/..., #/definitions/...) are followed; schemas keep theirs, the
// schema view follows them lazily (they may be recursive).

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

// The object a local JSON pointer ("#/components/schemas/Forecast") names, or undefined.
export function pointer(doc, ref) {
  if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined
  let node = doc
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')
    if (node == null || typeof node !== 'object') return undefined
    node = node[part]
  }
  return node
}

// Follows $ref chains (at most 20 steps) to the object itself.
export function deref(doc, obj) {
  let node = obj
  for (let n = 0; n < 20 && node && typeof node === 'object' && typeof node.$ref === 'string'; n++) {
    const next = pointer(doc, node.$ref)
    if (next === undefined) return node
    node = next
  }
  return node
}

// The last segment of a reference: "#/components/schemas/Forecast" → "Forecast".
export const refName = (ref) => String(ref).split('/').pop()

// The document's servers, as absolute or relative URL strings with their variables' defaults.
function servers(doc) {
  if (doc.swagger) {
    const basePath = doc.basePath || ''
    if (doc.host) {
      const scheme = (doc.schemes && doc.schemes[0]) || 'https'
      return [{ url: scheme + '://' + doc.host + basePath, description: '' }]
    }
    return basePath ? [{ url: basePath, description: '' }] : []
  }
  return (Array.isArray(doc.servers) ? doc.servers : [])
    .filter((s) => s && typeof s.url === 'string')
    .map((s) => ({
      url: s.url.replace(/\{([^}]+)\}/g, (all, name) => {
        const v = s.variables && s.variables[name]
        return v && v.default != null ? String(v.default) : all
      }),
      description: s.description || '',
    }))
}

function mediaTypes(content) {
  return content && typeof content === 'object' ? Object.keys(content) : []
}

// The first media type's schema and example of an OpenAPI 3 `content`, preferring JSON.
function pickContent(doc, content) {
  const types = mediaTypes(content)
  const type = types.find((t) => /json/i.test(t)) || types[0]
  if (!type) return { contentTypes: [], schema: null, example: undefined }
  const media = deref(doc, content[type]) || {}
  let example = media.example
  if (example === undefined && media.examples && typeof media.examples === 'object') {
    const first = deref(doc, Object.values(media.examples)[0])
    if (first) example = first.value
  }
  return { contentTypes: [type, ...types.filter((t) => t !== type)], schema: media.schema || null, example }
}

function parameter(doc, raw) {
  const p = deref(doc, raw) || {}
  // Swagger 2 keeps type/format/items/enum on the parameter itself.
  const schema = p.schema || (p.type ? { type: p.type, format: p.format, items: p.items, enum: p.enum, default: p.default } : null)
  let example = p.example
  if (example === undefined && p.examples && typeof p.examples === 'object') {
    const first = deref(doc, Object.values(p.examples)[0])
    if (first) example = first.value
  }
  if (example === undefined && schema) {
    const s = deref(doc, schema)
    if (s && s.example !== undefined) example = s.example
    else if (s && s.default !== undefined) example = s.default
  }
  return {
    name: String(p.name || ''),
    in: String(p.in || 'query'),
    required: !!p.required || p.in === 'path',
    description: p.description || '',
    deprecated: !!p.deprecated,
    schema,
    example,
  }
}

function operation(doc, path, method, op, pathParams) {
  const params = new Map()
  for (const raw of [...pathParams, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
    const p = parameter(doc, raw)
    if (p.name) params.set(p.in + ':' + p.name, p) // an operation's parameter overrides the path's
  }
  let body = null
  if (doc.swagger) {
    const consumes = op.consumes || doc.consumes || ['application/json']
    const bodyParam = [...params.values()].find((p) => p.in === 'body')
    const form = [...params.values()].filter((p) => p.in === 'formData')
    if (bodyParam) {
      body = { required: bodyParam.required, description: bodyParam.description, contentTypes: consumes, schema: bodyParam.schema, example: bodyParam.example }
    } else if (form.length) {
      const type = consumes.find((t) => /form/.test(t)) || 'application/x-www-form-urlencoded'
      const properties = Object.fromEntries(form.map((p) => [p.name, { ...(p.schema || {}), description: p.description }]))
      body = { required: form.some((p) => p.required), description: '', contentTypes: [type], schema: { type: 'object', properties, required: form.filter((p) => p.required).map((p) => p.name) } }
    }
    for (const [k, p] of params) if (p.in === 'body' || p.in === 'formData') params.delete(k)
  } else if (op.requestBody) {
    const rb = deref(doc, op.requestBody) || {}
    body = { required: !!rb.required, description: rb.description || '', ...pickContent(doc, rb.content) }
  }
  const produces = op.produces || doc.produces || ['application/json']
  const responses = Object.entries(op.responses && typeof op.responses === 'object' ? op.responses : {}).map(([status, raw]) => {
    const r = deref(doc, raw) || {}
    if (doc.swagger) return { status, description: r.description || '', contentTypes: r.schema ? produces : [], schema: r.schema || null }
    const { contentTypes, schema } = pickContent(doc, r.content)
    return { status, description: r.description || '', contentTypes, schema }
  })
  const id = op.operationId || ''
  return {
    key: id || method.toUpperCase() + ' ' + path,
    id,
    method,
    path,
    summary: op.summary || '',
    description: op.description || '',
    deprecated: !!op.deprecated,
    tags: Array.isArray(op.tags) && op.tags.length ? op.tags.map(String) : ['default'],
    parameters: [...params.values()],
    body,
    responses,
  }
}

export function readDocument(doc) {
  if (!doc || typeof doc !== 'object') throw new Error('the document is not an object')
  const version = doc.openapi ? 'OpenAPI ' + doc.openapi : doc.swagger ? 'Swagger ' + doc.swagger : 'unknown version'
  const operations = []
  for (const [path, rawItem] of Object.entries(doc.paths && typeof doc.paths === 'object' ? doc.paths : {})) {
    const item = deref(doc, rawItem) || {}
    const pathParams = Array.isArray(item.parameters) ? item.parameters : []
    for (const method of METHODS) {
      if (item[method] && typeof item[method] === 'object') operations.push(operation(doc, path, method, item[method], pathParams))
    }
  }
  // Tags in the document's order first, then the others in the order operations use them.
  const described = new Map((Array.isArray(doc.tags) ? doc.tags : []).filter((t) => t && t.name).map((t) => [String(t.name), t.description || '']))
  const order = [...described.keys()]
  for (const op of operations) for (const t of op.tags) if (!order.includes(t)) order.push(t)
  const tags = order
    .map((name) => ({ name, description: described.get(name) || '', operations: operations.filter((op) => op.tags.includes(name)) }))
    .filter((t) => t.operations.length)
  return { version, info: doc.info || {}, servers: servers(doc), tags, operations }
}

// The base URL the try-it consoles call: servers[0] when absolute, else the page's origin with
// that relative URL (or the origin alone).
export function baseUrl(servers, origin = window.location.origin) {
  const first = servers && servers[0] && servers[0].url
  let url
  if (!first) url = origin
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(first)) url = first
  else if (first.startsWith('//')) url = window.location.protocol + first
  else url = new URL(first, origin + '/').href
  return url.replace(/\/+$/, '')
}

// An example value for a schema (the body textarea starts with it).
export function sample(doc, schema, depth = 0, seen = new Set()) {
  if (!schema || depth > 8) return null
  if (schema.$ref) {
    if (seen.has(schema.$ref)) return null
    const next = new Set(seen)
    next.add(schema.$ref)
    return sample(doc, pointer(doc, schema.$ref), depth + 1, next)
  }
  if (schema.example !== undefined) return schema.example
  if (schema.default !== undefined) return schema.default
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0]
  const variants = schema.allOf || null
  if (variants) {
    return variants.reduce((acc, s) => {
      const v = sample(doc, s, depth + 1, seen)
      return v && typeof v === 'object' && !Array.isArray(v) ? { ...acc, ...v } : acc
    }, {})
  }
  if (schema.oneOf || schema.anyOf) return sample(doc, (schema.oneOf || schema.anyOf)[0], depth + 1, seen)
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type
  if (type === 'object' || (!type && schema.properties)) {
    const out = {}
    for (const [name, prop] of Object.entries(schema.properties || {})) {
      if (prop && prop.readOnly) continue
      out[name] = sample(doc, prop, depth + 1, seen)
    }
    return out
  }
  if (type === 'array') return [sample(doc, schema.items, depth + 1, seen)].filter((v) => v !== null)
  if (type === 'integer' || type === 'number') return 0
  if (type === 'boolean') return false
  if (type === 'string') {
    if (schema.format === 'date-time') return new Date(0).toISOString()
    if (schema.format === 'date') return '1970-01-01'
    return 'string'
  }
  return null
}
