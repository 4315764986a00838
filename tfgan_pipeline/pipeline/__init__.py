"""The component pipeline: ExampleGen -> Trainer -> Evaluator (blessing) -> Pusher.

TFX's shape on the standard library (TFX itself cannot be installed with TF 2.21):
``component`` (spec + executor), ``components`` (the four), ``runner`` (order,
caching, resume, multi-worker roles), ``metadata`` (ML Metadata's model in SQLite),
``layout`` (every path), ``examples`` (data kinds), ``training`` (resumable fit),
``report`` (the run's page) and ``jobs`` (the default pipeline of a job config).
"""
