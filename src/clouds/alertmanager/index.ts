// Alertmanager as a release gate: the active alerts that match a gate's matchers.
export { type ActiveAlert, type AlertmanagerOptions, activeAlerts } from './alerts.js';
export {
  type MatchOp,
  type Matcher,
  formatMatcher,
  isRegexOp,
  matcherProblem,
  parseMatcher,
} from './matchers.js';
export { SourceError, isSourceError, type SourceErrorKind } from '../source-error.js';
