// Create connector: a catalogue of templates (disabled when the cluster lacks the plugin) or any
// installed plugin, a form built from Connect's validate definitions, or raw JSON; validated
// before it is created.
import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { button, section, errorBox, toast, errorText, loading, callout, pageHead, typeTag, setBusy } from '../ui.js';
import { fieldsForm, transformsEditor, validationErrors } from '../configform.js';

export const TEMPLATES = [
  { id: 'jdbc-source', title: 'JDBC source', type: 'source', cls: 'io.confluent.connect.jdbc.JdbcSourceConnector', desc: 'Poll tables of a relational database into topics.',
    config: { 'connection.url': 'jdbc:postgresql://db:5432/app', 'connection.user': 'app', 'connection.password': '', mode: 'incrementing', 'incrementing.column.name': 'id', 'topic.prefix': 'db-', 'table.whitelist': 'orders', 'tasks.max': '1' } },
  { id: 'jdbc-sink', title: 'JDBC sink', type: 'sink', cls: 'io.confluent.connect.jdbc.JdbcSinkConnector', desc: 'Write topics into database tables (insert or upsert).',
    config: { topics: 'orders', 'connection.url': 'jdbc:postgresql://db:5432/app', 'connection.user': 'app', 'connection.password': '', 'insert.mode': 'upsert', 'pk.mode': 'record_key', 'auto.create': 'true', 'tasks.max': '1' } },
  { id: 's3-sink', title: 'Amazon S3 sink', type: 'sink', cls: 'io.confluent.connect.s3.S3SinkConnector', desc: 'Archive topics to S3 objects, partitioned by time or field.',
    config: { topics: 'orders', 's3.bucket.name': 'my-bucket', 's3.region': 'eu-west-1', 'storage.class': 'io.confluent.connect.s3.storage.S3Storage', 'format.class': 'io.confluent.connect.s3.format.json.JsonFormat', 'flush.size': '1000', 'tasks.max': '1' } },
  { id: 'es-sink', title: 'Elasticsearch sink', type: 'sink', cls: 'io.confluent.connect.elasticsearch.ElasticsearchSinkConnector', desc: 'Index topics into Elasticsearch.',
    config: { topics: 'orders', 'connection.url': 'http://elasticsearch:9200', 'key.ignore': 'true', 'schema.ignore': 'true', 'tasks.max': '1' } },
  { id: 'debezium-postgres', title: 'Debezium PostgreSQL', type: 'source', cls: 'io.debezium.connector.postgresql.PostgresConnector', desc: 'Change data capture from PostgreSQL logical replication.',
    config: { 'database.hostname': 'postgres', 'database.port': '5432', 'database.user': 'debezium', 'database.password': '', 'database.dbname': 'app', 'topic.prefix': 'pg', 'plugin.name': 'pgoutput', 'tasks.max': '1' } },
  { id: 'debezium-mysql', title: 'Debezium MySQL', type: 'source', cls: 'io.debezium.connector.mysql.MySqlConnector', desc: 'Change data capture from the MySQL binlog.',
    config: { 'database.hostname': 'mysql', 'database.port': '3306', 'database.user': 'debezium', 'database.password': '', 'database.server.id': '184054', 'topic.prefix': 'mysql', 'schema.history.internal.kafka.bootstrap.servers': 'kafka:9092', 'schema.history.internal.kafka.topic': 'schema-changes.mysql', 'tasks.max': '1' } },
  { id: 'mongo-source', title: 'MongoDB source', type: 'source', cls: 'com.mongodb.kafka.connect.MongoSourceConnector', desc: 'Stream change events of MongoDB collections.',
    config: { 'connection.uri': 'mongodb://mongo:27017', database: 'app', collection: 'orders', 'topic.prefix': 'mongo', 'tasks.max': '1' } },
  { id: 'mongo-sink', title: 'MongoDB sink', type: 'sink', cls: 'com.mongodb.kafka.connect.MongoSinkConnector', desc: 'Write topics into MongoDB collections.',
    config: { topics: 'orders', 'connection.uri': 'mongodb://mongo:27017', database: 'app', collection: 'orders', 'tasks.max': '1' } },
  { id: 'datagen', title: 'Datagen', type: 'source', cls: 'io.confluent.kafka.connect.datagen.DatagenConnector', desc: 'Generate mock data (users, orders, pageviews) for testing.',
    config: { 'kafka.topic': 'users', quickstart: 'users', 'max.interval': '1000', iterations: '10000000', 'key.converter': 'org.apache.kafka.connect.storage.StringConverter', 'value.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter.schemas.enable': 'false', 'tasks.max': '1' } },
  { id: 'file-source', title: 'FileStream source', type: 'source', cls: 'org.apache.kafka.connect.file.FileStreamSourceConnector', desc: 'Read lines of a file into a topic (demos only).',
    config: { file: '/tmp/input.txt', topic: 'lines', 'tasks.max': '1' } },
  { id: 'file-sink', title: 'FileStream sink', type: 'sink', cls: 'org.apache.kafka.connect.file.FileStreamSinkConnector', desc: 'Append records of topics to a file (demos only).',
    config: { file: '/tmp/output.txt', topics: 'lines', 'tasks.max': '1' } },
];

