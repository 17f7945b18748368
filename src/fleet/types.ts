// The inputs and outputs of tenant placement (src/fleet/place.ts): plain data, no Kubernetes
// objects, so that the algorithm is pure and the Fleet controller, the CLI's `plan` and the
// benchmarks call the same function.

export type Redundancy = 'Single' | 'Dual';

export interface PlacementTenant {
  /** Unique within the fleet (the Tenant's name). */
  name: string;
  /** Capacity units, an integer ≥ 1. */
  size: number;
  redundancy: Redundancy;
  /** Test tenants go to test Prods first (then standard Prods); others never to test Prods. */
  test: boolean;
  /** A failure domain or cluster to prefer (a preference, not a constraint). */
  pin?: { domain?: string; cluster?: string };
}

/**
 * What a Prod can do for tenants right now, as the controller derives it from the Prod's phase,
 * spec and its cluster's conditions:
 * - `open`: keeps its tenants and takes new ones (Ready or InService, cluster Ready, Reachable,
 *   not cordoned, not draining).
 * - `closed`: keeps its tenants, takes no new ones (cluster cordoned; Prod still warming up).
 * - `leaving`: still serves, but every tenant must move off (cluster draining, Prod retired or
 *   scaled in): make before break — a copy here counts as serving until its move is applied.
 * - `down`: serves nothing (cluster unreachable, Prod not Ready), or must not serve (a release's
 *   rollback avoids its version): its tenants are re-placed at once, no make-before-break; a
 *   Dual tenant's surviving copy becomes its primary at once.
 */
export type ProdState = 'open' | 'closed' | 'leaving' | 'down';

export interface PlacementProd {
  name: string;
  cluster: string;
  domain: string;
  /** Tenant units it may host. */
  capacity: number;
  role: 'test' | 'standard';
  state: ProdState;
}

/** Where one tenant is served: its primary Prod, and for Dual tenants a secondary in another domain. */
export interface TenantPlacement {
  primary: string;
  secondary?: string;
}

/** tenant name → its Prods. Tenants missing from it are not placed. */
export type Assignment = Record<string, TenantPlacement>;

export interface PlacementInput {
  tenants: readonly PlacementTenant[];
  prods: readonly PlacementProd[];
  /** The assignment in force (from the Tenants' status); {} for a new fleet. */
  previous: Assignment;
  /**
   * Moves allowed purely to even out fill (after a cluster returns or is un-drained, or Prods are
   * added); forced moves (a copy on a leaving or down Prod, over capacity) are never limited.
   * Default 0: nothing moves that need not.
   */
  rebalanceMoves?: number;
}

export type MoveReason =
  | 'Placed' // a copy that had no Prod got one
  | 'ProdLeaving' // its Prod is draining, retired or scaled in
  | 'ProdDown' // its Prod or its cluster is down
  | 'ProdGone' // its Prod no longer exists
  | 'OverCapacity' // its Prod's capacity went below what it hosts
  | 'Constraint' // a rule no longer holds (e.g. both copies in one domain, a standard tenant on a test Prod)
  | 'Rebalance' // evening out fill, within rebalanceMoves
  | 'Promoted'; // a Dual tenant's secondary became its primary (its primary is down or leaving)

export interface Move {
  tenant: string;
  /**
   * The slot the copy holds after the move: a displaced primary whose secondary was promoted
   * comes back as the secondary.
   */
  copy: 'primary' | 'secondary';
  /** undefined: the copy had no Prod. */
  from?: string;
  /**
   * undefined: the copy could not be placed (see `unplaced`), or is dropped (a Single tenant's
   * second copy, reason Constraint). A copy on a leaving Prod, or over capacity, that cannot be
   * placed has no move: it stays where it is, still serving, and is listed in `unplaced`.
   */
  to?: string;
  reason: MoveReason;
}

export type UnplacedReason =
  | 'NoCapacity' // no open Prod has room
  | 'SingleDomain' // a Dual tenant, and only one failure domain has an open Prod with room
  | 'NoProds'; // the fleet has no open Prod at all

/**
 * A copy that could not be placed. One that must leave a leaving Prod or a Prod over capacity
 * stays there meanwhile (it still serves) and is in the assignment too.
 */
export interface Unplaced {
  tenant: string;
  /** Which copy could not be placed: a Dual tenant may keep one copy and miss the other. */
  copy: 'primary' | 'secondary';
  reason: UnplacedReason;
  message: string;
}

export interface PlacementResult {
  assignment: Assignment;
  /** Every copy that changed Prod (a promotion is a move with reason Promoted, from ≠ to). */
  moves: Move[];
  unplaced: Unplaced[];
  /**
   * Dual tenants left with one serving copy by this step (their other copy is down or could not
   * be placed): the tenants a further failure would take offline.
   */
  exposed: string[];
  /**
   * The fewest copy moves any placement needs for this step (routing.md: copies that must move):
   * copies on leaving, down or gone Prods, the fewest copies evicted from Prods over capacity, and
   * copies breaking a rule; a Dual tenant whose two serving copies must both move counts one (the
   * other moves next step). Counted against it: moves with a `to` and a reason other than Placed
   * and Promoted.
   */
  lowerBound: number;
  /**
   * Whether the lower bound is reachable with no other tenant moving (routing.md, Hall's
   * condition, generalised to roles and to Dual tenants losing both copies by a max-flow over
   * failure domains). Exact with unit sizes; with larger sizes the same condition on units, which
   * bin packing may still miss.
   */
  lowerBoundReachable: boolean;
  /** Per Prod: units hosted after this step (over capacity if evicting a copy would break rule 8). */
  used: Record<string, number>;
  /**
   * Copies left this step where they must not stay: the second copy of a Dual tenant whose two
   * serving copies must both move (make before break), and copies that must leave but have
   * nowhere to go. 0 when, say, a drain is complete.
   */
  pending: number;
}
