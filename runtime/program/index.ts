// The program executor's public surface: the program format, its validation, the round merger and runProgram.

export { RoundMerger, StepSession } from './merger.js';
export { runProgram, type RunOptions, type RunResult, type ProgramProgress } from './run.js';
export { prepareOffline, offlineWaitMs, programDigest, checkOfflineTag, OfflineMaterial, type OfflineTag, type OfflineOptions } from './offline.js';
export { serverRunner, clientRunner, type ServerRunner } from './serve.js';
export { STEP_KINDS, stepKind, bilinearMap, type StepContext, type StepFn } from './steps.js';
export { applyPost } from './post.js';
export { PROGRAM_FORMAT, type Program, type ProgramStep, type ProgramOutput, type SetupStep, type MapSpec, type PostOp } from './program.js';
export { parseProgram, PROGRAM_LIMITS } from './validate.js';
export { ARTIFACT_FORMAT, architectureDigest, partyFiles, sessionTag, type Manifest, type ManifestBase, type PartyManifest } from './manifest.js';
export { loadPartyArtifacts, partyFolder, readManifest, sha256, type PartyArtifacts, type WeightsIndex } from './artifacts.js';
