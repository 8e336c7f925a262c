import { PermissionDeniedError } from "./errors.js";

/**
 * Who may do what: each caller is bound to namespaces and scopes. Pure; the
 * RPC layer authenticates the caller and asks this before every call.
 *   read   reading memories and sessions, assembling context, usage reports
 *   write  appending, remembering, working state, ending sessions, forgetting one memory
 *   admin  erasing a user (ForgetUser) and eviction beyond one user
 */
export type Permission = "read" | "write" | "admin";

export interface Caller {
  readonly name: string;
  /** Namespaces the caller may touch; "*" for all. */
  readonly namespaces: readonly string[];
  readonly permissions: readonly Permission[];
}

/** The caller of an unauthenticated server (auth off, loopback or explicitly insecure). */
export const anonymousCaller: Caller = {
  name: "anonymous",
  namespaces: ["*"],
  permissions: ["read", "write", "admin"],
};

/**
 * Throws PermissionDeniedError unless `caller` holds `permission` in
 * `namespace` (undefined: every namespace, which needs a caller of all).
 */
export function authorize(caller: Caller, permission: Permission, namespace: string | undefined): void {
  if (!caller.permissions.includes(permission)) {
    throw new PermissionDeniedError(`caller "${caller.name}" lacks the ${permission} scope`);
  }
  const everywhere = caller.namespaces.includes("*");
  if (namespace === undefined ? !everywhere : !everywhere && !caller.namespaces.includes(namespace)) {
    throw new PermissionDeniedError(
      `caller "${caller.name}" may not access ${namespace === undefined ? "every namespace" : `namespace "${namespace}"`}`,
    );
  }
}
