"""A development server for exported models: TF Serving's REST API and a try-it page.

``python -m pipelines.serve --serving_dir=<output_dir>/export`` serves every model the
export wrote (``<serving_dir>/<model>/<version>/``) on http://127.0.0.1:8501 with
TensorFlow Serving's REST API (status, metadata, ``:predict`` in row and columnar
formats), its latest-version policy with warm-up and hot swap, and a page at ``/``
to try the model in a browser. For production use TensorFlow Serving itself
(BUILD.md, "Serving with TensorFlow Serving"); this server is for development and
tests. See docs/SERVING.md.
"""

from tfgan_pipeline.serving.errors import ServingError
from tfgan_pipeline.serving.server import DevServer, ServerLimits, wait_until_serving
from tfgan_pipeline.serving.version_manager import VersionManager

__all__ = ["DevServer", "ServerLimits", "ServingError", "VersionManager", "wait_until_serving"]
