"""A small ML Metadata store on SQLite: artifacts, executions, events, contexts.

The data model is ML Metadata's (``ml_metadata/proto/metadata_store.proto``; the
TFX guide "ML Metadata"), table for table, so that moving to real MLMD later is a
mapping, not a rewrite:

* ``Type`` (artifact, execution and context types, ``type_kind`` 1 / 0 / 2 as in
  MLMD's ``TypeKind``);
* ``Artifact`` (uri, state, name) and ``ArtifactProperty``;
* ``Execution`` (``last_known_state``, create / update time) and ``ExecutionProperty``;
* ``Event`` (an INPUT or OUTPUT edge between an artifact and an execution) and
  ``EventPath`` (its key, e.g. ``"examples"``);
* ``Context`` (a pipeline, a run) and ``ContextProperty``; ``Attribution``
  (artifact in context) and ``Association`` (execution in context).

States and event types use MLMD's enum numbers. Property values are typed as MLMD
stores them (int, double, string); lists and dicts are stored as JSON strings with
``value_type = 'json'``. Only the standard library (``sqlite3``) is used; TFX's own
stack cannot be installed next to TF 2.21 (see BUILD.md).

Concurrency: one connection per store object, each write in its own transaction,
``busy_timeout`` so two pipeline processes on one root wait rather than fail.
"""

import dataclasses
import json
import os
import sqlite3
import time

SCHEMA_VERSION = 1

# MLMD enums (metadata_store.proto).
ARTIFACT_STATES = {"UNKNOWN": 0, "PENDING": 1, "LIVE": 2, "MARKED_FOR_DELETION": 3,
                   "DELETED": 4, "ABANDONED": 5, "REFERENCE": 6}
EXECUTION_STATES = {"UNKNOWN": 0, "NEW": 1, "RUNNING": 2, "COMPLETE": 3, "FAILED": 4,
                    "CACHED": 5, "CANCELED": 6}
EVENT_TYPES = {"UNKNOWN": 0, "DECLARED_OUTPUT": 1, "DECLARED_INPUT": 2, "INPUT": 3,
               "OUTPUT": 4, "INTERNAL_INPUT": 5, "INTERNAL_OUTPUT": 6, "PENDING_OUTPUT": 7}
TYPE_KINDS = {"execution": 0, "artifact": 1, "context": 2}

