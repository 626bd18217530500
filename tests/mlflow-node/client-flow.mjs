// A realistic tracking + registry flow driven by the npm MLflow client (mlflow 2.0.7, "MLflow api client for Node.js").
//
//   MLFLOW_TRACKING_URI=http://host[/v1/projects/{project}/mlflow] MLFLOW_TRACKING_TOKEN=gur_... node client-flow.mjs
//
// Exit code 0 and one JSON summary line on stdout when every assertion holds; otherwise exit code 1 and the failing
// step on stderr. Run by tests/Gureum.Server.Tests/Mlflow/NodeClientTests.cs.
//
// What the client can and cannot do (read from node_modules/mlflow/lib):
// - The tracking URI is its `endpoint`; it calls `${endpoint}/api/2.0/mlflow/...`, so a path prefix such as
//   /v1/projects/{project}/mlflow works. Auth: the documented `headers` constructor option (README: "heders"), sent on
//   every request; we pass `Authorization: Bearer ${MLFLOW_TRACKING_TOKEN}`.
// - Experiments, Runs, Metrics.getHistory and Artifacts.list (GET /api/2.0/mlflow/artifacts/list) only. No model
//   registry and no artifact upload/download. For the registry we use the client's own transport (its exported
//   MLflowBase, the base class of its Experiments/Runs modules) with the registry paths, so auth and error handling
//   stay the client's; artifacts are uploaded with fetch and the same header.
// - Experiments.setExperimentTag is broken in 2.0.7 (path 'set-experiment-tag' lacks the leading '/', so it calls
//   /experimentsset-experiment-tag); we call the right path through the same transport. Experiments.list calls
//   /experiments/list, which MLflow 2.x removed (experiments/search replaces it): not used.
// - Runs.* send the deprecated `run_uuid` beside `run_id` on every call (log-batch, delete-tag, delete and restore
//   included), and GETs put parameters in the query string. DELETE would also go to the query string, so the flow
//   makes no DELETE calls through the client.
// - It console.log()s every POST body; we send console.log to stderr so stdout carries only the summary.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
console.log = (...args) => process.stderr.write(args.join(' ') + '\n');

let MLflow, MLflowBase, RunStatus, ViewType;
try {
  MLflow = require('mlflow');
  ({ MLflowBase } = require('mlflow/lib/mlflow'));
  ({ RunStatus, ViewType } = require('mlflow/enum'));
} catch (e) {
  fail('setup', new Error(`the npm package 'mlflow' is not installed (run ./gureum test, or npm ci --prefix tests/mlflow-node): ${e.message}`));
}

const endpoint = (process.env.MLFLOW_TRACKING_URI ?? '').replace(/\/+$/, '');
const token = process.env.MLFLOW_TRACKING_TOKEN;
if (!endpoint) fail('setup', new Error('MLFLOW_TRACKING_URI is not set'));

const options = { endpoint, headers: token ? { Authorization: `Bearer ${token}` } : {} };
const client = new MLflow(options);
const { Experiments, Runs, Metrics, Artifacts } = client;

/** The client's transport for paths it has no module for. */
class Endpoint extends MLflowBase {
  constructor(path) {
    super(options);
    this.path = path;
  }
  call(method, name, params) {
    return this.req(method, name, params);
  }
}
const experimentsApi = new Endpoint('/experiments');
const registeredModels = new Endpoint('/registered-models');
const modelVersions = new Endpoint('/model-versions');

function fail(step, error) {
  process.stderr.write(`client-flow: step '${step}' failed: ${error?.stack ?? error}\n`);
  process.exit(1);
}

async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    fail(name, e);
  }
}

