"""FITS headers read straight from a file's 2880-byte blocks (no HDU objects, no data read).

Registering an HXMT exposure needs, per Level-1 file, only header information: the primary
header's keywords (target, position, times) of one file, and the column layout of each
file's first binary table (the table's structure in the catalog). Opening each file with
``astropy.io.fits`` costs about 1-4 ms; reading the header blocks costs about 0.05 ms.

:func:`primary_header` parses the primary header with astropy's own card parser
(``Header.fromstring``), so values are the ones ``fits.open`` gives. :func:`table_signature`
names the column layout of the first binary table: files with the same signature give the
same table structure, so the structure is computed once per signature
(:class:`.data_sources.TableStructures`). Anything unusual (no ``SIMPLE`` card, random
groups, compressed HDUs, long-string ``CONTINUE`` cards, an unknown extension type, a file
shorter than its headers say) gives ``None``: the caller then reads the file as before.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO, Any

BLOCK = 2880
CARD = 80
#: at most this many header blocks per HDU (a header of 100,000 cards)
MAX_BLOCKS = 1250
#: keywords of a binary-table header that decide its columns' types (with every column keyword
#: ``T<name><n>``: TTYPEn, TFORMn, TDIMn, TZEROn, TSCALn, ...)
LAYOUT_KEYS = frozenset(("XTENSION", "BITPIX", "NAXIS", "NAXIS1", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP"))
COLUMN_KEY = re.compile(r"^T[A-Z]+[0-9]+$")
#: keywords that give the size of an HDU's data
SIZE_KEYS = frozenset(("BITPIX", "NAXIS", "PCOUNT", "GCOUNT", *(f"NAXIS{k}" for k in range(1, 1000))))
#: keywords after which the fast path does not decide (astropy reads such files differently)
UNUSUAL = frozenset(("GROUPS", "ZIMAGE", "ZTABLE", "CONTINUE"))


class Unusual(ValueError):
    """The header is not one the fast path reads (the caller falls back to astropy)."""


def header_bytes(fh: IO[bytes]) -> bytes | None:
    """The next header of ``fh``: its blocks up to the one holding the ``END`` card; None at end of file.

    Raises
    ------
    Unusual
        A truncated header or one without an ``END`` card.
    """
    blocks: list[bytes] = []
    while True:
        b = fh.read(BLOCK)
        if not b and not blocks:
            return None
        if len(b) < BLOCK or len(blocks) >= MAX_BLOCKS:
            raise Unusual("truncated FITS header")
        blocks.append(b)
        for i in range(0, BLOCK, CARD):
            if b[i : i + 8] == b"END     ":
                return b"".join(blocks)


def _cards(raw: bytes) -> list[tuple[str, bytes]]:
    """``(keyword, card image without trailing blanks)`` of every card before ``END``."""
    out = []
    for i in range(0, len(raw), CARD):
        card = raw[i : i + CARD]
        key = card[:8].decode("ascii", "replace").rstrip()
        if key == "END":
            break
        if key in UNUSUAL:
            raise Unusual(key)
        out.append((key, card.rstrip()))
    return out


def _int(cards: dict[str, bytes], key: str, default: int | None = None) -> int:
    card = cards.get(key)
    if card is None:
        if default is None:
            raise Unusual(f"no {key}")
        return default
    if card[8:10] != b"= ":
        raise Unusual(f"{key} has no value")
    try:
        return int(card[10:].split(b"/")[0].strip())
    except ValueError:
        raise Unusual(f"{key} is not an integer") from None


def _str(cards: dict[str, bytes], key: str) -> str:
    card = cards.get(key, b"")
    parts = card[10:].split(b"'")
    return parts[1].decode("ascii", "replace").strip() if len(parts) >= 3 else ""


def _data_bytes(cards: dict[str, bytes]) -> int:
    """Bytes of the HDU's data with its padding to whole blocks."""
    naxis = _int(cards, "NAXIS")
    if naxis == 0:
        return 0
    n = 1
    for k in range(1, naxis + 1):
        n *= _int(cards, f"NAXIS{k}")
    size = abs(_int(cards, "BITPIX")) // 8 * _int(cards, "GCOUNT", 1) * (_int(cards, "PCOUNT", 0) + n)
    return -(-size // BLOCK) * BLOCK


_STRING = re.compile(r"^'((?:[^']|'')*)' *(?:/.*)?$")
_INT = re.compile(r"^[+-]?[0-9]+$")
#: a string value astropy may read as a record-valued keyword card (``'AXIS.1: 1'``)
_RECORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*: ")
_FLOAT = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[EeDd][+-]?[0-9]+)?$")


