// The placement the Fleet controller and `kachiku plan` run: src/fleet's algorithms.
import { place } from '../../fleet/place.js';
import { planDrain, planRetire } from '../../fleet/plan.js';
import type { Placer } from './plan.js';

export const placer: Placer = { place, planDrain, planRetire };
