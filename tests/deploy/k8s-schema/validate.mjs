// Validates Kubernetes objects against the OpenAPI schemas of the npm
// packages kubernetes-models (the built-in API groups) and
// @kubernetes-models/prometheus-operator (PodMonitor and the other CRDs),
// offline: wrong types and missing required fields are errors, misspelled
// optional fields are not (the schemas allow unknown properties).
//
// Usage: node validate.mjs OBJECTS.json
//   OBJECTS.json: [{"source": "where it came from", "object": {...}}, ...]
// Prints one line per object ("ok" or "INVALID" with the reasons) and
// "validated N objects, M invalid"; exits 1 if any object is invalid or has
// no schema (an unknown apiVersion/kind is an error, not a pass).
import { readFileSync } from "node:fs";

// apiVersion -> module path prefix of its models.
function modulePath(apiVersion, kind) {
  if (apiVersion === "monitoring.coreos.com/v1") {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function validate(object) {
  const { apiVersion, kind } = object ?? {};
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["apiVersion and kind must be strings"];
  }
  let model;
  try {
    model = (await import(modulePath(apiVersion, kind)))[kind];
  } catch {
    return [`no schema for ${apiVersion} ${kind}`];
  }
  if (typeof model !== "function") return [`no model class ${kind}`];
  try {
    new model(object).validate();
    return [];
  } catch (e) {
    return String(e.message ?? e).split("\n");
  }
}

const entries = JSON.parse(readFileSync(process.argv[2], "utf8"));
let invalid = 0;
for (const { source, object } of entries) {
  const name = `${source}: ${object?.kind}/${object?.metadata?.name}`;
  const errors = await validate(object);
  if (errors.length === 0) {
    console.log(`ok       ${name}`);
  } else {
    invalid += 1;
    console.log(`INVALID  ${name}\n           ${errors.join("\n           ")}`);
  }
}
console.log(`validated ${entries.length} objects, ${invalid} invalid`);
process.exit(invalid === 0 && entries.length > 0 ? 0 : 1);
