// Drives one npm breaker library (opossum or cockatiel) through breakerlab's conformance
// scripts under fake timers, and reports what it did in the harness's vocabulary.
//
// Usage: node driver.mjs LIBRARY   (LIBRARY: opossum | cockatiel)
//
// Protocol (JSON lines; proofs/conform/adapters/node_process.py speaks it):
//   in:  {"configure": {"fail_max": 3, "reset_timeout_s": 10, "call_timeout_s": 200,
//                       "window_s": 10, "exclude": true}}
//        {"step": "Call", "call_id": 1, "outcome": "failure"}    (the steps of script.py:
//        {"step": "Begin", "call_id": 2}                          Call, Begin, Finish,
//        {"step": "Finish", "call_id": 2, "outcome": "success"}   Advance, ReadState)
//        {"step": "Advance", "seconds": 10.001}
//        {"step": "ReadState"}
//        {"end": true}                                            (drain the run, report)
//   out: one {"step", "kind", "result", "call_id", "entered"} object per observation
//        (script.py's Observation; an advance gives {"step", "kind": "advance", "elapsed_ns"}
//        instead, which the Python side labels as FrozenClock does), then {"done": <number of
//        observations>};
//        or {"error": "<what was wrong and how to fix it>"} for a bad line (the rest of
//        that run is skipped up to its {"end": true}; the driver keeps serving).
//
// Time: each run installs @sinonjs/fake-timers over Date and the timer functions, starting at
// START_EPOCH_S (the Python adapters' frozen start), so the library's clock and timers move
// only on Advance. Latency: a Begin's protected function returns a promise that stays pending
// until its Finish, so calls overlap and results arrive late, as in the Python adapters.
// "blocked": a call that has neither entered the protected function nor returned once every
// pending promise job has run (one setImmediate round: exact, no real time involved).

import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const START_EPOCH_MS = 1_700_000_000 * 1000;
const LIBRARIES = ['opossum', 'cockatiel'];
const OUTCOMES = ['success', 'failure', 'excluded', 'cancel', 'base'];
const FIX = 'install the driver\'s packages: npm ci --prefix proofs/conform/node';

function load (name) {
  try {
    return require(name);
  } catch (error) {
    if (error && error.code === 'MODULE_NOT_FOUND') {
      process.stderr.write(`breakerlab conform driver: the npm package ${name} is not installed; ${FIX}\n`);
      process.exit(3);
    }
    throw error;
  }
}

const library = process.argv[2];
if (!LIBRARIES.includes(library)) {
  process.stderr.write(`breakerlab conform driver: LIBRARY must be one of ${LIBRARIES.join(', ')} (got ${JSON.stringify(library)})\n`);
  process.exit(2);
}
const FakeTimers = load('@sinonjs/fake-timers');
const lib = load(library);

// -- what the protected function raises, by outcome -------------------------------------------

class Boom extends Error { constructor () { super('scripted failure'); this.name = 'Boom'; } }
class Excluded extends Error { constructor () { super('scripted excluded error'); this.name = 'Excluded'; } }

// The harness's names for what the protected function throws. JavaScript has no
// BaseException: "cancel" rejects with the DOM's AbortError (what an aborted fetch or
// AbortSignal-aware call delivers), "base" throws a value that is not an Error at all.
function thrown (outcome) {
  if (outcome === 'failure') return new Boom();
  if (outcome === 'excluded') return new Excluded();
  if (outcome === 'cancel') return new DOMException('scripted cancellation', 'AbortError');
  if (outcome === 'base') return { scripted: 'a thrown value that is not an Error' };
  throw new Error(`unknown outcome ${outcome}`);
}
const HARNESS_NAMES = { failure: 'Boom', excluded: 'Excluded', cancel: 'CancelledError', base: 'Abort' };

// -- the libraries -----------------------------------------------------------------------------

// Each session is one fresh breaker: call(fn) returns the promise its users get, state() the
// normalised state.
function opossumSession (config) {
  const CircuitBreaker = lib;
  const breaker = new CircuitBreaker(protectedFn => protectedFn(), {
    // Trip rule: the error percentage over the rolling window, once the window holds at least
    // volumeThreshold requests; fail_max consecutive failures from a fresh window trip it.
    volumeThreshold: config.fail_max,
    errorThresholdPercentage: 50,
    rollingCountTimeout: Math.round(config.window_s * 1000),
    resetTimeout: Math.round(config.reset_timeout_s * 1000),
    // opossum's own call timeout (its default is 10 s), set beyond every catalogue scenario
    // but the one that measures it.
    timeout: Math.round(config.call_timeout_s * 1000),
    errorFilter: error => config.exclude && error instanceof Excluded,
  });
  return {
    call: fn => breaker.fire(fn),
    state: () => (breaker.halfOpen ? 'half_open' : breaker.opened ? 'open' : breaker.closed ? 'closed' : 'unknown'),
    close: () => breaker.shutdown(),
  };
}

