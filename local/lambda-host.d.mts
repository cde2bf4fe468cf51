/** Types of lambda-host.mjs (plain JavaScript, so the environment processes need no loader). */
export interface LambdaInvocation<R> {
  readonly response: R;
  /** `performance.now()` when the handler was called (the INVOKE event already sent). */
  readonly invokedAt: number;
  /** `performance.now()` when the handler returned its response. */
  readonly respondedAt: number;
  /** `performance.now()` when the invocation ended: every extension asked for its next event. */
  readonly endedAt: number;
}

export interface LambdaHost {
  /** The names the registered extensions gave. */
  extensions(): string[];
  invoke<
    E,
    C extends {
      awsRequestId: string;
      getRemainingTimeInMillis(): number;
      invokedFunctionArn: string;
    },
    R,
  >(
    handler: (event: E, context: C) => Promise<R>,
    event: E,
    context: C,
  ): Promise<LambdaInvocation<R>>;
  shutdown(): Promise<void>;
}

export function startLambdaHost(): Promise<LambdaHost>;
