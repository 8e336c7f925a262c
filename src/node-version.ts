/**
 * The oldest Node that runs Engram: node:sqlite (the embedded store) is
 * available without a flag from 22.13. package.json's engines says the same.
 */
export const minimumNode = { major: 22, minor: 13 } as const;

/** Why this Node cannot run Engram, or undefined if it can. */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major > minimumNode.major || (major === minimumNode.major && minor >= minimumNode.minor)) return undefined;
  return (
    `Node ${version} is too old: Engram needs Node >= ${minimumNode.major}.${minimumNode.minor} ` +
    `(node:sqlite). Install Node 24 (https://nodejs.org), or start Engram with a newer node than ${process.execPath}; ` +
    "the image and scripts/setup.sh use Node 24"
  );
}
