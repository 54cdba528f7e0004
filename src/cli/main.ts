#!/usr/bin/env node
/**
 * The `tdxsim` command: a thin adapter over the library (src/api).
 */
import { createCli } from './cli.js';

process.exitCode = await createCli().run(process.argv);
