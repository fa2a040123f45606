// Validates Kubernetes objects offline; used by test_deploy.py. Prints one JSON document.
//
//   node validate.mjs objects FILE...        every object of every YAML file
//   node validate.mjs samples CRDS SAMPLES   Traefik custom resources against CRDS
//   node validate.mjs crd-fields CRDS        the CRDs' typed fields against Traefik's types
//
// `objects`: each object is validated with the model of its apiVersion and kind from
// kubernetes-models (built-in kinds) or @kubernetes-models/traefik (traefik.io/v1alpha1): the
// JSON schema of the kind from the Kubernetes (or Traefik) OpenAPI document, compiled with ajv:
// types, required fields, enums and formats. That schema allows unknown fields, as the
// OpenAPI document does, while `kubectl apply` rejects them (strict field validation): so
// every field is also looked up in the models' type declarations (`unknown field` errors).
// A CustomResourceDefinition is also checked for the rules of a structural schema.
//
// `samples`: each Traefik resource of SAMPLES is validated with Traefik's own model (as above)
// and against the openAPIV3Schema of its CRD in CRDS, with ajv, unknown fields rejected where
// the CRD does not preserve them. An annotation `test.causeway/expect: invalid` marks a sample
// both must reject.
//
// `crd-fields`: where a CRD's schema lists properties, each must be a field of Traefik's type
// at that place (from @kubernetes-models/traefik), and unless the node keeps unknown fields
// every field of Traefik's type must be listed.
//
// Output: {"results": [{"source", "index", "apiVersion", "kind", "name", "errors": [...]}]}
// (`samples` results have "traefikErrors" and "crdErrors" instead of "errors").
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import Ajv from "ajv";

const here = dirname(fileURLToPath(import.meta.url));
const nodeModules = join(here, "node_modules");

