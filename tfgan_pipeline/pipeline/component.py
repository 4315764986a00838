"""Components in TFX's shape: a spec (typed inputs, outputs, parameters) and one executor.

TFX (``tfx/types/component_spec.py``, ``tfx/dsl/components/base/base_component.py``,
``base_executor.py``) splits a component into its spec (``INPUTS`` / ``OUTPUTS`` /
``PARAMETERS``), an executor ``Do(input_dict, output_dict, exec_properties)`` and a
thin component class that validates its arguments. Here the same three parts are
one class: the class attributes are the spec, :meth:`Component.run` is the executor
(it receives the resolved input artifacts, the output artifacts to fill and the
parameters), and ``__init__`` validates the wiring and the parameters.

Wiring: ``Trainer(params, examples=example_gen.outputs["examples"])``; an input is an
:class:`OutputChannel` of an upstream component, or a :class:`LatestPushedModel`
resolver (TFX's ``Resolver`` with a latest-blessed-model strategy: the newest model
the Pusher pushed, other than the candidate itself).
"""

import dataclasses


class Interrupted(Exception):
    """An executor that stopped early on purpose (e.g. the Trainer's time budget):
    the execution is CANCELED, its outputs never published, and the run stops there;
    rerunning continues."""


@dataclasses.dataclass(frozen=True)
class OutputChannel:
    """Output ``key`` (of artifact ``type``) of component ``producer``."""

    producer: object
    key: str
    type: str


@dataclasses.dataclass(frozen=True)
class LatestPushedModel:
    """Resolver: the newest ``Model`` that a Pusher pushed under ``model_name`` in this
    pipeline, other than the artifact in ``candidate`` (none: the input is empty)."""

    candidate: OutputChannel
    model_name: str
    type: str = "Model"


@dataclasses.dataclass
class OutputArtifact:
    """An output an executor fills: its folder (created) and properties to record."""

    type: str
    uri: str
    properties: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ExecutorContext:
    """What an executor gets besides its inputs, outputs and parameters.

    Attributes:
      log: callable taking one line for the user.
      work_dir: a folder that survives a killed execution (``None`` unless the
        component declares a ``work_key``): where the Trainer keeps checkpoints.
        Off the chief it is a temporary folder; ``shared_work_dir`` is then the
        chief's (to restore from), which equals ``work_dir`` on the chief.
      is_chief: ``False`` on non-chief workers of a multi-worker run, whose outputs
        land in a temporary folder and are not recorded.
      execution_id: the metadata id of this execution (``None`` off the chief).
      pipeline: the :class:`~tfgan_pipeline.pipeline.runner.Pipeline` being run.
    """

    log: object
    work_dir: str = None
    shared_work_dir: str = None
    is_chief: bool = True
    execution_id: int = None
    pipeline: object = None


class Component:
    """Base class. Subclasses set the spec and implement :meth:`run`.

    Class attributes (the spec):
      INPUTS: ``{key: (artifact type, optional?)}``.
      OUTPUTS: ``{key: artifact type}``.
      PARAMETERS: parameter names; ``__init__`` requires exactly these.
      EXECUTOR_VERSION: bump when the executor's results change for the same inputs
        and parameters (part of the cache key).
      EXECUTION_ONLY: parameters that change how, not what, it computes (worker
        counts, logging cadence): left out of the cache key.
      CHIEF_ONLY: run only on the chief of a multi-worker run.
    """

    INPUTS = {}
    OUTPUTS = {}
    PARAMETERS = ()
    EXECUTOR_VERSION = "1"
    EXECUTION_ONLY = ()
    CHIEF_ONLY = False

    def __init__(self, params, **inputs):
        name = type(self).__name__
        missing = sorted(set(self.PARAMETERS) - set(params))
        extra = sorted(set(params) - set(self.PARAMETERS))
        if missing or extra:
            raise ValueError(f"{name}: parameters {missing} are missing and {extra} are not "
                             f"parameters of it; it takes {sorted(self.PARAMETERS)}.")
        for key, channel in inputs.items():
            if key not in self.INPUTS:
                raise ValueError(f"{name} has no input {key!r}; inputs: {sorted(self.INPUTS)}.")
            wanted = self.INPUTS[key][0]
            if channel is not None and channel.type != wanted:
                raise TypeError(f"{name}.{key} takes {wanted} artifacts, got {channel.type}.")
        for key, (_, optional) in self.INPUTS.items():
            if not optional and inputs.get(key) is None:
                raise ValueError(f"{name} needs its input {key!r}.")
        self.params = dict(params)
        self.inputs = {k: v for k, v in inputs.items() if v is not None}
        self.outputs = {k: OutputChannel(self, k, t) for k, t in self.OUTPUTS.items()}

    @property
    def name(self):
        return type(self).__name__

    def upstream(self):
        """Components whose outputs this one reads."""
        found = []
        for channel in self.inputs.values():
            producer = (channel.candidate if isinstance(channel, LatestPushedModel)
                        else channel).producer
            if producer not in found:
                found.append(producer)
        return found

    def external_inputs(self):
        """Data from outside the pipeline this component reads, for lineage:
        ``{key: (artifact type, uri, properties)}`` (e.g. ExampleGen's raw folder)."""
        return {}

    def fingerprint(self):
        """Extra JSON-able values the cache key covers (e.g. the raw files' sizes and
        times), computed before the component runs."""
        return {}

    def cache_parameters(self):
        """The parameters the cache key covers (all but ``EXECUTION_ONLY``)."""
        return {k: v for k, v in self.params.items() if k not in self.EXECUTION_ONLY}

    def work_key(self, inputs):
        """JSON-able values that identify resumable state, given the resolved input
        artifacts (``None``: no work dir). It must be computable off the chief too,
        from artifact properties rather than metadata ids."""
        return None

    def run(self, inputs, outputs, params, context):
        """The executor. ``inputs``: ``{key: [metadata.Artifact]}``; ``outputs``:
        ``{key: OutputArtifact}`` (folders exist, empty); ``params``: this
        component's parameters; ``context``: :class:`ExecutorContext`. Returns a
        one-line summary for the log (optional)."""
        raise NotImplementedError
