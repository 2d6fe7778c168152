"""Settings for the benchmark's reference endpoint: the product's settings, other URLs.

Used only by benchmarks/execute.py (gunicorn --pythonpath benchmarks); never by the product.
"""

from genauth_pipeline.settings import *  # noqa: F403

ROOT_URLCONF = "bench_ref_urls"