function loadYaml(file) {
  const docs = [];
  parseAllDocuments(readFileSync(file, "utf8")).forEach((doc, index) => {
    if (doc.errors.length) throw new Error(`${file}: document ${index}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) docs.push({ source: file, index, value });
  });
  return docs;
}

// The module of a kind's model, e.g. kubernetes-models/apps/v1/Deployment.
function modelSpecifier(apiVersion, kind) {
  if (apiVersion.startsWith("traefik.io/")) return `@kubernetes-models/traefik/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

// ---- Field declarations from the models' .d.ts files ----------------------------------------
//
// The models are generated from the OpenAPI documents: each definition is one
// `export interface IName { "field"?: Type; ... }`, exported under its qualified name
// (`export { IName as IIoK8sApiCoreV1Container, ... }`), with types made of other interfaces,
// Array<T>, { [key: string]: T; }, unions, literals and primitives.

const interfaces = new Map(); // qualified or file-local key -> {fields, bases, file}
const aliases = new Map(); // key -> type text
const qualified = new Map(); // qualified name -> file-local key

function walk(dir, out) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (entry.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

// Splits `text` at `separator` where no bracket is open.
function splitTop(text, separator) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ("<{([".includes(c)) depth++;
    else if (">})]".includes(c)) depth--;
    else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length);
}

function parseFields(body) {
  const fields = new Map();
  const re = /^ {4}"([^"]+)"\??: /gm;
  let m;
  while ((m = re.exec(body))) {
    let depth = 0;
    let i = re.lastIndex;
    for (; i < body.length; i++) {
      const c = body[i];
      if ("<{([".includes(c)) depth++;
      else if (">})]".includes(c)) depth--;
      else if (c === ";" && depth === 0) break;
    }
    fields.set(m[1], body.slice(re.lastIndex, i).replace(/\s+/g, " ").trim());
    re.lastIndex = i;
  }
  return fields;
}

function indexDeclarations(file) {
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  for (const m of text.matchAll(/^export interface (\w+)(?: extends ([^{]+))? \{\n([\s\S]*?)\n\}/gm)) {
    const bases = m[2] ? splitTop(m[2], ",") : [];
    interfaces.set(`${file}#${m[1]}`, { fields: parseFields(m[3]), bases, file });
  }
  for (const m of text.matchAll(/^export type (\w+) = ([^;]+);/gm)) aliases.set(`${file}#${m[1]}`, m[2].trim());
  for (const m of text.matchAll(/^export (?:type )?\{ (\w+) as (\w+)/gm)) qualified.set(m[2], `${file}#${m[1]}`);
}

for (const root of ["kubernetes-models", "@kubernetes-models/apimachinery", "@kubernetes-models/traefik"])
  walk(join(nodeModules, root), []).forEach(indexDeclarations);

function resolveName(name, file) {
  const local = `${file}#${name}`;
  if (interfaces.has(local) || aliases.has(local)) return local;
  return qualified.get(name);
}

// JSONSchemaPropsOrArray and JSONSchemaPropsOrBool are empty interfaces in the models (the
// OpenAPI document cannot express "a schema, or an array of schemas / a boolean").
const SCHEMA_OR = /ApiextensionsV1JSONSchemaPropsOr(Array|Bool)$/;

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function fieldsOf(key) {
  const decl = interfaces.get(key);
  const fields = new Map();
  for (const base of decl.bases) {
    if (base === "TypeMeta") continue;
    const baseKey = resolveName(base, decl.file);
    if (baseKey && interfaces.has(baseKey)) for (const [k, t] of fieldsOf(baseKey)) fields.set(k, t);
  }
  for (const [k, t] of decl.fields) fields.set(k, t);
  return fields;
}

// Reports the fields of `value` that its type does not declare.
function checkType(value, type, file, path, errors) {
  if (value === null || value === undefined) return;
  const members = splitTop(type, "|");
  if (members.length > 1) {
    const fitting = members.filter((m) =>
      Array.isArray(value) ? m.startsWith("Array<") : isPlainObject(value) && !m.startsWith("Array<") && !/^["\d]|^(string|number|boolean)$/.test(m));
    if (fitting.length === 1) checkType(value, fitting[0], file, path, errors);
    return;
  }
  if (type.startsWith("Array<") && type.endsWith(">")) {
    if (Array.isArray(value)) value.forEach((v, i) => checkType(v, type.slice(6, -1), file, `${path}[${i}]`, errors));
    return;
  }
  const map = /^\{ \[key: string\]: (.*); \}$/.exec(type);
  if (map) {
    if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) checkType(v, map[1], file, `${path}.${k}`, errors);
    return;
  }
  if (!/^\w+$/.test(type)) return; // a literal or an indexed type: ajv checked the value
  let key = resolveName(type, file);
  if (!key) return; // string, number, boolean, any
  if (SCHEMA_OR.test(type)) {
    key = qualified.get("IIoK8sApiextensionsApiserverPkgApisApiextensionsV1JSONSchemaProps");
    if (Array.isArray(value)) value.forEach((v, i) => checkObject(v, key, `${path}[${i}]`, errors));
    else checkObject(value, key, path, errors);
    return;
  }
  if (aliases.has(key)) return checkType(value, aliases.get(key), key.split("#")[0], path, errors);
  checkObject(value, key, path, errors);
}

function checkObject(value, key, path, errors) {
  if (!isPlainObject(value)) return;
  const decl = interfaces.get(key);
  const fields = fieldsOf(key);
  if (fields.size === 0 && decl.bases.length === 0) return; // opaque JSON
  for (const [k, v] of Object.entries(value)) {
    if (!fields.has(k)) errors.push(`${path ? path + "." : ""}${k}: unknown field`);
    else checkType(v, fields.get(k), decl.file, path ? `${path}.${k}` : k, errors);
  }
}

function unknownFields(object, apiVersion, kind) {
  const file = fileURLToPath(import.meta.resolve(modelSpecifier(apiVersion, kind))).replace(/\.js$/, ".d.ts");
  const key = `${file}#I${kind}`;
  if (!interfaces.has(key)) return [`no declaration of ${kind} in ${file}`];
  const errors = [];
  checkObject(object, key, "", errors);
  return errors;
}

// ---- Structural schemas of CustomResourceDefinitions -----------------------------------------

function structuralErrors(crd) {
  const errors = [];
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  if (crd.metadata?.name !== `${names.plural}.${spec.group}`)
    errors.push(`metadata.name must be <plural>.<group> (${names.plural}.${spec.group})`);
  for (const n of ["plural", "singular"])
    if (names[n] && names[n] !== names[n].toLowerCase()) errors.push(`spec.names.${n} must be lower case`);
  const versions = spec.versions ?? [];
  if (versions.filter((v) => v.storage).length !== 1) errors.push("exactly one version must be the storage version");
  for (const version of versions) {
    const root = version.schema?.openAPIV3Schema;
    const at = `spec.versions[${version.name}].schema.openAPIV3Schema`;
    if (!root) {
      errors.push(`${at}: missing`);
      continue;
    }
    if (root.type !== "object") errors.push(`${at}: the root must be of type object`);
    walkSchema(root, at, errors);
  }
  return errors;
}

function walkSchema(node, path, errors) {
  const preserve = node["x-kubernetes-preserve-unknown-fields"] === true;
  const intOrString = node["x-kubernetes-int-or-string"] === true;
  if (intOrString && node.type) errors.push(`${path}: x-kubernetes-int-or-string excludes type`);
  if (!node.type && !intOrString && !preserve) errors.push(`${path}: type is required in a structural schema`);
  if (node.type === "array" && !node.items) errors.push(`${path}: an array needs items`);
  if (node.properties && node.type !== "object") errors.push(`${path}: properties need type object`);
  if (node.properties && node.additionalProperties) errors.push(`${path}: properties and additionalProperties exclude each other`);
  for (const name of node.required ?? [])
    if (!preserve && !(node.properties && name in node.properties)) errors.push(`${path}: required ${name} is not a property`);
  for (const [name, child] of Object.entries(node.properties ?? {})) walkSchema(child, `${path}.properties.${name}`, errors);
  if (isPlainObject(node.items)) walkSchema(node.items, `${path}.items`, errors);
  if (isPlainObject(node.additionalProperties)) walkSchema(node.additionalProperties, `${path}.additionalProperties`, errors);
}

// ---- CRD schemas against Traefik's resource types -------------------------------------------
//
// Where a CRD's schema lists properties, they must be fields of Traefik's type at that place,
// and, unless the node keeps unknown fields, every field of Traefik's type must be listed
// (else the API server would drop or reject it).

function declaredType(type, file, wantArray) {
  for (;;) {
    const members = splitTop(type, "|");
    if (members.length > 1) {
      const fitting = members.filter((m) => (wantArray ? m.startsWith("Array<") : /^\w+$/.test(m) && resolveName(m, file)));
      if (fitting.length !== 1) return null;
      type = fitting[0];
      continue;
    }
    if (wantArray) return type.startsWith("Array<") ? { type: type.slice(6, -1), file } : null;
    const key = /^\w+$/.test(type) && resolveName(type, file);
    if (!key) return null;
    if (aliases.has(key)) {
      type = aliases.get(key);
      file = key.split("#")[0];
      continue;
    }
    return interfaces.has(key) ? { key } : null;
  }
}

function schemaAgainstType(node, type, file, path, errors) {
  if (node.type === "array" && node.items) {
    const element = declaredType(type, file, true);
    if (!element) return errors.push(`${path}: Traefik's type ${type} is not an array`);
    return schemaAgainstType(node.items, element.type, element.file, `${path}.items`, errors);
  }
  if (!node.properties) return;
  const target = declaredType(type, file, false);
  if (!target) return errors.push(`${path}: Traefik's type ${type} has no fields`);
  const fields = fieldsOf(target.key);
  const targetFile = interfaces.get(target.key).file;
  for (const [name, child] of Object.entries(node.properties)) {
    if (!fields.has(name)) errors.push(`${path}.${name}: not a field of Traefik's ${type}`);
    else schemaAgainstType(child, fields.get(name), targetFile, `${path}.${name}`, errors);
  }
  if (!node["x-kubernetes-preserve-unknown-fields"])
    for (const name of fields.keys())
      if (!(name in node.properties)) errors.push(`${path}: Traefik's field ${name} is missing`);
}

function crdFields(crdFile) {
  const results = [];
  for (const { source, index, value } of loadYaml(crdFile)) {
    const kind = value.spec.names.kind;
    const errors = [];
    const file = fileURLToPath(import.meta.resolve(`@kubernetes-models/traefik/traefik.io/v1alpha1/${kind}`)).replace(/\.js$/, ".d.ts");
    if (!interfaces.has(`${file}#I${kind}`)) errors.push(`no Traefik type ${kind}`);
    else
      for (const version of value.spec.versions)
        schemaAgainstType(version.schema.openAPIV3Schema, `I${kind}`, file, kind, errors);
    results.push({ source, index, apiVersion: value.apiVersion, kind: value.kind, name: value.metadata?.name, errors });
  }
  return results;
}

// ---- Commands --------------------------------------------------------------------------------

async function validateModel(object) {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") return ["apiVersion and kind are required"];
  let module;
  try {
    module = await import(modelSpecifier(apiVersion, kind));
  } catch {
    return [`no model for ${apiVersion} ${kind}`];
  }
  const errors = [];
  try {
    new module[kind](object).validate();
  } catch (e) {
    errors.push(...String(e.message).split("\n").filter(Boolean));
  }
  errors.push(...unknownFields(object, apiVersion, kind));
  return errors;
}

async function objects(files) {
  const results = [];
  for (const file of files) {
    for (const { source, index, value } of loadYaml(file)) {
      const errors = await validateModel(value);
      if (value.kind === "CustomResourceDefinition") errors.push(...structuralErrors(value));
      results.push({ source, index, apiVersion: value.apiVersion, kind: value.kind, name: value.metadata?.name, errors });
    }
  }
  return results;
}

// The openAPIV3Schema as ajv's JSON schema, with Kubernetes' field validation: unknown fields
// are errors except under x-kubernetes-preserve-unknown-fields, and in the root's metadata (the
// API server validates an ObjectMeta there, whatever the CRD says).
function toJsonSchema(node, root = false) {
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("x-kubernetes-") || k === "nullable") continue;
    if (k === "properties")
      out.properties = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, root && n === "metadata" ? { type: "object" } : toJsonSchema(s)]));
    else if (k === "items" || (k === "additionalProperties" && isPlainObject(v))) out[k] = toJsonSchema(v);
    else out[k] = v;
  }
  if (node["x-kubernetes-int-or-string"]) out.anyOf = [{ type: "integer" }, { type: "string" }];
  if (node.type === "object" && !node["x-kubernetes-preserve-unknown-fields"] && !("additionalProperties" in node))
    out.additionalProperties = false;
  if (node.nullable && node.type) out.type = [node.type, "null"];
  return out;
}