def card_value(card: str) -> Any:
    """The value of a card image (80 characters) written in one of FITS's plain forms: a string,
    an integer, a real or a logical; ``Unusual`` for any other (astropy reads it then).

    Values as astropy gives them: strings without their trailing blanks and with ``''`` as
    ``'``; ``D`` exponents read as ``E``.
    """
    if card[8:10] != "= ":
        raise Unusual("no value")
    field = card[10:].lstrip(" ")
    if field.startswith("'"):
        m = _STRING.match(field.rstrip(" "))
        if m is None:
            raise Unusual("string value")
        value = m.group(1).replace("''", "'").rstrip(" ")
        if value.endswith("&") or _RECORD.match(value):
            raise Unusual("long string or record-valued card")
        return value
    text = field.split("/", 1)[0].strip(" ")
    if text in ("T", "F"):
        return text == "T"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text.replace("D", "E").replace("d", "e"))
    raise Unusual("value")


def primary_header(path: str | Path, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """``{keyword: value}`` of ``keys`` present in the primary header (values as ``fits.open`` gives
    them: the first card of a repeated keyword); None when the file does not start with a plain
    FITS primary header.

    Plain cards are read here (:func:`card_value`); a header with any other card among
    ``keys`` is parsed with astropy's ``Header.fromstring``.
    """
    try:
        with open(path, "rb") as fh:
            raw = header_bytes(fh)
    except Unusual:
        return None
    if raw is None or not raw.startswith(b"SIMPLE  ="):
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    wanted, out = set(keys), {}
    try:
        for i in range(0, len(text), CARD):
            key = text[i : i + 8].rstrip(" ")
            if key == "END":
                break
            if key == "CONTINUE":
                raise Unusual(key)
            if key in wanted and key not in out:
                out[key] = card_value(text[i : i + CARD])
        return {k: out[k] for k in keys if k in out}
    except Unusual:
        from astropy.io import fits

        h = fits.Header.fromstring(text)
        return {k: h[k] for k in keys if k in h}


def table_signature(path: str | Path) -> tuple | None:
    """What decides the column layout of the file's first binary table, as a hashable tuple.

    The layout keywords' card images (:data:`LAYOUT_KEYS` and every column keyword), whether the
    table has rows, and the table's position; ``("no table",)`` for a file without a binary
    table. Files with equal signatures give equal table structures. None: an unusual file
    (see the module's notes) or one shorter than its headers say.
    """
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            pos, hdu = 0, 0
            while True:
                raw = header_bytes(fh)
                if raw is None:
                    return ("no table",)
                cards = _cards(raw)
                counted = [k for k, _ in cards if k in SIZE_KEYS or k in LAYOUT_KEYS or COLUMN_KEY.match(k)]
                if len(set(counted)) != len(counted):
                    return None  # a repeated keyword: left to astropy
                by_key = dict(cards)
                if hdu == 0 and not raw.startswith(b"SIMPLE  ="):
                    return None
                pos += len(raw) + _data_bytes(by_key)
                if pos > size:
                    return None  # truncated data
                if hdu > 0:
                    kind = _str(by_key, "XTENSION")
                    if kind == "BINTABLE":
                        rows = _int(by_key, "NAXIS2")
                        layout = tuple(c for k, c in cards if k in LAYOUT_KEYS or COLUMN_KEY.match(k))
                        return ("bintable", hdu, rows > 0, layout)
                    if kind not in ("IMAGE", "TABLE"):
                        return None
                fh.seek(pos)
                hdu += 1
    except (OSError, Unusual):
        return None
