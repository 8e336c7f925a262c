import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/**
 * The import graph of src/: every relative import, `export … from` and
 * dynamic import, type-only ones included (a cycle of types is still two
 * layers that each need the other), read with the TypeScript compiler's own
 * pre-processor rather than a regular expression.
 */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export function readImportGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const targets = importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith("."))
      .map((name) => resolve(dirname(file), name.replace(/\.js$/, ".ts")));
    for (const target of targets) {
      if (!existsSync(target)) throw new Error(`${relative(root, file)} imports ${target}, which is not a file`);
    }
    graph.set(
      relative(root, file),
      targets.map((target) => relative(root, target)),
    );
  }
  return graph;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** One cycle as the path of files that closes it (first file repeated at the end), or undefined. */
export function findCycle(graph: ImportGraph): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (file: string): string[] | undefined => {
    if (onPath.has(file)) return [...path.slice(path.indexOf(file)), file];
    if (done.has(file)) return undefined;
    path.push(file);
    onPath.add(file);
    for (const target of graph.get(file) ?? []) {
      const cycle = visit(target);
      if (cycle) return cycle;
    }
    path.pop();
    onPath.delete(file);
    done.add(file);
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The layer of a file: its first directory under src/, or the file's own name for the top-level files. */
export function layerOf(file: string): string {
  const [first, ...rest] = file.split("/");
  return rest.length > 0 ? first! : first!.replace(/\.ts$/, "");
}

/**
 * Every import that leaves its layer for one the layer may not depend on,
 * as "from -> to". `allowed` lists, per layer, the layers (or single files)
 * it may import besides itself; a layer missing from it is an error, so a
 * new directory has to be placed deliberately.
 */
export function forbiddenImports(graph: ImportGraph, allowed: Readonly<Record<string, readonly string[]>>): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    const layer = layerOf(file);
    const may = allowed[layer];
    if (may === undefined) {
      found.push(`${file}: layer "${layer}" has no rule`);
      continue;
    }
    for (const target of targets) {
      const to = layerOf(target);
      if (to !== layer && !may.includes(to) && !may.includes(target)) found.push(`${file} -> ${target}`);
    }
  }
  return found;
}
