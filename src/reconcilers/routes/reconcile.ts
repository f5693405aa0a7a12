import type { Reconciler } from '../../controller/reconciler.js'
import { watchCertificates, type CertificateWatchDeps } from './certificates.js'
import type { RouteSync } from './sync.js'

/**
 * The routes reconciler: the installation's whole proxy configuration, rendered from the database and
 * loaded into Caddy when it differs from what Caddy runs. Its key is queued on every resync, so a
 * Caddy restarted empty or edited by hand is repaired within one resync period; with automatic HTTPS
 * the custom domains' certificates are checked then too. Without Caddy (GILGAL_CADDY_ADMIN_URL unset)
 * there is nothing to do.
 */
export function createRoutesReconciler(
  routes: RouteSync | undefined,
  certificates?: CertificateWatchDeps,
): Reconciler {
  return {
    async reconcile() {
      if (!routes) return {}
      await routes.sync()
      if (certificates) await watchCertificates(certificates)
      return {}
    },
  }
}
