// The program executor's public surface: the program format, the round merger and runProgram.

export { RoundMerger, StepSession } from './merger.js';
export { runProgram, type RunOptions, type RunResult, type ProgramProgress } from './run.js';
export { STEP_KINDS, stepKind, bilinearMap, type StepContext, type StepFn } from './steps.js';
export { applyPost } from './post.js';
export { PROGRAM_FORMAT, type Program, type ProgramStep, type ProgramOutput, type SetupStep, type MapSpec, type PostOp } from './program.js';
export { ARTIFACT_FORMAT, partyFiles, sessionTag, type Manifest } from './manifest.js';
export { loadPartyArtifacts, readManifest, sha256, type PartyArtifacts, type WeightsIndex } from './artifacts.js';
