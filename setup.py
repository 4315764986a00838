"""Installable package for tfgan_pipeline (see BUILD.md for why each pin exists)."""

import setuptools

setuptools.setup(
    name="tfgan_pipeline",
    version="0.1.0",
    description="Keras 3 GANs (GAN/DCGAN/WGAN/WGAN-GP, pix2pix) as a production pipeline.",
    packages=setuptools.find_packages(include=["tfgan_pipeline", "tfgan_pipeline.*", "pipelines"]),
    package_data={"tfgan_pipeline.serving": ["static/*.html", "static/*.js", "static/*.css"]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.10,<4",
        "tensorboard>=2.21,<2.22",
        "apache-beam>=2.60,<3",
        "crcmod>=1.7",
        "google-crc32c>=1.5",
        "tensorflow-datasets>=4.9.7,<5",
        "tensorflow-serving-api>=2.21,<2.22",
        "absl-py>=2.1",
        "matplotlib>=3.8",
        "scipy>=1.11",
        "pillow>=10",
        "isal>=1.6",
    ],
    extras_require={"test": ["pytest>=8", "selenium>=4.20,<5"]},
)
