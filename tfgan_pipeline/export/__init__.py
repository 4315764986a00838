"""Export for TensorFlow Serving: one exporter, per-family signatures.

Usage (pix2pix)::

    from tfgan_pipeline import export

    result = export.export_saved_model(
        output_dir, "pix2pix_maps",
        signatures=export.pix2pix_signatures(generator, image_size=256),
        variables_owner=generator,
        warmup_requests=export.pix2pix_warmup_requests(256))
    # -> <output_dir>/export/pix2pix_maps/<next version>/ and export/models.config

A new family writes one ``<family>_signatures(...)`` function in ``signatures.py``;
nothing else changes.
"""

from tfgan_pipeline.export.model_config import read_model_config, update_model_config
from tfgan_pipeline.export.saved_model import (
    ExportResult,
    collect_tf_variables,
    export_root,
    export_saved_model,
    list_versions,
    push_saved_model,
)
from tfgan_pipeline.export.signatures import (
    decode_images,
    encode_png,
    conditional_generator_signatures,
    conditional_warmup_requests,
    gan_generator_signatures,
    gan_warmup_requests,
    pix2pix_signatures,
    pix2pix_warmup_requests,
)
from tfgan_pipeline.export.warmup import (
    WarmupRequest,
    read_signature_defs,
    read_warmup_requests,
    request_inputs,
    run_warmup_requests,
)

__all__ = [
    "ExportResult",
    "WarmupRequest",
    "collect_tf_variables",
    "decode_images",
    "encode_png",
    "export_root",
    "export_saved_model",
    "conditional_generator_signatures",
    "conditional_warmup_requests",
    "gan_generator_signatures",
    "gan_warmup_requests",
    "list_versions",
    "pix2pix_signatures",
    "pix2pix_warmup_requests",
    "push_saved_model",
    "read_model_config",
    "read_signature_defs",
    "read_warmup_requests",
    "request_inputs",
    "run_warmup_requests",
    "update_model_config",
]
