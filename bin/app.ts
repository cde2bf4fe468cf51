#!/usr/bin/env node
import { createBrokerApp } from '../lib/broker-app';

createBrokerApp().app.synth();