_STATE_NAMES = {v: k for k, v in ARTIFACT_STATES.items()}
_EXECUTION_STATE_NAMES = {v: k for k, v in EXECUTION_STATES.items()}
_EVENT_NAMES = {v: k for k, v in EVENT_TYPES.items()}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS MLMDEnv (schema_version INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS Type (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT, type_kind INTEGER NOT NULL,
  description TEXT, UNIQUE (name, type_kind));
CREATE TABLE IF NOT EXISTS Artifact (
  id INTEGER PRIMARY KEY, type_id INTEGER NOT NULL REFERENCES Type (id), uri TEXT,
  state INTEGER, name TEXT, create_time_since_epoch INTEGER,
  last_update_time_since_epoch INTEGER);
CREATE TABLE IF NOT EXISTS ArtifactProperty (
  artifact_id INTEGER NOT NULL REFERENCES Artifact (id), name TEXT NOT NULL,
  is_custom_property INTEGER NOT NULL DEFAULT 0, value_type TEXT NOT NULL,
  int_value INTEGER, double_value REAL, string_value TEXT,
  PRIMARY KEY (artifact_id, name, is_custom_property));
CREATE TABLE IF NOT EXISTS Execution (
  id INTEGER PRIMARY KEY, type_id INTEGER NOT NULL REFERENCES Type (id),
  last_known_state INTEGER, name TEXT, create_time_since_epoch INTEGER,
  last_update_time_since_epoch INTEGER);
CREATE TABLE IF NOT EXISTS ExecutionProperty (
  execution_id INTEGER NOT NULL REFERENCES Execution (id), name TEXT NOT NULL,
  is_custom_property INTEGER NOT NULL DEFAULT 0, value_type TEXT NOT NULL,
  int_value INTEGER, double_value REAL, string_value TEXT,
  PRIMARY KEY (execution_id, name, is_custom_property));
CREATE TABLE IF NOT EXISTS Context (
  id INTEGER PRIMARY KEY, type_id INTEGER NOT NULL REFERENCES Type (id), name TEXT NOT NULL,
  create_time_since_epoch INTEGER, last_update_time_since_epoch INTEGER,
  UNIQUE (type_id, name));
CREATE TABLE IF NOT EXISTS ContextProperty (
  context_id INTEGER NOT NULL REFERENCES Context (id), name TEXT NOT NULL,
  is_custom_property INTEGER NOT NULL DEFAULT 0, value_type TEXT NOT NULL,
  int_value INTEGER, double_value REAL, string_value TEXT,
  PRIMARY KEY (context_id, name, is_custom_property));
CREATE TABLE IF NOT EXISTS Event (
  id INTEGER PRIMARY KEY, artifact_id INTEGER NOT NULL REFERENCES Artifact (id),
  execution_id INTEGER NOT NULL REFERENCES Execution (id), type INTEGER NOT NULL,
  milliseconds_since_epoch INTEGER);
CREATE TABLE IF NOT EXISTS EventPath (
  event_id INTEGER NOT NULL REFERENCES Event (id), is_index_step INTEGER NOT NULL,
  step_index INTEGER, step_key TEXT);
CREATE TABLE IF NOT EXISTS Attribution (
  id INTEGER PRIMARY KEY, context_id INTEGER NOT NULL, artifact_id INTEGER NOT NULL,
  UNIQUE (context_id, artifact_id));
CREATE TABLE IF NOT EXISTS Association (
  id INTEGER PRIMARY KEY, context_id INTEGER NOT NULL, execution_id INTEGER NOT NULL,
  UNIQUE (context_id, execution_id));
CREATE INDEX IF NOT EXISTS idx_event_execution ON Event (execution_id);
CREATE INDEX IF NOT EXISTS idx_event_artifact ON Event (artifact_id);
CREATE INDEX IF NOT EXISTS idx_execprop_value ON ExecutionProperty (name, string_value);
"""


@dataclasses.dataclass(frozen=True)
class Artifact:
    id: int
    type: str
    uri: str
    state: str
    name: str
    properties: dict
    create_time: float


@dataclasses.dataclass(frozen=True)
class Execution:
    id: int
    type: str
    state: str
    name: str
    properties: dict
    create_time: float
    update_time: float


@dataclasses.dataclass(frozen=True)
class Event:
    artifact_id: int
    execution_id: int
    type: str
    key: str


@dataclasses.dataclass(frozen=True)
class Context:
    id: int
    type: str
    name: str
    properties: dict
    create_time: float


def _now_ms():
    return int(time.time() * 1000)


def _encode(value):
    """``(value_type, int, double, string)`` for one property value."""
    if isinstance(value, bool):
        return "int", int(value), None, None
    if isinstance(value, int):
        return "int", value, None, None
    if isinstance(value, float):
        return "double", None, value, None
    if isinstance(value, str):
        return "string", None, None, value
    return "json", None, None, json.dumps(value, sort_keys=True)


def _decode(value_type, int_value, double_value, string_value):
    if value_type == "int":
        return int_value
    if value_type == "double":
        return double_value
    if value_type == "json":
        return json.loads(string_value)
    return string_value


class MetadataStore:
    """ML Metadata's model in one SQLite file (created on first use).

    Args:
      path: the database file, e.g. ``<pipeline_root>/metadata.sqlite``.
      read_only: open an existing store without creating or changing anything
        (``pipelines.inspect``).
    """

    def __init__(self, path, read_only=False):
        self.path = os.path.abspath(path)
        if read_only:
            if not os.path.exists(self.path):
                raise FileNotFoundError(
                    f"No metadata store at {self.path}: is --pipeline_root the folder a "
                    "pipeline ran in?")
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)
        else:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 60000")
            self._conn.executescript(_SCHEMA)  # idempotent; executescript commits itself
            with self._transaction() as c:
                c.execute("INSERT OR IGNORE INTO MLMDEnv VALUES (?)", (SCHEMA_VERSION,))
        self._conn.row_factory = sqlite3.Row

    def close(self):
        self._conn.close()

    def _transaction(self):
        conn = self._conn

        class _Txn:
            def __enter__(self):
                conn.execute("BEGIN IMMEDIATE")
                return conn

            def __exit__(self, exc_type, exc, tb):
                conn.execute("ROLLBACK" if exc_type else "COMMIT")
                return False

        return _Txn()

    # --------------------------------------------------------------- types
    def _type_id(self, c, name, kind):
        row = c.execute("SELECT id FROM Type WHERE name = ? AND type_kind = ?",
                        (name, TYPE_KINDS[kind])).fetchone()
        if row:
            return row[0]
        return c.execute("INSERT INTO Type (name, type_kind) VALUES (?, ?)",
                         (name, TYPE_KINDS[kind])).lastrowid

    def _put_properties(self, c, table, owner_column, owner_id, properties):
        for name, value in (properties or {}).items():
            value_type, i, d, s = _encode(value)
            c.execute(f"INSERT OR REPLACE INTO {table} ({owner_column}, name, is_custom_property, "
                      "value_type, int_value, double_value, string_value) "
                      "VALUES (?, ?, 0, ?, ?, ?, ?)", (owner_id, name, value_type, i, d, s))

    def _properties(self, table, owner_column, owner_id):
        rows = self._conn.execute(
            f"SELECT name, value_type, int_value, double_value, string_value FROM {table} "
            f"WHERE {owner_column} = ?", (owner_id,)).fetchall()
        return {r["name"]: _decode(r["value_type"], r["int_value"], r["double_value"],
                                   r["string_value"]) for r in rows}

    # ----------------------------------------------------------- artifacts
    def put_artifact(self, type_name, uri, state="PENDING", properties=None, name=""):
        """Registers an artifact; returns its id."""
        now = _now_ms()
        with self._transaction() as c:
            type_id = self._type_id(c, type_name, "artifact")
            artifact_id = c.execute(
                "INSERT INTO Artifact (type_id, uri, state, name, create_time_since_epoch, "
                "last_update_time_since_epoch) VALUES (?, ?, ?, ?, ?, ?)",
                (type_id, uri, ARTIFACT_STATES[state], name, now, now)).lastrowid
            self._put_properties(c, "ArtifactProperty", "artifact_id", artifact_id, properties)
        return artifact_id

    def update_artifact(self, artifact_id, state=None, properties=None):
        with self._transaction() as c:
            if state is not None:
                c.execute("UPDATE Artifact SET state = ?, last_update_time_since_epoch = ? "
                          "WHERE id = ?", (ARTIFACT_STATES[state], _now_ms(), artifact_id))
            self._put_properties(c, "ArtifactProperty", "artifact_id", artifact_id, properties)

    def get_artifact(self, artifact_id):
        row = self._conn.execute(
            "SELECT a.*, t.name AS type_name FROM Artifact a JOIN Type t ON a.type_id = t.id "
            "WHERE a.id = ?", (artifact_id,)).fetchone()
        if row is None:
            raise KeyError(f"No artifact with id {artifact_id} in {self.path}.")
        return Artifact(row["id"], row["type_name"], row["uri"], _STATE_NAMES[row["state"]],
                        row["name"] or "",
                        self._properties("ArtifactProperty", "artifact_id", row["id"]),
                        row["create_time_since_epoch"] / 1000.0)

    def artifacts_of_type(self, type_name):
        rows = self._conn.execute(
            "SELECT a.id FROM Artifact a JOIN Type t ON a.type_id = t.id WHERE t.name = ? "
            "AND t.type_kind = ? ORDER BY a.id", (type_name, TYPE_KINDS["artifact"])).fetchall()
        return [self.get_artifact(r[0]) for r in rows]

    # ---------------------------------------------------------- executions
    def put_execution(self, type_name, state="RUNNING", properties=None, name=""):
        now = _now_ms()
        with self._transaction() as c:
            type_id = self._type_id(c, type_name, "execution")
            execution_id = c.execute(
                "INSERT INTO Execution (type_id, last_known_state, name, create_time_since_epoch,"
                " last_update_time_since_epoch) VALUES (?, ?, ?, ?, ?)",
                (type_id, EXECUTION_STATES[state], name, now, now)).lastrowid
            self._put_properties(c, "ExecutionProperty", "execution_id", execution_id,
                                 properties)
        return execution_id

    def update_execution(self, execution_id, state=None, properties=None):
        with self._transaction() as c:
            if state is not None:
                c.execute("UPDATE Execution SET last_known_state = ?, "
                          "last_update_time_since_epoch = ? WHERE id = ?",
                          (EXECUTION_STATES[state], _now_ms(), execution_id))
            self._put_properties(c, "ExecutionProperty", "execution_id", execution_id,
                                 properties)

    def get_execution(self, execution_id):
        row = self._conn.execute(
            "SELECT e.*, t.name AS type_name FROM Execution e JOIN Type t ON e.type_id = t.id "
            "WHERE e.id = ?", (execution_id,)).fetchone()
        if row is None:
            raise KeyError(f"No execution with id {execution_id} in {self.path}.")
        return Execution(row["id"], row["type_name"],
                         _EXECUTION_STATE_NAMES[row["last_known_state"]], row["name"] or "",
                         self._properties("ExecutionProperty", "execution_id", row["id"]),
                         row["create_time_since_epoch"] / 1000.0,
                         row["last_update_time_since_epoch"] / 1000.0)

    def executions(self, type_name=None, state=None, property_filter=None):
        """Executions (oldest first), optionally of one type / state / string property."""
        query = ("SELECT e.id FROM Execution e JOIN Type t ON e.type_id = t.id "
                 "WHERE t.type_kind = ?")
        args = [TYPE_KINDS["execution"]]
        if type_name is not None:
            query += " AND t.name = ?"
            args.append(type_name)
        if state is not None:
            query += " AND e.last_known_state = ?"
            args.append(EXECUTION_STATES[state])
        if property_filter:
            for name, value in property_filter.items():
                query += (" AND e.id IN (SELECT execution_id FROM ExecutionProperty WHERE "
                          "name = ? AND string_value = ?)")
                args += [name, value]
        rows = self._conn.execute(query + " ORDER BY e.id", args).fetchall()
        return [self.get_execution(r[0]) for r in rows]

    # -------------------------------------------------------------- events
    def put_event(self, execution_id, artifact_id, event_type, key):
        with self._transaction() as c:
            event_id = c.execute(
                "INSERT INTO Event (artifact_id, execution_id, type, milliseconds_since_epoch) "
                "VALUES (?, ?, ?, ?)",
                (artifact_id, execution_id, EVENT_TYPES[event_type], _now_ms())).lastrowid
            c.execute("INSERT INTO EventPath (event_id, is_index_step, step_key) VALUES (?, 0, ?)",
                      (event_id, key))

    def _events(self, column, value):
        rows = self._conn.execute(
            "SELECT ev.artifact_id, ev.execution_id, ev.type, p.step_key FROM Event ev "
            "LEFT JOIN EventPath p ON p.event_id = ev.id "
            f"WHERE ev.{column} = ? ORDER BY ev.id", (value,)).fetchall()
        return [Event(r[0], r[1], _EVENT_NAMES[r[2]], r[3] or "") for r in rows]

    def events_of_execution(self, execution_id):
        return self._events("execution_id", execution_id)

    def events_of_artifact(self, artifact_id):
        return self._events("artifact_id", artifact_id)

    # ------------------------------------------------------------ contexts
    def put_context(self, type_name, name, properties=None):
        """Gets or creates the context ``(type_name, name)``; returns its id."""
        now = _now_ms()
        with self._transaction() as c:
            type_id = self._type_id(c, type_name, "context")
            row = c.execute("SELECT id FROM Context WHERE type_id = ? AND name = ?",
                            (type_id, name)).fetchone()
            if row:
                context_id = row[0]
            else:
                context_id = c.execute(
                    "INSERT INTO Context (type_id, name, create_time_since_epoch, "
                    "last_update_time_since_epoch) VALUES (?, ?, ?, ?)",
                    (type_id, name, now, now)).lastrowid
            self._put_properties(c, "ContextProperty", "context_id", context_id, properties)
        return context_id

    def contexts(self, type_name):
        rows = self._conn.execute(
            "SELECT c.id, c.name, c.create_time_since_epoch FROM Context c JOIN Type t ON "
            "c.type_id = t.id WHERE t.name = ? AND t.type_kind = ? ORDER BY c.id",
            (type_name, TYPE_KINDS["context"])).fetchall()
        return [Context(r[0], type_name, r[1],
                        self._properties("ContextProperty", "context_id", r[0]), r[2] / 1000.0)
                for r in rows]

    def associate(self, context_id, execution_id):
        with self._transaction() as c:
            c.execute("INSERT OR IGNORE INTO Association (context_id, execution_id) VALUES (?, ?)",
                      (context_id, execution_id))

    def attribute(self, context_id, artifact_id):
        with self._transaction() as c:
            c.execute("INSERT OR IGNORE INTO Attribution (context_id, artifact_id) VALUES (?, ?)",
                      (context_id, artifact_id))

    def executions_in_context(self, context_id):
        rows = self._conn.execute(
            "SELECT execution_id FROM Association WHERE context_id = ? ORDER BY execution_id",
            (context_id,)).fetchall()
        return [self.get_execution(r[0]) for r in rows]

    def artifacts_in_context(self, context_id):
        rows = self._conn.execute(
            "SELECT artifact_id FROM Attribution WHERE context_id = ? ORDER BY artifact_id",
            (context_id,)).fetchall()
        return [self.get_artifact(r[0]) for r in rows]

    # ------------------------------------------------------------- lineage
    def producer(self, artifact_id):
        """The execution that output ``artifact_id`` first (``None`` for external data)."""
        for event in self.events_of_artifact(artifact_id):
            if event.type == "OUTPUT":
                return self.get_execution(event.execution_id)
        return None

    def lineage(self, artifact_id):
        """The upstream graph of an artifact, as nested dicts (newest first).

        ``{"artifact": Artifact, "execution": Execution | None, "inputs": {key: [node]}}``.
        A cached execution is followed to the execution that produced the artifact.
        """
        artifact = self.get_artifact(artifact_id)
        execution = self.producer(artifact_id)
        inputs = {}
        if execution is not None:
            for event in self.events_of_execution(execution.id):
                if event.type == "INPUT":
                    inputs.setdefault(event.key, []).append(self.lineage(event.artifact_id))
        return {"artifact": artifact, "execution": execution, "inputs": inputs}
