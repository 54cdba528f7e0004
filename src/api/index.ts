/**
 * The public library entry of tdxsim. The CLI, the server and the web report are thin adapters
 * over these functions.
 */
export { TdxsimError, isTdxsimError } from './errors.js';
export { prepareRun, readJsonFile, resolvePlatform, run, runPrepared } from './run.js';
export type { PreparedRun, RunRequest } from './run.js';
export type { RunOutcome, RunResult } from '../explore/runScenario.js';
export type { Finding } from '../explore/findings.js';
export type { Scenario, ScenarioInput, ScenarioStep } from '../explore/scenario.js';
export { scenarioNames, namedScenario } from '../explore/scenarios/index.js';
export { presetNames, presetInput } from '../platform/presets.js';
export { platformJsonSchema } from '../platform/spec.js';
export type { PlatformSpec, PlatformSpecInput } from '../platform/spec.js';
export { buildReport } from './report.js';
export type { ReportModel } from './report.js';
export { exploreScenario, mergeExploreResults, replayScenario, scenarioTarget, withCpus } from './explore.js';
export type { ExploreRequest, ExploreResult, ReplayResult } from './explore.js';
export { plan, planJson, planSpec } from './plan.js';
export type { PlanRequest, PlanResult, ProfilePlan, PlannedTdmr, Headroom, DynamicPamtEstimate } from './plan.js';
export { explain, explainStatus } from './explain.js';
export type { ExplainRequest, ExplainResult } from './explain.js';
export { diagnose, DIAGNOSIS_CLASSES } from './diagnose.js';
export type { DiagnoseRequest, DiagnoseResult, DiagnosisClass } from './diagnose.js';
export { checkKernelName, checkModuleName, closestName } from './profileNames.js';
export { compat } from './compat.js';
export type { CompatCell, CompatReason, CompatRequest, CompatResult, CompatVerdict, FailingSeamcall } from './compat.js';
export { describeReleases } from '../module/profiles.js';
export { kernelCatalogue, moduleCatalogue } from './catalogue.js';
export type { KernelEntry, ModuleEntry } from './catalogue.js';
