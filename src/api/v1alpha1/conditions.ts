// The catalogue of every condition type, condition reason and Event reason a ModelDeployment can
// carry: part of the API, so users and tools (Argo CD, Flux, alerts) can rely on the names.
// Code imports them from here and never spells one out; a unit test checks that the README's
// reason table lists every reason.
import { READY, RECONCILING, STALLED } from '../../runtime/conditions.js';

export const ConditionType = {
  /** kstatus: the followed version is deployed and tested (True), or why not (False). */
  Ready: READY,
  /** kstatus: present while the operator works towards the spec; absent otherwise. */
  Reconciling: RECONCILING,
  /** kstatus: present while the operator cannot go on until someone acts. */
  Stalled: STALLED,
  /** MLflow answered which version the followed stage or alias points at. */
  ModelResolved: 'ModelResolved',
  /** The MLflow metrics of the version passed spec.analysis.mlflowMetrics (False when they did not). */
  MetricsPassed: 'MetricsPassed',
  /** The serving image of the version exists in ECR, by digest. */
  ImageBuilt: 'ImageBuilt',
  /** The scan gate (spec.image.scan) passed the image, or let it through on a scan error. */
  ImageScanned: 'ImageScanned',
  /** The version was approved (spec.approval.required): False while it waits. */
  Approved: 'Approved',
  /** Blue-green: the preview Deployment runs the version and is available (False while it
   * comes up, or when it never did). */
  Previewed: 'Previewed',
  /** Blue-green: the preview passed spec.strategy.blueGreen.prePromotionAnalysis (False while it
   * is measured, or when it failed). */
  AnalysisPassed: 'AnalysisPassed',
  /** Canary: every step of spec.strategy.canary passed (False while they run, or when one failed). */
  CanaryPassed: 'CanaryPassed',
  /** The serving Deployment runs the version and its rollout finished. */
  Deployed: 'Deployed',
  /** The test Job passed against the rolled-out version. */
  TestsPassed: 'TestsPassed',
  /** The last request to MLflow was answered (False while it is unreachable, slow or failing;
   * the last resolved version goes on serving and Ready is left as it was). */
  RegistryReachable: 'RegistryReachable',
  /** The outcome of the last finished run was written back to MLflow (spec.registry.writeBack):
   * False while it fails; never affects Ready or the deployment. */
  RegistryWriteBack: 'RegistryWriteBack',
  /** A failed run's change to the serving container was undone: True once the Deployment runs
   * the stable version again, False while it rolls back or when that rollback failed. */
  RolledBack: 'RolledBack',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  // ---- progress (Ready=False with Reconciling=True, or a step condition) ----
  /** ModelResolved=True: the version behind the stage or alias is known. */
  Resolved: 'Resolved',
  /** MLflow has the version but has not finished registering it; looked at again soon. */
  VersionNotReady: 'VersionNotReady',
  /** MetricsPassed=True: every check of spec.analysis.mlflowMetrics passed. */
  MetricsPassed: 'MetricsPassed',
  /** A build of the serving image is running. */
  Building: 'Building',
  /** ImageBuilt=True: the build pushed the image and ECR has the reported digest. */
  Built: 'Built',
  /** ImageBuilt=True: the tag already existed in ECR, so no build ran. */
  ImageReused: 'ImageReused',
  /** ImageBuilt=True: builder none, the serving image stays and only the model env changes. */
  NoBuild: 'NoBuild',
  /** The image's ECR scan has not completed yet. */
  Scanning: 'Scanning',
  /** ImageScanned=True: no finding at or above spec.image.scan.failOn (after ignore). */
  ScanPassed: 'ScanPassed',
  /** ImageScanned=True: the scan could not give findings and onScanError is Allow (Warning Event). */
  ScanSkipped: 'ScanSkipped',
  /** Approved=False: the run waits for the approve annotation to name its version. */
  AwaitingApproval: 'AwaitingApproval',
  /** Approved=True: the approve annotation named the run's version. */
  Approved: 'Approved',
  /** RegistryWriteBack=True: the tags (and the live alias) are set in MLflow. */
  WrittenBack: 'WrittenBack',
  /** Blue-green: the preview Deployment of the version is coming up. */
  PreviewStarting: 'PreviewStarting',
  /** Previewed=True: the preview Deployment is available; the tests run against its Service. */
  PreviewAvailable: 'PreviewAvailable',
  /** Blue-green with an active Service: it selects the tested preview Pods while the serving
   * Deployment rolls to the version, and is switched back once every Pod it selected runs it. */
  ServiceSwitched: 'ServiceSwitched',
  /** Canary: a step is at work (the canary comes up at its weight, or an analysis runs). */
  CanaryProgressing: 'CanaryProgressing',
  /** Canary: a pause step waits for its duration. */
  CanaryPaused: 'CanaryPaused',
  /** A Prometheus analysis takes its measurements (canary step, or blue-green pre-promotion). */
  AnalysisRunning: 'AnalysisRunning',
  /** AnalysisPassed=True: the blue-green pre-promotion analysis passed. */
  AnalysisPassed: 'AnalysisPassed',
  /** CanaryPassed=True: every canary step passed; the serving Deployment is promoted. */
  CanaryStepsPassed: 'CanaryStepsPassed',
  /** The serving Deployment is being rolled to the version. */
  RollingOut: 'RollingOut',
  /** Deployed=True: the rollout finished by kubectl's rules. */
  RolledOut: 'RolledOut',
  /** The test Job is running. */
  Testing: 'Testing',
  /** TestsPassed=True: the test Job succeeded. */
  TestsPassed: 'TestsPassed',
  /** Ready=True: every step of the run is done. */
  Succeeded: 'Succeeded',
  /** Reconciling=True after a transient failure: retried with backoff. */
  ProgressingWithRetry: 'ProgressingWithRetry',
  /** RegistryReachable=True: MLflow answered the last poll (whatever it said). */
  RegistryAnswered: 'RegistryAnswered',
  /** MLflow has not answered a poll within a moment; the request goes on in the background and
   * its answer wakes the object (RegistryReachable=False, or Ready=False if nothing is resolved). */
  RegistrySlow: 'RegistrySlow',
  /** Ready=False: the serving container's image or operator-managed env is not what the last
   * run left (live vs expected in the message); put back unless driftPolicy is Report. */
  Drift: 'Drift',
  /** The run failed after it changed the serving container: it is being put back on the stable
   * version (status.stable). */
  RollingBack: 'RollingBack',
  /** RolledBack=True: the serving container runs the stable version again. */
  RolledBack: 'RolledBack',

  // ---- transient failures (retried with backoff) ----
  /** MLflow could not be reached, timed out or answered 5xx/429. */
  RegistryUnavailable: 'RegistryUnavailable',
  /** MLflow answered something that is not the documented JSON. */
  RegistryInvalidResponse: 'RegistryInvalidResponse',
  /** ECR could not be reached or failed on its side. */
  EcrUnavailable: 'EcrUnavailable',
  /** The serving Deployment changed between our read and our patch; read again. */
  DeploymentChanged: 'DeploymentChanged',
  /** Prometheus could not be reached or failed on its side during a canary analysis; the
   * measurement is taken again with backoff and counts for nothing. */
  PrometheusUnavailable: 'PrometheusUnavailable',
  /** The active Service changed between our read and our patch; read again. */
  ServiceChanged: 'ServiceChanged',
  /** Any other unexpected error. */
  ReconcileError: 'ReconcileError',

  // ---- the user must act (Stalled=True) ----
  /** The spec breaks a rule the CRD could not check; fix the ModelDeployment. */
  InvalidSpec: 'InvalidSpec',
  /** RBAC refused a call; grant the operator's ServiceAccount the permission. */
  Forbidden: 'Forbidden',
  /** No registered model of that name in MLflow. */
  ModelNotFound: 'ModelNotFound',
  /** The model has no such alias in MLflow. */
  AliasNotFound: 'AliasNotFound',
  /** No version of the model is in the followed stage. */
  NoVersionInStage: 'NoVersionInStage',
  /** MLflow refused the credentials (401/403). */
  RegistryUnauthorized: 'RegistryUnauthorized',
  /** MLflow refused the request the spec produced (another 4xx). */
  RegistryRequestRefused: 'RegistryRequestRefused',
  /** The Secret named in spec.registry.credentialsSecretRef does not exist. */
  CredentialsSecretNotFound: 'CredentialsSecretNotFound',
  /** The operator may not read that Secret. */
  CredentialsSecretForbidden: 'CredentialsSecretForbidden',
  /** The Secret has neither username+password nor token. */
  InvalidCredentialsSecret: 'InvalidCredentialsSecret',
  /** ECR refused a request: access denied, a name it does not accept, a limit. */
  EcrRequestRefused: 'EcrRequestRefused',
  /** The serving Deployment named in spec.deployment.name does not exist. */
  DeploymentNotFound: 'DeploymentNotFound',
  /** The Service named in spec.strategy.blueGreen.activeService does not exist, has no selector, or
   * is switched by another ModelDeployment; or the preview Service has no port to copy. */
  ServiceUnusable: 'ServiceUnusable',
  /** The serving Deployment has no container named spec.deployment.container. */
  ContainerNotFound: 'ContainerNotFound',
  /** Another ModelDeployment already manages that container of the serving Deployment. */
  TargetClaimed: 'TargetClaimed',
  /** The apiserver refused an object rendered from the spec (400/422); its message says why. */
  ObjectRejected: 'ObjectRejected',
  /** The CodeBuild project named in spec.build.codebuild.projectName does not exist. */
  BuildProjectNotFound: 'BuildProjectNotFound',
  /** The image tag exists but was built from another build spec, and the tag template has no
   * {buildHash} to tell them apart; add it or use a new tag. */
  TagBuiltFromOtherSpec: 'TagBuiltFromOtherSpec',

  // ---- the run failed (Stalled=True; a new version, a spec change or a retry starts another) ----
  /** A metric of the version's MLflow run failed a check of spec.analysis.mlflowMetrics, or was
   * not logged: nothing was built. */
  MetricsFailed: 'MetricsFailed',
  /** The build Job or CodeBuild build failed. */
  BuildFailed: 'BuildFailed',
  /** The build finished without telling the image digest. */
  BuildDigestMissing: 'BuildDigestMissing',
  /** The digest the build reported is not what ECR has for the tag. */
  DigestMismatch: 'DigestMismatch',
  /** The image's scan found vulnerabilities at or above spec.image.scan.failOn. */
  ScanFindings: 'ScanFindings',
  /** The scan could not give findings (failed, unsupported, expired, timed out, refused) and
   * onScanError is Fail. */
  ScanUnavailable: 'ScanUnavailable',
  /** The serving Deployment exceeded its progress deadline. */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  /** Containers of the new Pods restarted more than spec.deployment.maxRestarts times. */
  CrashLooping: 'CrashLooping',
  /** The test Job failed. */
  TestsFailed: 'TestsFailed',
  /** A canary's Prometheus analysis failed more measurements than its failureLimit, or
   * Prometheus refused the query: the canary was removed. */
  AnalysisFailed: 'AnalysisFailed',
  /** Putting the serving container back on the stable version did not finish: the Deployment
   * is left as it is for a person to look at. */
  RollbackFailed: 'RollbackFailed',
  /** A run failed before its reason was recorded (status written by an older operator). */
  RunFailed: 'RunFailed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Reasons of a False step condition that mean "not yet", not "failed" (tools show them as
 * waiting). A new waiting reason belongs here. */
