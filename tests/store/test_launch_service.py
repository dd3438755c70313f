"""Starting ``daisy data serve`` and waiting for it (``store/local_service.launch_data_service``): the
one launcher the demo hub, the tests' services and the benchmarks use; its errors name the folder,
the exit status and the log, and a service that does not answer in time is not left running."""

from __future__ import annotations

import pytest

from daisy_widgets.store.client import ServiceError
from daisy_widgets.store.local_service import launch_data_service


def test_a_service_that_exits_is_named_with_its_status_and_log(tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(ServiceError) as err:
        launch_data_service(missing, tmp_path / "state", timeout=120)
    text = str(err.value)
    assert (
        f"over {missing}" in text and "exited with" in text and str(tmp_path / "state" / "serve.log") in text
    )
    assert "no-such-folder" in text.split("\n", 1)[1]  # the service's own reason, from its log


def test_a_service_that_does_not_answer_in_time_is_stopped(tmp_path, monkeypatch):
    import subprocess

    started: list[subprocess.Popen] = []
    real = subprocess.Popen

    def spy(*args, **kwargs):
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", spy)
    (tmp_path / "data").mkdir()
    with pytest.raises(ServiceError, match=r"did not answer in 0 s \(see .*serve\.log\)"):
        launch_data_service(tmp_path / "data", tmp_path / "state", timeout=0.01)
    assert len(started) == 1 and started[0].poll() is not None  # killed, not left running
