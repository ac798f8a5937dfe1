// Usage: node validate.mjs FILE.glb  → prints the Khronos validator's JSON report on stdout.
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const path = process.argv[2];
const bytes = new Uint8Array(await readFile(path));
const report = await validator.validateBytes(bytes, { uri: path, maxIssues: 200 });
process.stdout.write(JSON.stringify(report));
