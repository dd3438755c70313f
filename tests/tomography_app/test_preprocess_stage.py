"""Stage 3: preprocessing steps toggled and parameterised by the generated forms, before/after shown."""

from __future__ import annotations

import numpy as np

from daisy_widgets.tomography import preprocess as P


def _row_by_hand(scan, row, zinger=None, stripes=None):
    b = scan.block(slice(row, row + 1))
    t = P.normalize(b["projections"], b["flats"], b["darks"])
    if zinger:
        t = P.remove_zingers(t, *zinger)
    s = P.minus_log(t).transpose(1, 0, 2)
    if stripes:
        s = P.remove_stripes(s, "sorting", size=stripes)
    return s[0]


def test_forms_are_generated_from_the_declarations(app):
    assert set(app.forms) == {"normalize", "zingers", "stripes", "phase"}
    assert set(app.forms["stripes"].fields) == {"method", "size", "level", "sigma"}
    assert set(app.forms["phase"].fields) == {"energy", "distance", "pixel_size", "delta_beta"}
    assert app.enabled["normalize"].value and app.enabled["normalize"].disabled


def test_preview_sinograms_equal_the_kernels_called_directly(app):
    row = app.preview_row.value
    app.update_preview(wait=True)
    np.testing.assert_allclose(app.after_view.image, _row_by_hand(app.scan, row), rtol=1e-6)
    np.testing.assert_allclose(app.before_view.image, _row_by_hand(app.scan, row), rtol=1e-6)
    app.set_preprocessing(zingers={"threshold": 0.2, "size": 5}, stripes={"method": "sorting", "size": 7})
    app.update_preview(wait=True)
    expected = _row_by_hand(app.scan, row, zinger=(0.2, 5), stripes=7)
    np.testing.assert_allclose(app.after_view.image, expected, rtol=1e-5, atol=1e-6)
    # before stays the plain normalised data: the two differ where rings and zingers were
    assert not np.allclose(app.before_view.image, app.after_view.image)
    app.set_preprocessing(zingers=False, stripes=False)
    app.update_preview(wait=True)
    np.testing.assert_allclose(app.after_view.image, _row_by_hand(app.scan, row), rtol=1e-6)


def test_phase_retrieval_uses_neighbouring_rows(app):
    app.set_preprocessing(phase={"energy": 20.0, "distance": 0.05, "pixel_size": 1.0, "delta_beta": 500.0})
    app.update_preview(wait=True)
    assert app.errors == []
    b = app.scan.block(slice(0, app.scan.shape[1]))
    t = P.normalize(b["projections"], b["flats"], b["darks"])
    ref = P.paganin(t, 1e-6, 0.05, 20.0, 500.0).transpose(1, 0, 2)[app.preview_row.value]
    np.testing.assert_allclose(app.after_view.image, ref, rtol=1e-4, atol=1e-5)


def test_invalid_form_value_is_reported_and_app_recovers(app):
    app.set_preprocessing(zingers=True)
    app.forms["zingers"].fields["threshold"].value = -3.0  # below the declared minimum
    assert "daisy-tomo-error" in app.message._dom_classes
    assert "threshold" in app.message.value
    assert (
        "threshold" in app.forms["zingers"].errors["threshold"].value
        or app.forms["zingers"].errors["threshold"].value
    )
    app.forms["zingers"].fields["threshold"].value = 0.1
    app.update_preview(wait=True)
    assert app.preview_status.value.startswith("row")
