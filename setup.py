"""The one thing pyproject.toml cannot say: the optional compiled part of the columnar batch.

engine/_columnar.c reads and writes the chunks of a large CSV given to `batch` in one pass each
(engine/columnar_native.py calls it through ctypes). It is `optional`: where no C compiler is
at hand the install goes on without it, and the columnar batch reads and writes with numpy
alone (the same bytes, about 1.5 times the time). Everything else is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("aci_rules.engine._columnar", ["engine/_columnar.c"], optional=True)])
