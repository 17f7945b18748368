// A Fleet and its Prods as the Fleet and Prod controllers would leave them, for tests and
// benchmarks of what reads the placement (the Router) without running those controllers: the
// router unit tests' fixtures (src/controllers/router/testing.ts) created in a namespace, each
// Prod with its status.endpoints written.
import type { Rest } from '../../src/runtime/rest.js';
import { updateStatus } from '../../src/runtime/objects.js';
import { mapLimit } from '../../src/runtime/concurrency.js';
import { gvrOf } from '../../src/api/kind.js';
import { fleetKind, type Fleet } from '../../src/api/fleet.js';
import { prodKind, type Prod, type ProdStatus } from '../../src/api/prod.js';
import { fleet, prod } from '../../src/controllers/router/testing.js';

/** Creates the Fleet routed by `routing` and its Prods, each answering at its addresses. */
export async function standInFleet(
  rest: Rest,
  namespace: string,
  name: string,
  routing: NonNullable<Fleet['spec']['routing']>,
  prods: Record<string, string[]>,
): Promise<void> {
  const f = fleet(name, routing);
  await rest.create<Fleet>(gvrOf(fleetKind), { ...f, metadata: { name, namespace } });
  await mapLimit(Object.entries(prods), 8, async ([p, addresses]) => {
    const { metadata, spec, status } = prod(p, addresses, { fleet: name });
    // A Prod needs components to be valid.
    const created = await rest.create<Prod>(gvrOf(prodKind), {
      apiVersion: 'kachiku.io/v1alpha1',
      kind: 'Prod',
      metadata: { ...metadata, namespace },
      spec: { ...spec, components: f.spec.template.components },
    });
    await updateStatus<ProdStatus, Prod>(rest, gvrOf(prodKind), created, () => status!);
  });
}