const suffix = `${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
const t0 = Date.now();
const rmse = [0.9, 0.7, 0.55, 0.5, 0.42];
const mlmodel = 'artifact_path: model\nflavors: {}\n';

// --- experiment
const experimentName = `node-client-${suffix}`;
const { experiment_id } = await step('experiments/create', () => Experiments.create({ name: experimentName }));
await step('experiments/create answer', () => assert.match(experiment_id, /^[0-9]+$/, 'experiment_id is a numeric string'));
await step('experiments/set-experiment-tag', () => experimentsApi.call('post', '/set-experiment-tag', { experiment_id, key: 'owner', value: 'node-client' }));
await step('experiments/get', async () => {
  const { experiment } = await Experiments.get({ experiment_id });
  assert.equal(experiment.name, experimentName);
  assert.equal(experiment.lifecycle_stage, 'active');
  assert.ok(experiment.tags?.some(t => t.key === 'owner' && t.value === 'node-client'), 'the experiment tag is there');
});

// --- the main run
const { run } = await step('runs/create', () => Runs.create({
  experiment_id, user_id: 'node-client', start_time: t0,
  tags: [{ key: 'x', value: 'y' }, { key: 'mlflow.source.name', value: 'client-flow.mjs' }],
}));
const run_id = run.info.run_id;
await step('runs/create answer', () => {
  assert.match(run_id, /^[0-9a-f]{32}$/, 'run_id is 32 lowercase hex chars');
  assert.equal(run.info.run_uuid, run_id);
  assert.equal(run.info.experiment_id, experiment_id);
  assert.equal(run.info.status, 'RUNNING');
  assert.equal(run.info.start_time, t0, 'start_time is the JSON number sent');
  assert.equal(run.info.artifact_uri, `mlflow-artifacts:/${experiment_id}/${run_id}/artifacts`);
});
await step('runs/log-parameter', () => Runs.logParameter({ run_id, key: 'alpha', value: '0.5' }));
for (const [i, value] of rmse.entries()) {
  await step(`runs/log-metric rmse step ${i}`, () => Runs.logMetric({ run_id, key: 'rmse', value, timestamp: t0 + i, step: i }));
}
await step('runs/set-tag', () => Runs.setTag({ run_id, key: 'temporary', value: '1' }));
await step('runs/delete-tag', () => Runs.deleteTag({ run_id, key: 'temporary' }));
await step('runs/log-batch', () => Runs.logBatch({
  run_id,
  metrics: [{ key: 'mae', value: 0.3, timestamp: t0, step: 0 }, { key: 'mae', value: 0.25, timestamp: t0 + 1, step: 1 }],
  params: [{ key: 'l1_ratio', value: '0.1' }, { key: 'model', value: 'elasticnet' }],
  tags: [{ key: 'framework', value: 'node' }],
}));

// --- artifacts: upload with fetch (the client cannot), list with the client
await step('mlflow-artifacts PUT model/MLmodel', async () => {
  const url = `${endpoint}/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${run_id}/artifacts/model/MLmodel`;
  const response = await fetch(url, { method: 'PUT', headers: { ...options.headers, 'Content-Type': 'application/octet-stream' }, body: mlmodel });
  assert.equal(response.status, 200, `PUT ${url}: ${response.status} ${await response.text()}`);
});
await step('mlflow-artifacts PUT model/model.onnx', async () => {
  // The registry validates what it registers, so the run logs a real ONNX model (path from the test).
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(process.env.GUREUM_TEST_MODEL ?? fail('setup', new Error('GUREUM_TEST_MODEL must name an ONNX file')));
  const url = `${endpoint}/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${run_id}/artifacts/model/model.onnx`;
  const response = await fetch(url, { method: 'PUT', headers: { ...options.headers, 'Content-Type': 'application/octet-stream' }, body: bytes });
  assert.equal(response.status, 200, `PUT ${url}: ${response.status} ${await response.text()}`);
});
const artifactFiles = await step('artifacts/list', async () => {
  const { files } = await Artifacts.list({ run_id, path: 'model' });
  const mlmodelFile = files?.find(f => f.path === 'model/MLmodel');
  assert.ok(mlmodelFile, `model/MLmodel is listed: ${JSON.stringify(files)}`);
  assert.equal(mlmodelFile.is_dir, false);
  assert.equal(mlmodelFile.file_size, Buffer.byteLength(mlmodel), 'file_size is a JSON number of bytes');
  return files.map(f => f.path);
});

// --- two more runs: a worse one (FAILED) and one deleted then restored
const { run: worse } = await step('runs/create (worse)', () => Runs.create({ experiment_id, user_id: 'node-client', start_time: t0, tags: [{ key: 'x', value: 'y' }] }));
await step('runs/log-metric (worse)', () => Runs.logMetric({ run_id: worse.info.run_id, key: 'rmse', value: 1.3, timestamp: t0, step: 0 }));
await step('runs/log-parameter (worse)', () => Runs.logParameter({ run_id: worse.info.run_id, key: 'alpha', value: '0.5' }));
await step('runs/update (worse) FAILED', () => Runs.update({ run_id: worse.info.run_id, status: RunStatus.FAILED, end_time: t0 + 50 }));
const { run: scratch } = await step('runs/create (scratch)', () => Runs.create({ experiment_id, user_id: 'node-client', start_time: t0 }));
await step('runs/delete (scratch)', () => Runs.delete({ run_id: scratch.info.run_id }));
await step('runs/search without the deleted run', async () => {
  const { runs } = await Runs.search({ experiment_ids: [experiment_id], run_view_type: ViewType.ACTIVE_ONLY });
  assert.ok(!(runs ?? []).some(r => r.info.run_id === scratch.info.run_id), 'a deleted run is not ACTIVE_ONLY');
  const deleted = await Runs.search({ experiment_ids: [experiment_id], run_view_type: ViewType.DELETED_ONLY });
  assert.deepEqual((deleted.runs ?? []).map(r => r.info.run_id), [scratch.info.run_id]);
});
await step('runs/restore (scratch)', () => Runs.restore({ run_id: scratch.info.run_id }));

// --- finish the main run and read it back
const end_time = Date.now();
await step('runs/update FINISHED', async () => {
  const { run_info } = await Runs.update({ run_id, status: RunStatus.FINISHED, end_time });
  assert.equal(run_info.status, 'FINISHED');
  assert.equal(run_info.end_time, end_time);
});
await step('runs/get', async () => {
  const { run: got } = await Runs.get({ run_id });
  assert.equal(got.info.status, 'FINISHED');
  const metric = key => got.data.metrics?.find(m => m.key === key);
  assert.equal(metric('rmse')?.value, 0.42, 'rmse is the last step');
  assert.equal(metric('rmse')?.step, 4);
  assert.equal(metric('mae')?.value, 0.25);
  const params = Object.fromEntries((got.data.params ?? []).map(p => [p.key, p.value]));
  assert.deepEqual({ alpha: params.alpha, l1_ratio: params.l1_ratio, model: params.model }, { alpha: '0.5', l1_ratio: '0.1', model: 'elasticnet' });
  const tags = Object.fromEntries((got.data.tags ?? []).map(t => [t.key, t.value]));
  assert.equal(tags.x, 'y');
  assert.equal(tags.framework, 'node');
  assert.ok(!('temporary' in tags), 'the deleted tag is gone');
});

// --- search with a filter, ordering and paging
const searched = await step('runs/search with a filter', async () => {
  const { runs } = await Runs.search({
    experiment_ids: [experiment_id],
    filter: "metrics.rmse < 1 and params.alpha = '0.5' and tags.x = 'y' and attributes.status = 'FINISHED'",
    run_view_type: ViewType.ACTIVE_ONLY, max_results: 10, order_by: ['metrics.rmse ASC'],
  });
  assert.deepEqual((runs ?? []).map(r => r.info.run_id), [run_id]);
  return runs.map(r => r.info.run_id);
});
await step('runs/search paging by metrics.rmse ASC', async () => {
  const page1 = await Runs.search({ experiment_ids: [experiment_id], filter: "params.alpha = '0.5'", max_results: 1, order_by: ['metrics.rmse ASC'] });
  assert.deepEqual(page1.runs.map(r => r.info.run_id), [run_id]);
  assert.ok(page1.next_page_token, 'a next_page_token after page 1');
  const page2 = await Runs.search({ experiment_ids: [experiment_id], filter: "params.alpha = '0.5'", max_results: 1, order_by: ['metrics.rmse ASC'], page_token: page1.next_page_token });
  assert.deepEqual(page2.runs.map(r => r.info.run_id), [worse.info.run_id]);
  assert.ok(!page2.next_page_token, 'no next_page_token after the last page');
});

// --- metric history
const history = await step('metrics/get-history', async () => {
  const { metrics } = await Metrics.getHistory({ run_id, metric_key: 'rmse' });
  const sorted = [...metrics].sort((a, b) => a.step - b.step);
  assert.deepEqual(sorted.map(m => m.step), [0, 1, 2, 3, 4]);
  assert.deepEqual(sorted.map(m => m.value), rmse);
  assert.deepEqual(sorted.map(m => m.timestamp), rmse.map((_, i) => t0 + i));
  return sorted;
});

// --- model registry through the client's transport
const modelName = `node-model-${suffix}`;
await step('registered-models/create', async () => {
  const { registered_model } = await registeredModels.call('post', '/create', { name: modelName, description: 'from the npm client' });
  assert.equal(registered_model.name, modelName);
});
const version = await step('model-versions/create', async () => {
  const { model_version } = await modelVersions.call('post', '/create', { name: modelName, source: `${run.info.artifact_uri}/model`, run_id });
  assert.equal(model_version.version, '1', 'version numbers are strings');
  assert.equal(model_version.status, 'READY');
  assert.equal(model_version.run_id, run_id);
  return model_version.version;
});
await step('registered-models/alias (set)', () => registeredModels.call('post', '/alias', { name: modelName, alias: 'champion', version }));
await step('registered-models/alias (get)', async () => {
  const { model_version } = await registeredModels.call('get', '/alias', { name: modelName, alias: 'champion' });
  assert.equal(model_version.version, version);
  assert.deepEqual(model_version.aliases, ['champion']);
});
await step('registered-models/get-latest-versions', async () => {
  const { model_versions } = await registeredModels.call('post', '/get-latest-versions', { name: modelName });
  assert.deepEqual(model_versions.map(v => v.version), [version]);
});
await step('model-versions/search', async () => {
  const { model_versions } = await modelVersions.call('get', '/search', { filter: `run_id='${run_id}'` });
  assert.deepEqual(model_versions.map(v => `${v.name}/${v.version}`), [`${modelName}/${version}`]);
});

process.stdout.write(JSON.stringify({
  tracking_uri: endpoint,
  experiment_id,
  experiment_name: experimentName,
  run_id,
  other_run_ids: [worse.info.run_id, scratch.info.run_id],
  searched_run_ids: searched,
  rmse_history: history.map(m => ({ step: m.step, value: m.value })),
  artifacts: artifactFiles,
  artifact_content: mlmodel,
  model_name: modelName,
  model_version: version,
  alias: 'champion',
}) + '\n');
