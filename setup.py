"""Builds the C simulation core (prospector._core) next to the Python package.

Bit-exact parity with the Python reference needs IEEE arithmetic exactly as
written: no -ffast-math, and no fused multiply-add (-ffp-contract=off).  The
vector env steps its games on POSIX threads (-pthread).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "prospector._core",
            sources=["ext/binding.c"],
            depends=["ext/prospector.h"],
            include_dirs=["ext"],
            extra_compile_args=[
                "-O3",
                "-ffp-contract=off",
                "-fno-fast-math",
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Wno-missing-field-initializers",
                "-pthread",
            ],
            extra_link_args=["-pthread"],
            libraries=["m"],
        )
    ],
)