const simple = (c) => String(c).split('.').pop();

export function createPage(ctx) {
  const { app, life, el, api } = ctx;
  const cl = ctx.params[0];
  let plugins = null;
  let chosen = null; // { cls, template }
  let draft = null;
  let name = '';
  let result = null;
  let mode = 'form';
  let showAll = false;
  const smtCtx = { api, plugins: null, errors: {} };

  const pickerEl = h('div');
  const formEl = h('div');
  replace(el, h('div.crumbs', h('a', { href: app.href('clusters', cl, 'connectors') }, 'Connectors'), ' / new'),
    pageHead('New connector', h('span', 'Cluster ', h('strong', cl))),
    app.settings.readOnly ? callout('warn', 'Read-only gateway', ' — creating connectors is disabled (KC_READ_ONLY).')
      : app.may('connector_create', cl) ? callout('warn', 'Not allowed', ' — ', app.may('connector_create', cl), '.') : null,
    pickerEl, formEl);
  pickerEl.appendChild(loading('Loading plugins…'));

  api.plugins(true).then((p) => { plugins = p || []; smtCtx.plugins = plugins; paintPicker(); })
    .catch((e) => { plugins = []; replace(pickerEl, errorBox(e, 'Could not list the plugins')); });

  const installed = (cls) => plugins && plugins.find((p) => p.class === cls || simple(p.class) === simple(cls));

  function paintPicker() {
    if (!life.alive) return;
    const conns = plugins.filter((p) => p.type === 'source' || p.type === 'sink');
    const sel = h('select', { 'aria-label': 'Connector plugin', 'data-testid': 'plugin-select', onChange: (e) => { if (e.target.value) choose(e.target.value, null); } },
      h('option', { value: '' }, `Any installed plugin (${conns.length})…`),
      conns.map((p) => h('option', { value: p.class, selected: chosen && !chosen.template && chosen.cls === p.class }, `${simple(p.class)} — ${p.type}${p.version ? ' ' + p.version : ''}`)));
    replace(pickerEl, section('1. Choose a template or a plugin',
      h('div.cards', { 'data-testid': 'templates' }, TEMPLATES.map((t) => {
        const p = installed(t.cls);
        return h('button.card', { type: 'button', disabled: !p, class: chosen && chosen.template === t ? 'on' : '', 'data-template': t.id, 'aria-pressed': String(!!(chosen && chosen.template === t)),
          title: p ? `${t.cls} ${p.version || ''}` : `Plugin ${t.cls} is not installed on this cluster`, onClick: () => choose(p.class, t) },
        h('div.card-title', icon('plug', 15), t.title, h('span.spacer'), typeTag(t.type)), h('div', t.desc), h('div.card-sub', p ? t.cls : 'not installed on this cluster'));
      })),
      h('div.row', { style: { marginTop: '12px' } }, h('strong', 'or plugin:'), sel)));
  }

  async function choose(cls, template) {
    chosen = { cls, template };
    draft = { 'connector.class': cls, 'tasks.max': '1', ...(template ? template.config : {}) };
    if (!name) name = template ? `${template.id}-1` : simple(cls).replace(/Connector$/, '').toLowerCase() + '-1';
    result = null;
    paintPicker();
    replace(formEl, loading('Loading the plugin’s definitions…'));
    await validate();
    paintForm();
    formEl.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  async function validate() {
    try {
      result = await api.validate(chosen.cls, { ...draft, name });
      smtCtx.errors = validationErrors(result).map;
    } catch (e) {
      result = null;
      toast(`Validation failed — ${errorText(e)}`, 'bad');
    }
    return result;
  }

  function paintForm() {
    if (!life.alive) return;
    const errs = validationErrors(result);
    const nameInput = h('input', { type: 'text', value: name, 'aria-label': 'Connector name', 'data-testid': 'connector-name-input', spellcheck: 'false', style: { width: '360px' }, class: errs.map.name ? 'invalid' : '', onInput: (e) => { name = e.target.value; } });
    let body;
    if (mode === 'json') {
      const ta = h('textarea', { rows: 20, 'aria-label': 'Connector JSON', 'data-testid': 'create-json', spellcheck: 'false' }, JSON.stringify({ name, config: draft }, null, 2));
      ta.addEventListener('input', () => {
        try { const v = JSON.parse(ta.value); if (v && v.config) { draft = Object.fromEntries(Object.entries(v.config).map(([k, x]) => [k, String(x)])); if (v.name) name = v.name; ta.classList.remove('invalid'); } else ta.classList.add('invalid'); } catch { ta.classList.add('invalid'); }
      });
      body = [h('p.hint', 'The body of POST /connectors: ', h('code', '{"name": …, "config": {…}}'), '. Values are strings.'), ta];
    } else {
      const f = fieldsForm(result, draft, { showAll, hideKeys: new Set(['name', 'connector.class']), onChange: (k, structural) => { if (structural) paintForm(); } });
      body = [f.el, f.hidden ? h('p', button(showAll ? 'Show fewer fields' : `Show all fields (${f.hidden} more)`, { kind: 'small', onClick: () => { showAll = !showAll; paintForm(); } })) : null,
        h('h3', { style: { margin: '14px 0 6px' } }, 'Transforms (SMTs)'), transformsEditor(draft, smtCtx).el];
    }
    replace(formEl,
      section(h('span', '2. Configure ', h('code', simple(chosen.cls)), h('span.spacer'),
        h('span.btn-group', button('Form', { kind: `small ${mode === 'form' ? 'on' : ''}`, onClick: () => { mode = 'form'; paintForm(); } }),
          button('JSON', { kind: `small ${mode === 'json' ? 'on' : ''}`, attrs: { 'data-action': 'json-mode' }, onClick: () => { mode = 'json'; paintForm(); } }))),
      h('div.form-grid', { style: { marginBottom: '10px' } }, h('label.req', { for: 'new-name' }, 'Name'), h('div.field', nameInput, errs.map.name ? errs.map.name.map((e) => h('div.ferr', e)) : null, h('div.help', 'Unique in the cluster. Any characters; it is URL-encoded where needed.'))),
      errs.count ? callout('bad', `${errs.count} validation error${errs.count > 1 ? 's' : ''}`, h('ul', { 'data-testid': 'validation-errors' }, Object.entries(errs.map).map(([k, v]) => h('li', h('code', k), ': ', v.join('; '))))) : null,
      body),
      h('div.row', { style: { marginTop: '12px' } },
        button('Validate', { icon: 'check', attrs: { 'data-action': 'validate' }, onClick: async (e) => { const b = e.currentTarget; setBusy(b, true); const r = await validate(); setBusy(b, false); paintForm(); if (r) toast(r.error_count ? `${r.error_count} validation error(s)` : 'Configuration is valid', r.error_count ? 'warn' : 'ok'); } }),
        button('Create connector', { icon: 'plus', kind: 'primary', disabled: app.settings.readOnly || !!app.may('connector_create', cl), title: app.may('connector_create', cl) || undefined, attrs: { 'data-action': 'create' }, onClick: create })));
    nameInput.id = 'new-name';
  }

  async function create(e) {
    const b = e.currentTarget;
    name = name.trim();
    if (!name) { toast('A name is required', 'bad'); return; }
    setBusy(b, true);
    const r = await validate();
    if (!r) { setBusy(b, false); return; }
    const { count } = validationErrors(r);
    if (count) { setBusy(b, false); paintForm(); toast(`Not created: ${count} validation error(s)`, 'bad'); return; }
    try {
      const cfg = { ...draft };
      delete cfg.name;
      await api.create(name, cfg);
      toast(`Connector ${name} created`);
      app.navigate(app.href('clusters', cl, 'connectors', name, 'overview'));
    } catch (err) {
      setBusy(b, false);
      replace(formEl.querySelector('.create-error') || formEl.appendChild(h('div.create-error')), errorBox(err, 'Kafka Connect refused the connector'));
    }
  }
}
