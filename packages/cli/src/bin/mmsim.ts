#!/usr/bin/env node
// The mmsim command. reflect-metadata must load before tsyringe (which the model's packages import).
import 'reflect-metadata';
import { main } from '../main.js';

process.exitCode = await main(process.argv.slice(2));
