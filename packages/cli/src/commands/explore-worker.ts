import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { runExploreJob } from './explore-workers.js';

/**
 * Entry of an `mmsim explore --workers` thread: run one share of the search and post the result.
 *
 * @module
 */
parentPort!.postMessage(runExploreJob(workerData as Parameters<typeof runExploreJob>[0]));
