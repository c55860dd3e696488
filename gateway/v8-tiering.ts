/**
 * V8 tiering tuned for a request server; imported first by main.ts, before any other module runs.
 *
 * Why: the code a call runs through (RPC dispatch, a procedure, the volume, the brick, the stream write)
 * is many small functions, each run once per call. V8 moves a function to its optimizing compiler only
 * after a budget of executed bytecode (`--interrupt-budget`, 67584 in Node 20), so at a few thousand
 * calls per second most of that path still runs as baseline code: in a profile of 1 MiB NFS READs after
 * 1,500 calls, `read`, `execute`, `start`, `readInto` and their callers were still baseline (`^`), and
 * user time was 43-52% of the gateway's main-thread samples. With a budget of 4096 they were optimized
 * (`*`) and user time fell to 36-39% of samples, about half the user CPU per READ (profiles in the
 * session notes). The cost is compiling sooner, on V8's background threads.
 *
 * A budget given on node's command line wins; GATEWAY_V8_INTERRUPT_BUDGET=N sets another one, 0 keeps V8's.
 */
import { setFlagsFromString } from 'node:v8';

const DEFAULT_BUDGET = 4096;

const onCommandLine = process.execArgv.some((a) => a.startsWith('--interrupt-budget'));
const env = process.env.GATEWAY_V8_INTERRUPT_BUDGET;
const budget = env !== undefined && /^\d+$/.test(env) ? Number(env) : DEFAULT_BUDGET;
if (!onCommandLine && budget > 0) setFlagsFromString(`--interrupt-budget=${budget}`);