function cockatielSession (config) {
  const { circuitBreaker, handleAll, handleWhen, ConsecutiveBreaker, CircuitState } = lib;
  const policy = config.exclude ? handleWhen(error => !(error instanceof Excluded)) : handleAll;
  const breaker = circuitBreaker(policy, {
    halfOpenAfter: Math.round(config.reset_timeout_s * 1000),
    breaker: new ConsecutiveBreaker(config.fail_max),
  });
  const names = {
    [CircuitState.Closed]: 'closed',
    [CircuitState.Open]: 'open',
    [CircuitState.HalfOpen]: 'half_open',
    [CircuitState.Isolated]: 'isolated',
  };
  return {
    call: fn => breaker.execute(() => fn()),
    state: () => names[breaker.state] ?? 'unknown',
    close: () => {},
  };
}

const SESSIONS = { opossum: opossumSession, cockatiel: cockatielSession };

// -- one run -------------------------------------------------------------------------------------

// Every pending promise job runs before the next setImmediate callback, including the jobs
// those jobs queue: after this, the run is quiescent until the script acts again.
const quiesce = () => new Promise(resolve => setImmediate(resolve));

class Run {
  constructor (config) {
    this.clock = FakeTimers.install({
      now: START_EPOCH_MS,
      toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
    });
    this.session = SESSIONS[library](config);
    this.elapsedNs = 0;
    this.flights = new Map();
    this.observations = [];
    this.order = 0;
    this.index = 0;
  }

  status (flight) {
    if (flight.done) return flight.result;
    if (flight.entered && flight.outcome === null) return 'in_flight';
    return 'blocked';
  }

  changed (flight) { flight.changed = ++this.order; }

  observe (kind, result, flight = null) {
    this.observations.push({
      step: this.index,
      kind,
      result,
      call_id: flight ? flight.id : null,
      entered: flight ? flight.entered : null,
    });
  }

  report (kind, flight) {
    flight.reported = this.status(flight);
    this.observe(kind, flight.reported, flight);
  }

  collect (kind) {
    const changed = [...this.flights.values()]
      .filter(flight => this.status(flight) !== flight.reported)
      .sort((a, b) => a.changed - b.changed);
    for (const flight of changed) this.report(kind, flight);
    return changed.length > 0;
  }

  start (id, outcome) {
    if (this.flights.has(id)) throw new Error(`call id ${id} is already used; ids must be unique`);
    const flight = { id, outcome, entered: false, done: false, result: '', changed: 0, reported: '', release: null };
    this.flights.set(id, flight);
    let release;
    const released = new Promise(resolve => { release = resolve; });
    flight.release = release;
    const protectedFn = async () => {
      flight.entered = true;
      this.changed(flight);
      if (flight.outcome === null) await released;
      if (flight.outcome !== 'success') {
        flight.thrown = thrown(flight.outcome);
        throw flight.thrown;
      }
    };
    let promise;
    try {
      promise = Promise.resolve(this.session.call(protectedFn));
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      () => this.settle(flight, 'ok'),
      error => this.settle(flight, `${flight.entered ? 'raised' : 'rejected'}:${this.errorName(flight, error)}`),
    );
  }

  settle (flight, result) {
    flight.done = true;
    flight.result = result;
    this.changed(flight);
  }

  errorName (flight, error) {
    if (flight.thrown !== undefined && error === flight.thrown) return HARNESS_NAMES[flight.outcome];
    if (error && typeof error === 'object') {
      const cls = error.constructor?.name;
      return error.code || (cls && cls !== 'Error' && cls !== 'Object' ? cls : error.name) || 'Error';
    }
    return typeof error;
  }