async function samples(crdFile, samplesFile) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const schemas = new Map();
  for (const { value } of loadYaml(crdFile)) {
    const version = value.spec.versions.find((v) => v.storage);
    schemas.set(`${value.spec.group}/${version.name} ${value.spec.names.kind}`, ajv.compile(toJsonSchema(version.schema.openAPIV3Schema, true)));
  }
  const results = [];
  for (const { source, index, value } of loadYaml(samplesFile)) {
    const traefikErrors = await validateModel(value);
    const validate = schemas.get(`${value.apiVersion} ${value.kind}`);
    let crdErrors = [];
    if (!validate) crdErrors = [`no CRD for ${value.apiVersion} ${value.kind}`];
    else if (!validate(value)) crdErrors = validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`);
    results.push({
      source, index, apiVersion: value.apiVersion, kind: value.kind, name: value.metadata?.name,
      expectInvalid: value.metadata?.annotations?.["test.causeway/expect"] === "invalid",
      traefikErrors, crdErrors,
    });
  }
  return results;
}

const [command, ...args] = process.argv.slice(2);
let results;
if (command === "objects" && args.length) results = await objects(args);
else if (command === "samples" && args.length === 2) results = await samples(args[0], args[1]);
else if (command === "crd-fields" && args.length === 1) results = crdFields(args[0]);
else {
  console.error("usage: node validate.mjs objects FILE... | samples CRDS SAMPLES | crd-fields CRDS");
  process.exit(2);
}
console.log(JSON.stringify({ results }, null, 1));
