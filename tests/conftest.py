import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# The harness and the model are imported by tests as top-level packages.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_common = dict(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
# ci: what every CI run checks (>= 2,000 model-vs-chain steps in process).
settings.register_profile("ci", max_examples=100, stateful_step_count=40, **_common)
# dev: a quick local loop.
settings.register_profile("dev", max_examples=20, stateful_step_count=25, **_common)
# deep: long runs, hours rather than minutes.
settings.register_profile("deep", max_examples=5_000, stateful_step_count=150, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config):
    # ape-vyper's config model meets pydantic-settings' forward-reference
    # check on every run: not this project's warning, and it buried ours
    # in every summary (issue 10, item 7).
    config.addinivalue_line("filterwarnings",
                            "ignore:Field 'import_remapping' has an incomplete definition")
