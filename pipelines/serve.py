r"""Serve exported models with TF Serving's REST API and a try-it page (development server).

    python -m pipelines.serve --serving_dir=runs/demo/export [--port=8501] [--model_name=pix2pix]

Then open http://127.0.0.1:8501/ or call the REST API, e.g.::

    curl http://127.0.0.1:8501/v1/models/pix2pix
    curl http://127.0.0.1:8501/v1/models/pix2pix/metadata
    curl -d "{\"instances\": [{\"b64\": \"$(base64 -w0 map.png)\"}]}" \
        http://127.0.0.1:8501/v1/models/pix2pix:predict

For production, run TensorFlow Serving itself on the same folder (BUILD.md).
"""

import logging
import signal
import sys

from absl import app, flags

from tfgan_pipeline import serving

FLAGS = flags.FLAGS
_DEFAULTS = serving.ServerLimits()

flags.DEFINE_string("serving_dir", None, "Model base path root: <output_dir>/export "
                    "(holds <model_name>/<version>/ and models.config).", required=True)
flags.DEFINE_list("model_name", None, "Models to serve (comma-separated); default: the names "
                  "in <serving_dir>/models.config, else every model folder found.")
flags.DEFINE_string("host", "127.0.0.1", "Address to bind; 127.0.0.1 (default) is reachable "
                    "only from this machine, 0.0.0.0 from every network.")
flags.DEFINE_integer("port", 8501, "Port (TF Serving's REST default is 8501; 0 picks a free one).")
flags.DEFINE_float("poll_seconds", 1.0, "Seconds between polls of the base paths for new "
                   "versions; 0 polls once at start.")
flags.DEFINE_integer("max_body_bytes", _DEFAULTS.max_body_bytes,
                     "Largest request body; larger ones get 413.")
flags.DEFINE_integer("max_image_pixels", _DEFAULTS.max_image_pixels,
                     "Largest width*height of an image in a request; larger get 400.")
flags.DEFINE_integer("max_image_side", _DEFAULTS.max_image_side,
                     "Largest width or height of an image in a request; larger get 400.")
flags.DEFINE_integer("max_connections", _DEFAULTS.max_connections,
                     "Open connections served at once; more get 503.")
flags.DEFINE_boolean("warmup", True, "Replay assets.extra/tf_serving_warmup_requests before "
                     "serving a version (a failing warmup keeps the version out).")
flags.DEFINE_boolean("log_requests", True, "Log one line per request.")


def _interrupt(signum, frame):
    del signum, frame
    raise KeyboardInterrupt


def main(argv):
    del argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        limits = serving.ServerLimits(
            max_body_bytes=FLAGS.max_body_bytes, max_image_pixels=FLAGS.max_image_pixels,
            max_image_side=FLAGS.max_image_side, max_connections=FLAGS.max_connections)
        manager = serving.VersionManager(FLAGS.serving_dir, model_names=FLAGS.model_name,
                                         poll_seconds=FLAGS.poll_seconds, warmup=FLAGS.warmup)
    except ValueError as e:
        sys.exit(f"error: {e}")
    manager.start()
    names = manager.model_names()
    if not names:
        logging.warning("no models found under %s yet; polling every %s s", FLAGS.serving_dir,
                        FLAGS.poll_seconds)
    server = serving.DevServer(manager, host=FLAGS.host, port=FLAGS.port, limits=limits,
                               log_requests=FLAGS.log_requests)
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: close the socket, stop polling
    for name in names:
        logging.info("model %s: version %s", name, manager.serving_version(name))
    # One machine-readable line (benchmarks and scripts wait for it), then the log.
    print(f"Serving {server.url}/ models: {','.join(names) or '(none yet)'}", flush=True)
    print("Development server: use TensorFlow Serving for production (BUILD.md).", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        manager.stop()


if __name__ == "__main__":
    app.run(main)
