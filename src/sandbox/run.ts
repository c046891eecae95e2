/**
 * Runs one request in a fresh QuickJS runtime and context, synchronously, on the calling thread. The worker
 * pool calls this inside a worker; nothing here knows about threads.
 *
 * A sandbox is prepared ahead of its request (`prepareSandbox`: runtime, context and encoder, no tool
 * code). It serves one request and is then disposed (`runInQuickJS`), or its module's memory is restored to
 * an image taken before it ever ran and it serves the next as if new (image.ts, `rewind`).
 *
 * Guarantees: nothing a run leaves behind is visible to the next, every handle a run makes is disposed by
 * its end, and no exception for anything the guest does. It throws only for host faults (a broken WASM
 * module), after which the caller must discard the module.
 */
import {
  shouldInterruptAfterDeadline,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import {
  buildConsoleScript,
  buildEncoderScript,
  buildFailureScript,
  FAILURE_FILE_NAME,
  INTRINSICS,
  type IntrinsicName,
  buildToolFactoryScript,
  CONSOLE_FILE_NAME,
  ENCODER_FILE_NAME,
  GUEST_TOOL_FILE_NAME,
  MAX_ERROR_CHARS,
  usesConsole,
} from './guest-driver.js';
import { contextOptions, intrinsicsFor, type IntrinsicSet } from './intrinsics.js';
import { heapReach } from './heap-break.js';
import { MAX_HEAP_BYTES, wasmMemoryOf, type WasmMemory } from './module.js';
import type { RunLimits } from './limits.js';
import type { RunOutcome, RunRequest } from './outcome.js';
import {
  capLogs,
  capText,
  classify,
  describeFailure,
  describeWithoutGuestCode,
  acceptResultJson,
  MEMORY,
  TAMPERED,
  TIMEOUT,
} from './failure.js';

/** What a run produced, and whether the module may be used again. */
export interface RunReport {
  readonly outcome: RunOutcome;
  /**
   * False when disposing the runtime failed. QuickJS can leave objects alive after an interrupted job
   * queue or an out-of-memory unwind, and JS_FreeRuntime then aborts the whole WASM module; the caller
   * must discard the module (the worker replaces it). The outcome is still correct.
   */
  readonly moduleHealthy: boolean;
}

/**
 * A fresh runtime and context, with the encoder in place and no tool code yet. Serves one request, unless
 * its module's memory is put back as it was before the next (see image.ts and `rewind`).
 */
export interface FreshSandbox {
  /** The limits it was built with; all but `timeoutMs` are fixed at preparation. */
  readonly limits: RunLimits;
  /** The built-ins its context has (see intrinsics.ts): it serves only code that needs exactly these. */
  readonly intrinsics: IntrinsicSet;
  /**
   * Runs `request` within `timeoutMs`; call at most once. Never throws for guest behaviour. With `factory`
   * (from `compileTool` for the same code and entry), the tool is not compiled again.
   */
  run(
    request: RunRequest,
    timeoutMs: number,
    now?: () => number,
    factory?: QuickJSHandle,
  ): RunOutcome;
  /** Frees everything; false when QuickJS could not free the runtime (discard the module). */
  dispose(): boolean;
  /**
   * Lets the sandbox run once more. Only after its module's memory has been restored to an image taken
   * before it ever ran (see image.ts): QuickJS's side is then as fresh as it was; this resets the host's.
   */
  rewind(): void;
  /** Installs an interrupt handler that never fires, so an image taken now has interrupts enabled. */
  armInterrupts(): void;
  /** The address of its QuickJS context in the module's memory. */
  readonly contextAddress: number;
  /** Draws one Math.random() in its context (to find the generator's state: see random-state.ts). */
  drawRandom(): number;
  /**
   * Compiles a tool's factory (see `buildToolFactoryScript`) in its context, within `timeoutMs`; undefined
   * if it does not compile to exactly that function (code that closes the wrapper early could run here).
   * The handle is the caller's to dispose, before this sandbox.
   */
  compileTool(code: string, entry: string, timeoutMs: number): QuickJSHandle | undefined;
}

/** Runs `request` under `limits` in a sandbox of its own and disposes it. Never throws for guest behaviour. */
export function runInQuickJS(
  module: QuickJSWASMModule,
  request: RunRequest,
  limits: RunLimits,
  now: () => number = Date.now,
): RunReport {
  const sandbox = prepareSandbox(module, limits, intrinsicsFor(request.code));
  let outcome: RunOutcome;
  let healthy = false;
  try {
    outcome = sandbox.run(request, limits.timeoutMs, now);
  } finally {
    healthy = sandbox.dispose();
  }
  return { outcome, moduleHealthy: healthy };
}

/**
 * Builds a sandbox for one request under `limits`: a fresh runtime with the memory and stack limits, a fresh
 * context with the built-ins in `intrinsics` (`intrinsicsFor(code)`), the encoder evaluated and the
 * intrinsics the host calls captured, all before any tool code. Throws only for a host fault (the module is
 * broken).
 */
export function prepareSandbox(
  module: QuickJSWASMModule,
  limits: RunLimits,
  intrinsics: IntrinsicSet,
): FreshSandbox {
  const runtime = module.newRuntime({
    // QuickJS takes a 32-bit size here (4 GiB would wrap to 0); the WebAssembly heap stops at 2 GiB anyway.
    memoryLimitBytes: Math.min(limits.memoryLimitBytes, MAX_HEAP_BYTES),
    maxStackSizeBytes: limits.maxStackSizeBytes,
  });
  const owned: QuickJSHandle[] = [];
  let context: QuickJSContext | undefined;
  try {
    context = runtime.newContext(contextOptions(intrinsics));
    const captured = captureIntrinsics(context, owned);
    const encoder = context.evalCode(buildEncoderScript(limits), ENCODER_FILE_NAME);
    if (encoder.error) {
      encoder.error.dispose();
      throw new Error('the sandbox encoder failed to evaluate');
    }
    const encode = encoder.value;
    owned.push(encode);
    const named = (name: IntrinsicName): QuickJSHandle => {
      const handle = captured[INTRINSIC_INDEX[name]];
      if (!handle) throw new Error(`the sandbox has no intrinsic ${name}`);
      return handle;
    };
    return new QuickJSSandbox(
      runtime,
      wasmMemoryOf(module),
      context,
      limits,
      intrinsics,
      {
        encode,
        intrinsics: captured,
        parse: named('parse'),
        promise: named('Promise_'),
        resolve: named('resolve'),
        fnToString: named('fnToString'),
      },
      owned,
    );
  } catch (error) {
    for (const handle of owned) handle.dispose();
    context?.dispose();
    runtime.dispose();
    throw error;
  }
}

/** Each intrinsic's path from the global object, split once rather than on every call. */
const INTRINSIC_PATHS = INTRINSICS.map(([, path]) => path.split('.'));
/** Where each intrinsic sits in INTRINSICS (and in what captureIntrinsics returns). */
const INTRINSIC_INDEX = Object.fromEntries(
  INTRINSICS.map(([name], index) => [name, index]),
) as Record<IntrinsicName, number>;

/**
 * Reads every intrinsic in INTRINSICS off the fresh global object; the handles go into `owned`. Must run
 * before any tool code: on fresh built-ins these are data properties, and reading them runs no guest code.
 */
function captureIntrinsics(context: QuickJSContext, owned: QuickJSHandle[]): QuickJSHandle[] {
  const roots = new Map<string, QuickJSHandle>();
  try {
    return INTRINSIC_PATHS.map(([root = '', ...rest]) => {
      let handle = roots.get(root);
      if (!handle) {
        handle = context.getProp(context.global, root);
        roots.set(root, handle);
      }
      let owner = handle;
      const walked: QuickJSHandle[] = [];
      for (const key of rest) {
        owner = context.getProp(owner, key);
        walked.push(owner);
      }
      const last = walked.pop();
      for (const between of walked) between.dispose();
      const value = last ?? handle.dup();
      owned.push(value);
      return value;
    });
  } finally {
    for (const handle of roots.values()) handle.dispose();
  }
}

/** Intrinsics captured before tool code runs: the tool may replace the globals, never these handles. */
interface Captured {
  readonly encode: QuickJSHandle;
  /** Promise and Promise.resolve, to adopt what the tool returned. */
  readonly promise: QuickJSHandle;
  readonly resolve: QuickJSHandle;
  /** Function.prototype.toString, to check a compiled tool's source text. */
  readonly fnToString: QuickJSHandle;
  /** Every intrinsic in INTRINSICS order, as the failure script takes them (see guest-driver.ts). */
  readonly intrinsics: readonly QuickJSHandle[];
  readonly parse: QuickJSHandle;
}

/** The failure script's functions, compiled on first need in a run. */
interface FailureTools {
  readonly detailed: QuickJSHandle;
  readonly describe: QuickJSHandle;
}

class QuickJSSandbox implements FreshSandbox {
  readonly limits: RunLimits;
  readonly intrinsics: IntrinsicSet;
  private readonly runtime: QuickJSRuntime;
  private readonly context: QuickJSContext;
  private readonly captured: Captured;
  private readonly owned: QuickJSHandle[];
  /** Undefined until needed; null when it could not be compiled (memory): host-side reading only. */
  private failureTools: FailureTools | null | undefined;
  /** Handles made during the current run, freed when it ends (the failure script's functions). */
  private readonly runOwned: QuickJSHandle[] = [];
  private used = false;
  /** The run's deadline (Date.now() time), once `run` has started. */
  private deadline = 0;
  /** Set when the run was stopped for growing the heap past its limit. */
  private memoryExceeded = false;
  /** Where the run's heap may reach (see heap-break.ts): where it started, plus the memory limit. */
  private heapCeiling = 0;
  private readonly memory: WasmMemory;

  constructor(
    runtime: QuickJSRuntime,
    memory: WasmMemory,
    context: QuickJSContext,
    limits: RunLimits,
    intrinsics: IntrinsicSet,
    captured: Captured,
    owned: QuickJSHandle[],
  ) {
    this.runtime = runtime;
    this.memory = memory;
    this.context = context;
    this.limits = limits;
    this.intrinsics = intrinsics;
    this.captured = captured;
    this.owned = owned;
  }

  run(
    request: RunRequest,
    timeoutMs: number,
    now: () => number = Date.now,
    factory?: QuickJSHandle,
  ): RunOutcome {
    if (this.used) throw new Error('a sandbox serves one request');
    this.used = true;
    const deadline = now() + timeoutMs;
    this.deadline = deadline;
    // QuickJS's own limit counts allocations, not bytes, in this build (see module.ts): the heap's growth
    // since the run started is checked too, whenever QuickJS polls for an interrupt.
    const memory = this.memory;
    this.heapCeiling = heapReach(memory) + this.limits.memoryLimitBytes;
    this.runtime.setInterruptHandler(() => {
      if (heapReach(memory) > this.heapCeiling) {
        this.memoryExceeded = true;
        return true;
      }
      return Date.now() >= deadline;
    });
    const timedOut = (): boolean => now() >= deadline;
    let drain: QuickJSHandle | undefined;
    let outcome: RunOutcome;
    try {
      if (usesConsole(request.code)) {
        const installed = this.context.evalCode(buildConsoleScript(this.limits), CONSOLE_FILE_NAME);
        if (installed.error) {
          using error = installed.error;
          return this.failure(error, timedOut());
        }
        drain = installed.value;
      }
      outcome = this.runTool(request, timedOut, factory);
      // Large buffers allocated in a few steps can pass the limit between two interrupt checks: the run
      // still fails if its heap ends above the limit (the module's memory cap stops it outright).
      if (heapReach(memory) > this.heapCeiling) outcome = MEMORY;
      if (drain === undefined) return outcome;
      return { ...outcome, logs: this.readLogs(drain) };
    } finally {
      drain?.dispose();
      for (const handle of this.runOwned.splice(0)) handle.dispose();
      this.failureTools = undefined;
    }
  }

  rewind(): void {
    this.used = false;
    this.memoryExceeded = false;
    this.deadline = 0;
  }

  armInterrupts(): void {
    this.runtime.setInterruptHandler(() => false);
  }

  get contextAddress(): number {
    // quickjs-emscripten keeps the pointer in a protected field; no public accessor exists.
    return (this.context as unknown as { ctx: { value: number } }).ctx.value;
  }

  compileTool(code: string, entry: string, timeoutMs: number): QuickJSHandle | undefined {
    const { context } = this;
    const script = buildToolFactoryScript(code, entry);
    this.runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + timeoutMs));
    try {
      const compiled = context.evalCode(script, GUEST_TOOL_FILE_NAME);
      if (compiled.error) {
        compiled.error.dispose();
        return undefined;
      }
      const factory = compiled.value;
      if (this.isExactFactory(factory, script)) return factory;
      factory.dispose();
      return undefined;
    } finally {
      this.armInterrupts();
    }
  }

  /**
   * Whether evaluating the factory `script` gave exactly its function: its source text spans the whole
   * script but its parentheses only if nothing in the code closed the wrapper early (and so ran).
   */
  private isExactFactory(factory: QuickJSHandle, script: string): boolean {
    const { context } = this;
    if (context.typeof(factory) !== 'function') return false;
    const text = context.callFunction(this.captured.fnToString, factory);
    const exact = !text.error && context.getString(text.value) === script.slice(1, -1);
    text.dispose();
    return exact;
  }

  /** Runs a compiled tool's top level with a fresh `exports`, as the tool script would. */
  private callFactory(factory: QuickJSHandle) {
    using exports = this.context.newObject();
    return this.context.callFunction(factory, this.context.undefined, exports);
  }

  drawRandom(): number {
    const drawn = this.context.evalCode('Math.random()', ENCODER_FILE_NAME);
    if (drawn.error) {
      drawn.error.dispose();
      throw new Error('Math.random failed in a fresh context');
    }
    using value = drawn.value;
    return this.context.getNumber(value);
  }

  dispose(): boolean {
    let healthy = true;
    try {
      for (const handle of this.owned) handle.dispose();
      this.context.dispose();
    } catch {
      healthy = false;
    }
    if (healthy) {
      try {
        this.runtime.dispose();
      } catch {
        healthy = false;
      }
    }
    return healthy;
  }

  private runTool(
    request: RunRequest,
    timedOut: () => boolean,
    factory: QuickJSHandle | undefined,
  ): RunOutcome {
    const { context, runtime, captured } = this;
    let tool: ReturnType<QuickJSContext['callFunction']>;
    if (factory) {
      tool = this.callFactory(factory);
    } else {
      // Compiled here, then called as a held factory would be: the same frames, and the compiled code
      // does not count against the run's memory, just as a held factory's does not. Only code that ran
      // nothing while compiling, though: code that closes the wrapper early runs here, and counts.
      const script = buildToolFactoryScript(request.code, request.entry);
      const compiled = context.evalCode(script, GUEST_TOOL_FILE_NAME);
      if (compiled.error) {
        using error = compiled.error;
        return this.failure(error, timedOut());
      }
      using made = compiled.value;
      if (this.isExactFactory(made, script))
        this.heapCeiling = heapReach(this.memory) + this.limits.memoryLimitBytes;
      tool = this.callFactory(made);
    }
    if (tool.error) {
      using error = tool.error;
      return this.failure(error, timedOut());
    }
    using entry = tool.value;
    using inputText = context.newString(request.inputJson);
    const parsed = context.callFunction(captured.parse, context.undefined, inputText);
    if (parsed.error) {
      using error = parsed.error;
      return this.failure(error, timedOut());
    }
    using input = parsed.value;
    const called = context.callFunction(entry, context.undefined, input);
    if (called.error) {
      using error = called.error;
      return this.failure(error, timedOut());
    }
    using returned = called.value;
    // Adopt what the tool returned as `await` would: a promise or thenable is followed.
    const adopted = context.callFunction(captured.resolve, captured.promise, returned);
    if (adopted.error) {
      using error = adopted.error;
      return this.failure(error, timedOut());
    }
    using promise = adopted.value;

    // Run the job queue until it is empty: the result's promise settles there, and work the tool queued
    // before returning runs, as it would before an awaiting caller resumes. Jobs run in small batches with
    // the clock checked between them, so no chain of jobs (each interrupted and rescheduled by a rejection
    // handler) outlives the deadline. Reading the promise's state runs no guest code.
    while (runtime.hasPendingJob()) {
      const jobs = runtime.executePendingJobs(JOBS_PER_BATCH);
      if (jobs.error) {
        using error = jobs.error;
        return this.failure(error, timedOut());
      }
      if (this.memoryExceeded) return MEMORY;
      if (timedOut()) return TIMEOUT;
    }
    const state = context.getPromiseState(promise);
    if (state.type === 'pending') {
      // There are no timers or I/O in the sandbox: with an empty job queue nothing can ever settle it.
      return {
        ok: false,
        kind: 'timeout',
        message:
          'the tool returned a promise that can never settle (the sandbox has no timers or I/O; every await must resolve from computation)',
        logs: [],
      };
    }
    if (state.type === 'rejected') {
      using error = state.error;
      return this.failure(error, timedOut());
    }
    // `promise` is a real promise, so the state's value is a handle of its own.
    using value = state.value;
    return this.encode(value, timedOut);
  }

  private encode(value: QuickJSHandle, timedOut: () => boolean): RunOutcome {
    const { context } = this;
    if (timedOut()) return TIMEOUT;
    const encoded = context.callFunction(this.captured.encode, context.undefined, value);
    if (encoded.error) {
      // A cycle, a throwing getter, or a limit: the detailed pass meets the same and says which.
      encoded.error.dispose();
      return this.encodeInDetail(value, timedOut);
    }
    using text = encoded.value;
    if (context.typeof(text) === 'string')
      return acceptResultJson(context.getString(text), this.limits);
    return this.encodeInDetail(value, timedOut);
  }

  /** The encoder's slow path: the failure script's `detailed` says what is wrong with the value, and where. */
  private encodeInDetail(value: QuickJSHandle, timedOut: () => boolean): RunOutcome {
    const { context } = this;
    if (this.memoryExceeded) return MEMORY;
    if (timedOut()) return TIMEOUT;
    const tools = this.loadFailureTools();
    // The script could not even be compiled: the heap is full.
    if (!tools) return MEMORY;
    const encoded = context.callFunction(tools.detailed, context.undefined, value);
    if (encoded.error) {
      using error = encoded.error;
      return this.failure(error, timedOut());
    }
    using text = encoded.value;
    if (context.typeof(text) !== 'string') return TAMPERED;
    return acceptResultJson(context.getString(text), this.limits);
  }

  /** Compiles the failure script once per run, from the intrinsics captured before the tool ran. */
  private loadFailureTools(): FailureTools | null {
    if (this.failureTools !== undefined) return this.failureTools;
    const { context } = this;
    this.failureTools = null;
    const factory = context.evalCode(buildFailureScript(this.limits), FAILURE_FILE_NAME);
    if (factory.error) {
      factory.error.dispose();
      return null;
    }
    using make = factory.value;
    const made = context.callFunction(make, context.undefined, ...this.captured.intrinsics);
    if (made.error) {
      made.error.dispose();
      return null;
    }
    using pair = made.value;
    const detailed = context.getProp(pair, 0);
    this.runOwned.push(detailed);
    const describe = context.getProp(pair, 1);
    this.runOwned.push(describe);
    this.failureTools = { detailed, describe };
    return this.failureTools;
  }

  /** The console lines so far, re-capped on the host; none if the drain fails (its own limits hit). */
  private readLogs(drain: QuickJSHandle): string[] {
    const { context } = this;
    // A run that timed out still keeps what it logged: the drain only joins strings it built.
    this.extendBudget();
    const drained = context.callFunction(drain, context.undefined);
    if (drained.error) {
      drained.error.dispose();
      return [];
    }
    using text = drained.value;
    if (context.typeof(text) !== 'string') return [];
    const raw = context.getString(text);
    if (raw.length > 2 * this.limits.maxConsoleBytes + 1024) return [];
    try {
      const lines: unknown = JSON.parse(raw);
      return capLogs(Array.isArray(lines) ? lines : [], this.limits.maxConsoleBytes);
    } catch {
      return [];
    }
  }

  /**
   * After the tool has run, the host's own reads (describe, drain) get what is left of the run's time, and
   * at least GRACE_MS: a run stopped at its deadline still has its error and logs read.
   */
  private extendBudget(): void {
    this.runtime.setInterruptHandler(
      shouldInterruptAfterDeadline(Math.max(this.deadline, Date.now() + GRACE_MS)),
    );
  }

  /** Turns a guest exception into a failure; `timedOut` is read before anything else runs. */
  private failure(error: QuickJSHandle, timedOut: boolean): RunOutcome {
    if (this.memoryExceeded) return MEMORY;
    const { name, message, refused } = this.describe(error);
    if (refused) return { ok: false, kind: 'not_json', message, logs: [] };
    // Reading the thrown value ran out of time (a getter that never returns): the run's time limit.
    const kind = classify(name, message, timedOut || Date.now() >= this.deadline);
    return { ok: false, kind, message: describeFailure(kind, name, message), logs: [] };
  }

  /**
   * Reads a thrown value's name and message with the guest's own `describe`, within what is left of the
   * run's time: getters and Proxy traps on the thrown value run inside the sandbox, never on the host. If
   * that fails too (memory or time), only what reading the handle can tell without running guest code.
   */
  private describe(error: QuickJSHandle): { name: string; message: string; refused: boolean } {
    const { context } = this;
    this.extendBudget();
    const tools = this.loadFailureTools();
    if (!tools) return { ...describeWithoutGuestCode(context, error), refused: false };
    const described = context.callFunction(tools.describe, context.undefined, error);
    if (described.error) {
      described.error.dispose();
      return { ...describeWithoutGuestCode(context, error), refused: false };
    }
    using text = described.value;
    if (context.typeof(text) === 'string') {
      try {
        const triple: unknown = JSON.parse(context.getString(text));
        if (
          Array.isArray(triple) &&
          typeof triple[0] === 'string' &&
          typeof triple[1] === 'string' &&
          typeof triple[2] === 'boolean'
        ) {
          return {
            name: capText(triple[0], 200),
            message: capText(triple[1], MAX_ERROR_CHARS),
            refused: triple[2],
          };
        }
      } catch {
        // fall through: the guest's describe was subverted
      }
    }
    return { ...describeWithoutGuestCode(context, error), refused: false };
  }
}

/** How long the host's reads of a finished run may take when the run's own time is spent. */
const GRACE_MS = 20;

/** Jobs run between two looks at the clock. */
const JOBS_PER_BATCH = 64;
