"""Every stage of both apps has a "?" toggle over its help: text, the declared parameters, docs links."""

from __future__ import annotations

import ipywidgets as W
from traitlets import Float, HasTraits

from daisy_widgets.widgets.help import HelpToggle, algorithm_help_html, docs_url, help_html
from daisy_widgets.widgets.stage import Stage


class _Model(HasTraits):
    x = Float(1.0)


class _Plain(Stage):
    """Move the slider to set x.

    Longer text that is not shown."""

    title = "plain"

    def _render(self):
        return [W.FloatSlider()]


def test_every_stage_gets_a_toggle_hidden_until_pressed_with_the_docstring_as_fallback():
    stage = _Plain(_Model()).render()
    assert isinstance(stage.children[0], HelpToggle) and stage.help is stage.children[0]
    assert isinstance(stage.children[1], W.FloatSlider)
    assert stage.help.text.layout.display == "none" and not stage.help.shown
    stage.help.button.value = True  # the user presses "?"
    assert stage.help.text.layout.display == "" and stage.help.shown
    assert "Move the slider to set x." in stage.help.text.value and "Longer" not in stage.help.text.value
    stage.help.toggle()
    assert stage.help.text.layout.display == "none"


def test_algorithm_help_lists_every_declared_parameter_with_unit_default_and_bounds():
    from daisy_widgets.core.registry import get_algorithm

    cls = get_algorithm("tomo.find_center")
    text = algorithm_help_html(cls)
    assert cls.summary() in text or cls.summary().replace("'", "&#x27;") in text
    for p in cls.params:
        assert f"<code>{p.name}</code>" in text
        if p.unit:
            assert f"({p.unit})" in text
        if p.help:
            assert p.help.split()[0] in text
    assert "tomo.find_center" in help_html("t", ["tomo.find_center", "no.such_algorithm"])


def test_docs_links_follow_the_hub_and_a_site_url(monkeypatch):
    monkeypatch.delenv("DAISY_DOCS_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert docs_url("hxmt-app.md") == "docs/hxmt-app.md"
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ann/")
    assert docs_url("hxmt-app.md#x") == "/user/ann/lab/tree/docs/hxmt-app.md#x"
    monkeypatch.setenv("DAISY_DOCS_URL", "https://daisy.example/docs/")
    assert docs_url("a.md") == "https://daisy.example/docs/a.md"


def _check_stage_help(stage: Stage) -> None:
    stage.render()
    assert isinstance(stage.children[0], HelpToggle), stage.title
    assert len(stage.help_text) > 150, f"stage {stage.title!r} has no help text of its own"
    value = stage.help.text.value
    assert "docs/" in value and "href=" in value, stage.title
    for name in stage.help_algorithms:
        assert f"<code>{name}</code>" in value, (stage.title, name)


def test_every_tomography_stage_has_help_with_its_algorithms_parameters(tmp_path):
    from daisy_widgets.tomography.app import TomographyApp

    app = TomographyApp(data_dir=tmp_path, engine="inprocess", open_default=False)
    assert set(app.stages) >= {"open", "raw", "preprocess", "centre", "motion", "preview", "reconstruct"}
    for stage in app.stages.values():
        _check_stage_help(stage)
    assert "find_center" in app.stages["centre"].help.text.value
    assert "(px)" in app.stages["centre"].help.text.value  # units from the declarations
    app.controller.preview_runner.cancel()


def test_every_hxmt_stage_has_help_and_the_title_is_shown_once(tmp_path):
    from daisy_widgets.hxmt.app import HxmtApp

    app = HxmtApp(engine="inprocess", products_dir=tmp_path)
    assert list(app.stages) == ["search", "params", "run", "results"]
    for stage in app.stages.values():
        _check_stage_help(stage)
    assert "hxmt.gtigen" in app.stages["params"].help.text.value

    # the page's title is the notebook's markdown heading: the app itself does not repeat it
    def texts(w):
        out = [getattr(w, "value", "")] if isinstance(w, W.HTML) else []
        for c in getattr(w, "children", ()):
            out += texts(c)
        return out

    assert not any("Insight-HXMT data processing" in str(t) for t in texts(app))