  async step (line) {
    const step = line.step;
    await this.collectResumed();
    if (step === 'Call' || step === 'Begin') {
      checkId(line.call_id);
      const outcome = step === 'Call' ? checkOutcome(line.outcome ?? 'success') : null;
      this.start(line.call_id, outcome);
      await quiesce();
      this.report(step === 'Call' ? 'call' : 'begin', this.flights.get(line.call_id));
    } else if (step === 'Finish') {
      checkId(line.call_id);
      const outcome = checkOutcome(line.outcome ?? 'success');
      const flight = this.flights.get(line.call_id);
      if (flight === undefined) throw new Error(`Finish(${line.call_id}) needs an earlier Begin(${line.call_id})`);
      if (flight.done) {
        this.observe('finish', 'not_in_flight', flight);
      } else {
        flight.outcome = outcome;
        flight.release();
        await quiesce();
        this.report('finish', flight);
        await this.settleAll('resumed');
      }
    } else if (step === 'Advance') {
      const seconds = line.seconds;
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || !(seconds > 0)) {
        throw new Error(`'seconds' must be finite and > 0 (got ${JSON.stringify(seconds)})`);
      }
      const ns = Math.round(seconds * 1e9);
      const before = Math.round(this.elapsedNs / 1e6);
      this.elapsedNs += ns;
      await this.clock.tickAsync(Math.round(this.elapsedNs / 1e6) - before);
      await quiesce();
      this.observations.push({ step: this.index, kind: 'advance', elapsed_ns: this.elapsedNs });
    } else if (step === 'ReadState') {
      this.observe('state', this.session.state());
    } else {
      throw new Error(`'step' must be one of Call, Begin, Finish, Advance, ReadState (got ${JSON.stringify(step)})`);
    }
    this.index += 1;
  }

  async collectResumed () {
    await quiesce();
    this.collect('resumed');
  }

  async settleAll (kind) {
    for (;;) {
      this.collect(kind);
      const watched = [...this.flights.values()].filter(f => !f.done && (!f.entered || f.outcome !== null));
      if (watched.length === 0) return;
      await quiesce();
      if (!watched.some(f => this.status(f) !== f.reported)) return;
    }
  }

  async drain () {
    this.collect('drained');
    const pending = [...this.flights.values()].filter(f => !f.done).sort((a, b) => a.id - b.id);
    for (const flight of pending.filter(f => !f.entered)) {
      if (flight.outcome === null) flight.outcome = 'success';
      flight.release();
    }
    for (const flight of pending.filter(f => f.entered)) {
      if (flight.outcome === null) flight.outcome = 'success';
      flight.release();
      await quiesce();
      await this.settleAll('drained');
    }
    await this.settleAll('drained');
    await quiesce();
    const stuck = pending.filter(f => !f.done).map(f => f.id);
    if (stuck.length) throw new Error(`calls ${stuck.join(', ')} never returned after every other call was finished`);
    this.collect('drained');
  }

  close () {
    try {
      this.session.close();
    } finally {
      this.clock.uninstall();
    }
  }
}

function checkId (id) {
  if (!Number.isInteger(id) || id < 1) throw new Error(`'call_id' must be a positive int (got ${JSON.stringify(id)})`);
}

function checkOutcome (outcome) {
  if (!OUTCOMES.includes(outcome)) {
    throw new Error(`'outcome' must be one of ${OUTCOMES.join(', ')} (got ${JSON.stringify(outcome)})`);
  }
  return outcome;
}

function checkConfig (config) {
  const positive = name => {
    if (typeof config[name] !== 'number' || !(config[name] > 0)) {
      throw new Error(`'${name}' must be a number > 0 (got ${JSON.stringify(config[name])})`);
    }
  };
  if (!Number.isInteger(config.fail_max) || config.fail_max < 1) {
    throw new Error(`'fail_max' must be an int >= 1 (got ${JSON.stringify(config.fail_max)})`);
  }
  positive('reset_timeout_s');
  positive('call_timeout_s');
  positive('window_s');
  return { ...config, exclude: Boolean(config.exclude) };
}

// -- the loop --------------------------------------------------------------------------------------

const write = object => process.stdout.write(JSON.stringify(object) + '\n');

async function serve () {
  let config = null;
  let run = null;
  let failed = null; // the error of the current run, whose remaining lines are skipped
  let lineNo = 0;
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const text of lines) {
    lineNo += 1;
    if (text.trim() === '') continue;
    let line;
    try {
      line = JSON.parse(text);
      if (line === null || typeof line !== 'object' || Array.isArray(line)) throw new Error('a line must be a JSON object');
    } catch (error) {
      failed = failed ?? `line ${lineNo}: not a JSON object (${error.message}): ${text.slice(0, 80)}`;
      continue;
    }
    try {
      if ('configure' in line) {
        config = checkConfig(line.configure);
      } else if ('end' in line) {
        if (failed === null) {
          if (run === null) {
            if (config === null) throw new Error('configure the driver before running a script');
            run = new Run(config);
          }
          await run.drain();
          for (const observation of run.observations) write(observation);
          write({ done: run.observations.length });
        }
      } else if (failed === null) {
        if (config === null) throw new Error('send {"configure": {...}} before the steps of a script');
        if (run === null) run = new Run(config);
        await run.step(line);
      }
    } catch (error) {
      failed = failed ?? `line ${lineNo}: ${error.message}`;
    }
    if ('end' in line) {
      if (failed !== null) write({ error: failed });
      if (run !== null) run.close();
      run = null;
      failed = null;
    }
  }
  if (run !== null) run.close();
}

await serve();
