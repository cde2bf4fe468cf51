#!/usr/bin/env node
import { createBrokerApp } from '../lib/broker-app';
import { TokenBrokerConfigError } from '../lib/resolve-config';

try {
  createBrokerApp().app.synth();
} catch (error) {
  // A configuration mistake is the operator's to fix, not a bug: one line naming the context key
  // reads better than a stack trace into the construct.
  if (!(error instanceof TokenBrokerConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
