"""The HXMT app's state in its address: a products folder reopens in the results stage, as after the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daisy_widgets.hxmt.app.url_state import read_products


@pytest.mark.timeout(300)
def test_products_reopen_from_a_link_as_they_were_after_the_run(he_app, make_app):
    he_app.run(wait=True)
    key = he_app.shown
    ran = he_app.results[key]
    folder = Path(ran["files"][0]).parent
    assert he_app.link.state()["products"] == str(folder)  # the link follows the job shown

    k2, label, res = read_products(folder)
    assert k2 == key and "HE" in label and "reopened" in label
    np.testing.assert_array_equal(res["spectrum"].counts, ran["spectrum"].counts)
    np.testing.assert_allclose(res["lc"].rate, ran["lc"].rate)
    np.testing.assert_allclose(res["gti"], ran["gti"])
    for name in ("gti_seconds", "exposure", "rate", "bkg_rate", "net_rate"):
        assert res["summary"][name] == pytest.approx(ran["summary"][name], rel=1e-9), name

    app = make_app(url_state={"products": str(folder), "target": "Crab"})
    assert app.target.value == "Crab" and app.shown == key
    assert "Reopened" in app.search_message.value
    assert "live exposure" in app.summary.value
    assert len(app.lc_plot.figure.marks) and sum(
        len(m.x) for m in app.lc_plot.figure.marks if m.x is not None
    )
    assert sorted(map(str, app.files)) == sorted(res["files"])
    assert app.link.state() == {"target": "Crab", "products": str(folder)}


def test_a_folder_the_user_cannot_read_is_said_and_the_app_stays_usable(make_app, tmp_path):
    app = make_app(url_state={"products": str(tmp_path / "nowhere")})
    assert "cannot be opened" in app.search_message.value and "does not exist" in app.search_message.value
    assert not app.results
    (tmp_path / "empty").mkdir()
    app = make_app(url_state={"products": str(tmp_path / "empty")})
    assert "expected the products of a pipeline run" in app.search_message.value
    assert app.search(target="Crab")  # still searches