export const STEP_WAITING_REASONS: ReadonlySet<string> = new Set<Reason>([
  Reason.VersionNotReady,
  Reason.RegistrySlow,
  Reason.Building,
  Reason.Scanning,
  Reason.AwaitingApproval,
  Reason.PreviewStarting,
  Reason.ServiceSwitched,
  Reason.CanaryProgressing,
  Reason.CanaryPaused,
  Reason.AnalysisRunning,
  Reason.RollingOut,
  Reason.Testing,
  Reason.RollingBack,
]);

/** How a run ended, in status.currentRun.result and status.history. */
export const RunResult = {
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  /** A new version or spec change started another run before this one finished. */
  Superseded: 'Superseded',
  /** Failed after changing the serving container, which was then put back on the stable version. */
  RolledBack: 'RolledBack',
} as const;
export type RunResult = (typeof RunResult)[keyof typeof RunResult];

/** Reasons of the Events the steps record (transitions of Ready also record its reason). */
export const EventReason = {
  /** MLflow's stage or alias points at another version. */
  NewModelVersion: 'NewModelVersion',
  /** A deployment run of a version started. */
  DeploymentStarted: 'DeploymentStarted',
  /** A build of the serving image started. */
  BuildStarted: 'BuildStarted',
  /** The build pushed the serving image. */
  ImageBuilt: 'ImageBuilt',
  /** The tag already existed in ECR; no build ran. */
  ImageReused: 'ImageReused',
  /** Blue-green: the preview Deployment and Service of the version were created or updated. */
  PreviewStarted: 'PreviewStarted',
  /** Blue-green: the active Service was pointed at the tested preview Pods. */
  ServiceSwitched: 'ServiceSwitched',
  /** Blue-green: the active Service selects the serving Deployment's Pods again. */
  ServiceRestored: 'ServiceRestored',
  /** Blue-green: the preview Deployment and Service were removed (after promotion's delay, or
   * when the run failed). */
  PreviewRemoved: 'PreviewRemoved',
  /** Canary: the canary Deployment was created or resized to a step's weight. */
  CanaryScaled: 'CanaryScaled',
  /** Canary: the canary Deployment and Service were removed (promotion done, or the run failed). */
  CanaryRemoved: 'CanaryRemoved',
  /** The serving Deployment was patched (or found already patched). */
  RolloutStarted: 'RolloutStarted',
  /** The test Job was created. */
  TestStarted: 'TestStarted',
  /** The serving container had drifted from the last run and was put back. */
  DriftCorrected: 'DriftCorrected',
  /** Unfinished build or test work of a superseded run was stopped and deleted. */
  WorkCancelled: 'WorkCancelled',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];
