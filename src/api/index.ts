/**
 * The public library entry of tdxsim. The CLI, the server and the web report are thin adapters
 * over these functions.
 */
export { TdxsimError, isTdxsimError } from './errors.js';
export { prepareRun, readJsonFile, resolvePlatform, run, runJson, runPrepared, seamcallLines } from './run.js';
export { shellCommand, shellQuote } from './shell.js';
export type { PreparedRun, RunJson, RunJsonMachine, RunRequest } from './run.js';
export type { RunOutcome, RunResult, StepProgress } from '../scenario/runScenario.js';
export type { Finding } from '../scenario/findings.js';
export { formatTimeline, timelineOf } from '../scenario/timeline.js';
export { noteText, returnCodeText } from '../scenario/noteText.js';
export type { TimelineEvent, TimelineFormat } from '../scenario/timeline.js';
export type { Scenario, ScenarioInput, ScenarioStep } from '../scenario/scenario.js';
export { scenarioNames, namedScenario } from '../scenario/scenarios/index.js';
export { presetNames, presetInput } from '../platform/presets.js';
export { platformJsonSchema, withHexAddresses } from '../platform/spec.js';
export { scenarioJsonSchema } from '../scenario/scenario.js';
export type { PlatformSpec, PlatformSpecInput } from '../platform/spec.js';
export { buildReport, reportSource } from './report.js';
export { recordExecution } from './execution.js';
export type { ExecutionRequest, RecordedExecution } from './execution.js';
export { traceScenario } from './trace.js';
export { inspectScenario, parseMoment } from './inspect.js';
export type { InspectCacheRange, InspectCpu, InspectMoment, InspectPamtRange, InspectRequest, InspectView } from './inspect.js';
export type { ChromeTrace, ChromeTraceEvent } from '../scenario/chromeTrace.js';
export type { ReportModel, ReportRequest, ReportResult } from './report.js';
export { counterexampleScenario, exploreScenario, mergeExploreResults, replayScenario, scenarioTarget, withCpus } from './explore.js';
export type { ExploreRequest, ExploreResult, ReplayResult } from './explore.js';
export { plan, planJson, planSpec } from '../tools/plan.js';
export type { PlanRequest, PlanResult, ProfilePlan, PlannedTdmr, Headroom, DynamicPamtEstimate } from '../tools/plan.js';
export { explain, explainStatus } from '../tools/explain.js';
export type { ExplainRequest, ExplainResult } from '../tools/explain.js';
export { diagnose, DIAGNOSIS_CLASSES, isSuccessClass } from '../tools/diagnose.js';
export type { DiagnoseRequest, DiagnoseResult, DiagnosisClass } from '../tools/diagnose.js';
export { checkKernelName, checkModuleName, closestName } from './profileNames.js';
export { compat } from '../tools/compat.js';
export type { CompatCell, CompatReason, CompatRequest, CompatResult, CompatVerdict, FailingSeamcall } from '../tools/compat.js';
export { describeReleases } from '../module/profiles.js';
export { kernelCatalogue, moduleCatalogue } from '../tools/catalogue.js';
export { createSeamMachine, describeStatus, METADATA_FIELD_NAMES, metadataFieldIdByName, platformPreset, regsFrom, SeamMachine, SEAM_REG_NAMES } from './seam.js';
export type { SeamCallResult, SeamMachineParams, SeamRegName, StatusDescription } from './seam.js';
export type { KernelEntry, ModuleEntry } from '../tools/catalogue.js';
