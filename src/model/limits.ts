/**
 * What the operator allows (GILGAL_MAX_*): bounds on each container, quotas on each user, and the
 * pace of a user's writes. A container never runs without a memory and CPU limit.
 */
export interface Limits {
  /** Memory of one container, in bytes (GILGAL_MAX_MEMORY). */
  memoryBytes: number
  /** CPUs of one container (GILGAL_MAX_CPUS). */
  cpus: number
  quotas: Quotas
  /** Writes (any POST, PUT, PATCH or DELETE) per user per minute (GILGAL_MAX_WRITES_PER_MINUTE). */
  writesPerMinute: number
}

/** Per user: what their projects may hold at once. */
export interface Quotas {
  /** GILGAL_MAX_PROJECTS */
  projects: number
  /** GILGAL_MAX_ENVIRONMENTS, over all their projects. */
  environments: number
  /** GILGAL_MAX_REPLICAS: the sum of `replicas` over all their environments. */
  replicas: number
  /** GILGAL_MAX_BUILDS: revisions queued or building. */
  builds: number
}

/** The environment variable that sets each quota, for messages that say what to ask the operator for. */
export const QUOTA_VARIABLES: Record<keyof Quotas, string> = {
  projects: 'GILGAL_MAX_PROJECTS',
  environments: 'GILGAL_MAX_ENVIRONMENTS',
  replicas: 'GILGAL_MAX_REPLICAS',
  builds: 'GILGAL_MAX_BUILDS',
}

// The smallest limits the engine accepts (6 MB of memory, a hundredth of a CPU): a smaller value
// is a mistake, and 0 would mean no limit at all.
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024
export const MIN_CPUS = 0.01
