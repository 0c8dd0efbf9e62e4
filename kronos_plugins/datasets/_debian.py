"""Market data shipped inside Debian's R packages, read without R.

Debian packages several Rmetrics (CRAN) packages whose ``data/`` directory holds real market series:

``r-cran-timeseries`` (R package ``timeSeries``)
    ``USDCHF``: USD/CHF, 62,496 half-hourly quotes 1996-04-01..2001-03-30; ``MSFT``: Microsoft daily OHLCV
    2000-09-27..2001-09-27 (the same data as fBasics' ``msft.dat``).
``r-cran-fbasics`` (``fBasics``)
    ``DowJones30``: closes of the 30 Dow stocks 1990-12-31..2001-01-02; ``nyse``: NYSE Composite closes
    1966-2002; ``usdthb``: Reuters USD/THB quotes of June 1997 (not read here).
``r-cran-fportfolio`` (``fPortfolio``)
    ``SPISECTOR``: Swiss SPI and nine sector indices 1999-12-30..2008-10-17; ``GCCINDEX``: eleven Gulf
    (GCC) stock indices 2005-05-31..2008-07-28; ``SWX``: SBI, SPI, SII and the Pictet LPP indices.

They install as R *lazy-load databases*:

``Rdata.rdx``
    a gzip-compressed serialised R list ``list(variables=, references=, compressed=)``; ``variables`` maps
    each object name to ``c(offset, length)`` in ``Rdata.rdb``.
``Rdata.rdb``
    the objects back to back; each is a 4-byte big-endian uncompressed length followed by the compressed
    serialised object (zlib when ``compressed`` is ``TRUE``/1; for 2 and 3 a type byte follows the length:
    ``Z`` zlib, ``2`` bzip2, ``X`` xz, ``0`` stored).

A serialised object is in R's XDR format (``"X\\n"``, then big-endian integers and doubles). The reader
below decodes the types data sets use (atomic vectors, lists, pairlists, symbols, S4 objects, ALTREP compact
sequences and wrappers; environments only as opaque values) and refuses closures and byte code. It
reproduces the real objects byte for byte when written back with :func:`serialize`, which is also how the
test fixtures were cut from them.

The packages are fetched with ``apt-get download`` (no root needed) into ``fetch_cache_dir() / "debian"``
and unpacked with ``dpkg -x`` (or Python's own ``ar`` and tar readers where dpkg is absent). Nothing is
installed system-wide and R is never run.

Timestamps. A ``timeSeries`` object stores its ``positions`` as seconds since 1970-01-01 **GMT** and names,
in ``FinCenter``, the financial centre whose local time it is shown in. The readers convert to that local
wall-clock time and drop the zone. ``USDCHF`` is the only object with a centre other than GMT: ``Zurich``
(set in timeSeries 4021.105, which also fixed a wrong year in its stamps); in Zurich time its weeks run
Monday 00:00 to Friday 23:30 in summer and winter alike, which confirms the centre. The daily objects
carry dates (``FinCenter`` GMT, midnight) or, for the data frames, ``"%Y-%m-%d"`` strings.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from kronos_plugins.datasets._sources import SeriesSpec

__all__ = [
    "R_LIBRARY",
    "RObject",
    "dataframe_frame",
    "debian_cache_dir",
    "deb_library_dir",
    "fetch_deb",
    "fetch_r_package",
    "fetched_version",
    "lazyload_index",
    "read_debian_rdata",
    "read_lazyload",
    "serialize",
    "timeseries_frame",
    "unserialize",
    "write_lazyload",
]

R_LIBRARY = "usr/lib/R/site-library"
"""Where Debian's R packages put their installed libraries, relative to the unpacked ``.deb``."""

# ----------------------------------------------------------------------------------------------------------
# fetching


def debian_cache_dir() -> Path:
    """``fetch_cache_dir() / "debian"`` (under ``$KRONOS_DATA_CACHE`` when that variable is set)."""
    from kronos_plugins.datasets._sources import fetch_cache_dir

    return fetch_cache_dir() / "debian"


def _cache_name(package: str, version: str | None) -> str:
    name = f"{package}_{version}" if version else package
    return "".join(c if c.isalnum() or c in "-._+" else "_" for c in name)


def fetch_deb(package: str, version: str | None = None) -> Path:
    """Download a Debian package once and unpack it; return the directory it was unpacked into.

    The ``.deb`` is fetched with ``apt-get download <package>[=<version>]`` (no root needed) and unpacked
    with ``dpkg -x`` (without dpkg: by reading the ``ar`` archive and its ``data.tar.*`` in Python). The
    tree is moved into place with one rename, so a concurrent or interrupted fetch never leaves a partial
    directory behind; a directory already there is returned without touching the network. The version
    that was downloaded is written to ``<dir>/VERSION``.

    Parameters
    ----------
    package : str
        The Debian package name (``"r-cran-timeseries"``).
    version : str, optional
        A Debian version (``"4021.105-2"``); default: apt's candidate, cached under the bare package name.

    Returns
    -------
    Path
        The unpacked tree (``<dir>/usr/lib/R/site-library/<Pkg>/data`` holds an R package's data).

    Raises
    ------
    ImportError
        When ``apt-get download`` cannot run, fails or produces no ``.deb``, or the archive cannot be
        unpacked; the message names the command and gives its last line of output.
    """
    cache = debian_cache_dir()
    root = cache / _cache_name(package, version)
    if root.is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    target = f"{package}={version}" if version else package
    cmd = ["apt-get", "download", target]
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        try:
            done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=False)
        except OSError as exc:  # no apt-get (not a Debian/Ubuntu system)
            raise ImportError(
                f"could not run `{' '.join(cmd)}` ({exc}); the Debian R data sources need apt-get and a "
                "reachable Debian/Ubuntu package archive"
            ) from exc
        debs = sorted(Path(tmp).glob("*.deb"))
        if done.returncode != 0 or not debs:
            lines = (done.stderr or "").strip().splitlines() or (done.stdout or "").strip().splitlines()
            last = lines[-1] if lines else "no output"
            raise ImportError(
                f"`{' '.join(cmd)}` failed (exit {done.returncode}: {last}); run it where the Debian/Ubuntu "
                "package archive is reachable (after `apt-get update`), or set KRONOS_DATA_CACHE to a "
                "cache that already holds it"
            )
        staged = Path(tmp) / "tree"
        _extract_deb(debs[0], staged)
        # <name>_<version>_<arch>.deb, the epoch's colon written %3a
        parts = debs[0].name[: -len(".deb")].split("_")
        (staged / "VERSION").write_text(
            (parts[1] if len(parts) == 3 else "unknown").replace("%3a", ":") + "\n"
        )
        try:
            os.replace(staged, root)  # atomic: a concurrent fetch either wins or finds it done
        except OSError:
            if not root.is_dir():
                raise
    return root


def _extract_deb(deb: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    if shutil.which("dpkg") is not None:
        cmd = ["dpkg", "-x", str(deb), str(dest)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        last = ((done.stderr or "").strip().splitlines() or ["no output"])[-1]
        raise ImportError(f"`dpkg -x {deb.name} DIR` failed ({last})")
    _extract_deb_python(deb, dest)


def _extract_deb_python(deb: Path, dest: Path) -> None:
    """Unpack the ``data.tar.*`` member of a ``.deb`` (an ``ar`` archive) without dpkg."""
    data = deb.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise ImportError(f"{deb.name} is not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        body = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                raise ImportError(f"{deb.name}: its data.tar.zst needs dpkg to unpack")
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
                tar.extractall(dest, filter="data")
            return
    raise ImportError(f"{deb.name} holds no data.tar member")


def deb_library_dir(package: str) -> Path:
    """Where :func:`fetch_r_package` unpacks ``package``'s R libraries (whether or not it is there yet)."""
    return debian_cache_dir() / _cache_name(package, None) / R_LIBRARY


def fetch_r_package(package: str, module: str) -> Path:
    """Fetch the Debian package ``package`` (apt's candidate version) and return its R package ``module``.

    Raises
    ------
    ImportError
        When the download fails (see :func:`fetch_deb`) or the package holds no ``module`` directory.
    """
    path = fetch_deb(package) / R_LIBRARY / module
    if not (path / "data").is_dir():
        raise ImportError(f"{package} holds no R package data directory {R_LIBRARY}/{module}/data")
    return path


def fetched_version(package: str) -> str:
    """The Debian version of a package fetched by :func:`fetch_r_package`, or ``"unknown"``."""
    path = debian_cache_dir() / _cache_name(package, None) / "VERSION"
    return path.read_text().strip() if path.is_file() else "unknown"


# ----------------------------------------------------------------------------------------------------------
# R serialisation (XDR)

NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP = 9, 10, 13, 14, 15, 16
VECSXP, EXPRSXP, RAWSXP, S4SXP = 19, 20, 24, 25
_REFSXP, _NILVALUE, _GLOBALENV, _UNBOUNDVALUE, _MISSINGARG, _BASENAMESPACE = 255, 254, 253, 252, 251, 250
_NAMESPACESXP, _PACKAGESXP, _PERSISTSXP, _EMPTYENV, _BASEENV = 249, 248, 247, 242, 241
_ATTRLANGSXP, _ATTRLISTSXP, _ALTREPSXP = 240, 239, 238
_SPECIAL_ENVS = (_EMPTYENV, _BASEENV, _GLOBALENV, _UNBOUNDVALUE, _MISSINGARG, _BASENAMESPACE)
_IS_OBJECT, _HAS_ATTR, _HAS_TAG = 1 << 8, 1 << 9, 1 << 10
_CDR = "\x00cdr"  # the tag under which a dotted pair's final CDR is kept
_ASCII_LEVEL = 64  # CHARSXP gp bit: the string is ASCII
NA_INTEGER = -(2**31)


@dataclass
class RObject:
    """One decoded R value.

    ``value`` by type: numeric, integer and logical vectors as numpy arrays (integer and logical NA is
    :data:`NA_INTEGER`; real NA is a NaN); character vectors as ``list[str | None]``; lists (``VECSXP``) as
    ``list[RObject]``; pairlists as ``list[tuple[tag | None, RObject]]``; symbols as their name; CHARSXP as
    a str (None for NA); S4 objects as None (an S4 object's slots are its attributes); environments as a
    ``dict`` (or the code of a special one). ``levels`` and ``is_object`` are R's header bits, kept so that
    :func:`serialize` writes an object back exactly.
    """

    type: int
    value: Any = None
    attributes: dict[str, RObject] = field(default_factory=dict)
    levels: int = 0
    is_object: bool = False

    def attr(self, name: str) -> Any:
        """The value of attribute (or S4 slot) ``name``, or None."""
        a = self.attributes.get(name)
        return None if a is None else a.value

    @property
    def classes(self) -> list[str]:
        return list(self.attr("class") or [])

    def __getitem__(self, name: str) -> RObject:
        """A named list's element."""
        if self.type == LISTSXP:
            for tag, val in self.value:
                if tag == name:
                    return val
            raise KeyError(name)
        names = self.attr("names") or []
        if name not in names:
            raise KeyError(name)
        return self.value[names.index(name)]


def _null() -> RObject:
    return RObject(NILSXP)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.buf = memoryview(data)
        self.pos = 0
        self.refs: list[RObject] = []

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError("serialised R object is truncated")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def length(self) -> int:
        n = self.int()
        if n == -1:  # a long vector: two more ints
            hi, lo = self.int(), self.int()
            return (hi << 32) + lo
        return n

    def item(self) -> RObject:
        flags = self.int()
        kind = flags & 0xFF
        levels = flags >> 12
        is_object = bool(flags & _IS_OBJECT)
        has_attr = bool(flags & _HAS_ATTR)
        if kind == _NILVALUE:
            return _null()
        if kind in _SPECIAL_ENVS:
            return RObject(ENVSXP, value=kind)
        if kind == _REFSXP:
            index = flags >> 8 or self.int()
            return self.refs[index - 1]
        if kind in (_PERSISTSXP, _PACKAGESXP, _NAMESPACESXP):
            if self.int() != 0:
                raise ValueError("unexpected persistent-name header")
            obj = RObject(ENVSXP, value=[self.item().value for _ in range(self.int())])
            self.refs.append(obj)
            return obj
        if kind == SYMSXP:
            obj = RObject(SYMSXP, value=self.item().value)
            self.refs.append(obj)
            return obj
        if kind == ENVSXP:
            obj = RObject(ENVSXP, levels=levels, is_object=is_object)
            self.refs.append(obj)
            self.int()  # locked
            enclos, frame, hashtab = self.item(), self.item(), self.item()
            obj.value = {"enclos": enclos, "frame": frame, "hashtab": hashtab}
            obj.attributes = self._attr_dict(self.item())
            return obj
        if kind in (LISTSXP, _ATTRLISTSXP):
            return self._pairlist(flags)
        if kind in (CLOSXP, PROMSXP, LANGSXP, _ATTRLANGSXP, 17, 21, 22, 23):
            raise ValueError(
                f"R object type {kind} (code, not data) in a serialised data set is not supported"
            )
        if kind == _ALTREPSXP:
            return self._altrep()
        if kind == CHARSXP:
            n = self.int()
            text = None if n == -1 else bytes(self.take(n)).decode("utf-8", errors="replace")
            return RObject(CHARSXP, text, levels=levels)
        if kind in (LGLSXP, INTSXP):
            n = self.length()
            value: Any = np.frombuffer(self.take(4 * n), dtype=">i4").astype(np.int32)
        elif kind == REALSXP:
            n = self.length()
            value = np.frombuffer(self.take(8 * n), dtype=">f8").astype(np.float64)
        elif kind == CPLXSXP:
            n = self.length()
            pairs = np.frombuffer(self.take(16 * n), dtype=">f8").astype(np.float64)
            value = pairs[0::2] + 1j * pairs[1::2]
        elif kind == STRSXP:
            value = [self.item().value for _ in range(self.length())]
        elif kind in (VECSXP, EXPRSXP):
            value = [self.item() for _ in range(self.length())]
        elif kind == RAWSXP:
            value = bytes(self.take(self.length()))
        elif kind == S4SXP:
            value = None
        else:
            raise ValueError(f"unsupported R object type {kind} in a serialised data set")
        obj = RObject(kind, value, levels=levels, is_object=is_object)
        if has_attr:
            obj.attributes = self._attr_dict(self.item())
        return obj

    def _pairlist(self, flags: int) -> RObject:
        # read iteratively along the CDR: (attributes) (tag) CAR, then the next cell's flags or NILVALUE
        cells: list[tuple[str | None, RObject]] = []
        head = RObject(LISTSXP, cells, levels=flags >> 12, is_object=bool(flags & _IS_OBJECT))
        while True:
            attrs = self._attr_dict(self.item()) if flags & _HAS_ATTR else {}
            if not cells:
                head.attributes = attrs
            tag = self.item().value if flags & _HAS_TAG else None
            cells.append((tag, self.item()))
            flags = self.int()
            if flags & 0xFF == _NILVALUE:
                return head
            if flags & 0xFF not in (LISTSXP, _ATTRLISTSXP):  # a dotted pair: the CDR is another object
                self.pos -= 4
                cells.append((_CDR, self.item()))
                return head

    def _altrep(self) -> RObject:
        info, state, attrib = self.item(), self.item(), self.item()
        cls = info.value[0][1].value if info.type == LISTSXP else None
        if cls == "compact_intseq":  # state: c(n, first, step) as doubles
            n, first, step = (int(v) for v in state.value)
            obj = RObject(INTSXP, (first + step * np.arange(n)).astype(np.int32))
        elif cls == "compact_realseq":
            n, first, step = state.value
            obj = RObject(REALSXP, first + step * np.arange(int(n), dtype=np.float64))
        elif cls is not None and cls.startswith("wrap_"):  # state: list(x, meta)
            inner = state.value[0]
            obj = RObject(inner.type, inner.value, dict(inner.attributes), inner.levels, inner.is_object)
        elif cls == "deferred_string":  # state: a pair (numbers to show as strings . scipen)
            numbers = state.value[0][1]
            obj = RObject(STRSXP, [_number_string(v, numbers.type) for v in numbers.value])
        else:
            raise ValueError(f"unsupported ALTREP class {cls!r} in a serialised data set")
        if attrib.type == LISTSXP:
            obj.attributes = self._attr_dict(attrib)
        return obj

    @staticmethod
    def _attr_dict(pairlist: RObject) -> dict[str, RObject]:
        if pairlist.type == NILSXP:
            return {}
        return {str(tag): val for tag, val in pairlist.value}


def _number_string(v: Any, kind: int) -> str | None:
    if kind == INTSXP:
        return None if v == NA_INTEGER else str(int(v))
    if np.isnan(v):
        return None
    return f"{v:.15g}"


def unserialize(data: bytes) -> RObject:
    """Decode one object serialised by R in XDR format (bytes starting ``b"X\\n"``).

    Raises
    ------
    ValueError
        For another serialisation format (ascii, native), a truncated stream, or R code (closures, byte
        code) rather than data.
    """
    if bytes(data[:2]) != b"X\n":
        raise ValueError(f"not an R XDR serialisation (header {bytes(data[:2])!r})")
    reader = _Reader(data)
    reader.pos = 2
    version = reader.int()
    reader.int()  # the R version that wrote it
    reader.int()  # the oldest R version that can read it
    if version == 3:
        reader.take(reader.int())  # native encoding name
    elif version != 2:
        raise ValueError(f"unsupported R serialisation version {version}")
    return reader.item()


class _Writer:
    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.symbols: dict[str, int] = {}

    def int(self, v: int) -> None:
        self.out.write(struct.pack(">i", v))

    def flags(self, kind: int, obj: RObject, has_attr: bool = False, has_tag: bool = False) -> None:
        self.int(
            kind
            | (obj.levels << 12)
            | (_IS_OBJECT if obj.is_object else 0)
            | (_HAS_ATTR if has_attr else 0)
            | (_HAS_TAG if has_tag else 0)
        )

    def charsxp(self, text: str | None, levels: int | None = None) -> None:
        if text is None:
            self.int(CHARSXP)
            self.int(-1)
            return
        raw = text.encode("utf-8")
        if levels is None:
            levels = _ASCII_LEVEL if text.isascii() else 8  # 8: UTF-8
        self.int(CHARSXP | (levels << 12))
        self.int(len(raw))
        self.out.write(raw)

    def symbol(self, name: str) -> None:
        if name in self.symbols:
            index = self.symbols[name]
            self.int(_REFSXP | (index << 8))
            return
        self.symbols[name] = len(self.symbols) + 1
        self.int(SYMSXP)
        self.charsxp(name)

    def attributes(self, attrs: dict[str, RObject]) -> None:
        for name, value in attrs.items():
            self.int(LISTSXP | _HAS_TAG)
            self.symbol(name)
            self.item(value)
        self.int(_NILVALUE)

    def item(self, obj: RObject) -> None:
        kind, value, has_attr = obj.type, obj.value, bool(obj.attributes)
        if kind == NILSXP:
            self.int(_NILVALUE)
            return
        if kind == SYMSXP:
            self.symbol(value)
            return
        if kind == LISTSXP:
            for i, (tag, car) in enumerate(value):
                if tag == _CDR:
                    self.item(car)
                    return
                cell_attr = has_attr and i == 0
                self.flags(LISTSXP, obj if i == 0 else RObject(LISTSXP), cell_attr, tag is not None)
                if cell_attr:
                    self.attributes(obj.attributes)
                if tag is not None:
                    self.symbol(tag)
                self.item(car)
            self.int(_NILVALUE)
            return
        if kind == CHARSXP:
            self.charsxp(value, obj.levels)
            return
        self.flags(kind, obj, has_attr)
        if kind in (LGLSXP, INTSXP):
            self.int(len(value))
            self.out.write(np.asarray(value, dtype=">i4").tobytes())
        elif kind == REALSXP:
            self.int(len(value))
            self.out.write(np.asarray(value, dtype=">f8").tobytes())
        elif kind == STRSXP:
            self.int(len(value))
            for text in value:
                self.charsxp(text)
        elif kind in (VECSXP, EXPRSXP):
            self.int(len(value))
            for element in value:
                self.item(element)
        elif kind == RAWSXP:
            self.int(len(value))
            self.out.write(value)
        elif kind != S4SXP:
            raise ValueError(f"cannot serialise R object type {kind}")
        if has_attr:
            self.attributes(obj.attributes)


def serialize(obj: RObject, r_version: int = 0x040201) -> bytes:
    """Write ``obj`` in R's XDR serialisation format, version 3 (as R >= 3.5 writes it).

    Supports what :func:`unserialize` returns for data (vectors, lists, pairlists, symbols, S4 objects);
    the result reads back in R with ``unserialize()``. Used to cut test fixtures from the real objects.
    """
    w = _Writer()
    w.out.write(b"X\n")
    for v in (3, r_version, 0x030500):
        w.int(v)
    w.int(5)
    w.out.write(b"UTF-8")
    w.item(obj)
    return w.out.getvalue()


# ----------------------------------------------------------------------------------------------------------
# lazy-load databases


def lazyload_index(rdb_dir: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """``({object name: (offset, length)}, compression)`` from ``<rdb_dir>/Rdata.rdx``."""
    raw = (Path(rdb_dir) / "Rdata.rdx").read_bytes()
    index = unserialize(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    variables = index["variables"]
    names = variables.attr("names") or []
    table = {name: (int(v.value[0]), int(v.value[1])) for name, v in zip(names, variables.value, strict=True)}
    try:
        compression = int(index["compressed"].value[0])
    except KeyError:
        compression = 1
    return table, compression


def _decompress(blob: bytes, compression: int) -> bytes:
    size = struct.unpack(">I", blob[:4])[0]
    body = blob[4:]
    if compression in (2, 3):
        kind, body = body[:1], body[1:]
        if kind == b"0":
            out = body
        elif kind == b"Z":
            out = zlib.decompress(body)
        elif kind == b"2":
            out = bz2.decompress(body)
        elif kind == b"X":
            out = lzma.decompress(body)
        else:
            raise ValueError(f"unknown lazy-load compression type {kind!r}")
    else:
        out = zlib.decompress(body)
    if len(out) != size:
        raise ValueError(f"lazy-load record decompressed to {len(out)} bytes, its header says {size}")
    return out


def read_lazyload_bytes(rdb_dir: Path, object_name: str) -> bytes:
    """The serialised (XDR) bytes of object ``object_name`` of ``<rdb_dir>/Rdata.{rdx,rdb}``."""
    table, compression = lazyload_index(rdb_dir)
    if object_name not in table:
        raise KeyError(f"{object_name!r} is not in {Path(rdb_dir) / 'Rdata.rdx'} (it has {sorted(table)})")
    offset, length = table[object_name]
    with open(Path(rdb_dir) / "Rdata.rdb", "rb") as handle:
        handle.seek(offset)
        blob = handle.read(length)
    return _decompress(blob, compression)


def read_lazyload(rdb_dir: Path, object_name: str) -> RObject:
    """Decode object ``object_name`` of the lazy-load database ``<rdb_dir>/Rdata.{rdx,rdb}``.

    Raises
    ------
    KeyError
        When the database has no such object (the message lists the ones it has).
    """
    return unserialize(read_lazyload_bytes(rdb_dir, object_name))


def _vector(kind: int, values: list[int], names: list[str] | None = None) -> RObject:
    obj = RObject(kind, np.asarray(values, dtype=np.int32))
    if names is not None:
        obj.attributes["names"] = RObject(STRSXP, names)
    return obj


def write_lazyload(rdb_dir: Path, objects: dict[str, bytes]) -> None:
    """Write serialised objects (``{name: XDR bytes}``) as a lazy-load database, zlib-compressed as R does.

    R reads the result with ``lazyLoad(file.path(rdb_dir, "Rdata"))``; used to build the test fixtures.
    """
    rdb_dir = Path(rdb_dir)
    rdb_dir.mkdir(parents=True, exist_ok=True)
    offsets: dict[str, tuple[int, int]] = {}
    with open(rdb_dir / "Rdata.rdb", "wb") as handle:
        pos = 0
        for name, data in objects.items():
            blob = struct.pack(">I", len(data)) + zlib.compress(data, 9)
            handle.write(blob)
            offsets[name] = (pos, len(blob))
            pos += len(blob)
    variables = RObject(VECSXP, [_vector(INTSXP, list(v)) for v in offsets.values()])
    variables.attributes["names"] = RObject(STRSXP, list(offsets))
    references = RObject(VECSXP, [])
    references.attributes["names"] = RObject(STRSXP, [])
    index = RObject(VECSXP, [variables, references, _vector(LGLSXP, [1])])
    index.attributes["names"] = RObject(STRSXP, ["variables", "references", "compressed"])
    (rdb_dir / "Rdata.rdx").write_bytes(gzip.compress(serialize(index), mtime=0))


# ----------------------------------------------------------------------------------------------------------
# R objects -> frames

# Rmetrics financial centres met in these data sets -> IANA zones.
_FINCENTERS = {"GMT": "UTC", "Zurich": "Europe/Zurich"}


def timeseries_frame(obj: RObject) -> pd.DataFrame:
    """A ``timeSeries`` S4 object as a frame: tz-naive local wall-clock index, one column per series.

    The ``positions`` slot holds seconds since 1970-01-01 GMT; they are converted to the ``FinCenter``'s
    local time and the zone dropped. The ``units`` slot names the columns. The numeric matrix is the object
    itself (``timeSeries`` extends ``matrix``) or its ``.Data`` slot.
    """
    if "timeSeries" not in obj.classes:
        raise ValueError(f"not a timeSeries object (class {obj.classes})")
    data = obj.attributes.get(".Data", obj)
    values = np.asarray(data.value, dtype=np.float64)
    dim = data.attr("dim") if data.attr("dim") is not None else obj.attr("dim")
    nrow, ncol = (int(dim[0]), int(dim[1])) if dim is not None else (len(values), 1)
    matrix = values.reshape((ncol, nrow)).T  # R matrices are column-major
    units = obj.attr("units") or [f"V{i + 1}" for i in range(ncol)]
    positions = obj.attr("positions")
    if positions is None or len(positions) != nrow:
        raise ValueError("timeSeries without one position per row (a 'signal' series has no dates)")
    centre = (obj.attr("FinCenter") or ["GMT"])[0]
    if centre not in _FINCENTERS:
        raise ValueError(f"timeSeries FinCenter {centre!r} is not mapped to a time zone")
    millis = np.round(np.asarray(positions, dtype=np.float64) * 1e3).astype("int64")
    stamps = pd.DatetimeIndex(pd.to_datetime(millis, unit="ms")).tz_localize("UTC")
    index = stamps.tz_convert(_FINCENTERS[centre]).tz_localize(None)
    return pd.DataFrame(matrix, index=index, columns=list(units))


def _column(obj: RObject) -> Any:
    if "factor" in obj.classes:
        levels = obj.attr("levels")
        return [None if code == NA_INTEGER else levels[code - 1] for code in obj.value]
    if obj.type in (INTSXP, LGLSXP):
        return np.where(obj.value == NA_INTEGER, np.nan, obj.value.astype(np.float64))
    return obj.value


def dataframe_frame(
    obj: RObject, date_column: str | None = None, date_format: str = "%Y-%m-%d"
) -> pd.DataFrame:
    """An R ``data.frame`` as a pandas frame; ``date_column`` (a factor or strings) becomes the index."""
    if "data.frame" not in obj.classes:
        raise ValueError(f"not a data.frame (class {obj.classes})")
    names = obj.attr("names")
    frame = pd.DataFrame({name: _column(col) for name, col in zip(names, obj.value, strict=True)})
    if date_column is not None:
        stamps = pd.to_datetime(frame.pop(date_column), format=date_format)
        frame.index = pd.DatetimeIndex(stamps).rename(None)
    return frame


# ----------------------------------------------------------------------------------------------------------
# readers: reader(root, spec); root is the R package directory (<unpacked .deb>/usr/lib/R/site-library/<Pkg>)
# and spec.path its "data/Rdata.rdb"; spec.key is "<object>" or "<object>:<column>".

# nyse: four rows whose date is a typo, each told by its neighbours (the only weekday missing between them,
# or for the 1966 row the same day one year on). (previous date, wrong date, next date) -> corrected date.
_NYSE_DATE_FIXES = {
    ("1967-02-21", "1966-02-23", "1967-02-24"): "1967-02-23",  # year typo (02-22 was a holiday)
    ("1969-12-08", "1969-12-08", "1969-12-10"): "1969-12-09",  # a repeated date; 12-09 missing
    ("1988-03-24", "1988-03-27", "1988-03-28"): "1988-03-25",  # a Sunday; Friday 03-25 missing
    ("1989-07-28", "1989-07-30", "1989-08-01"): "1989-07-31",  # a Sunday; Monday 07-31 missing
}

# Objects on a vendor's Monday-Friday grid whose closed days carry the last value forward. GCCINDEX: the Gulf
# exchanges never traded on a Friday (the weekly holiday; Thursday too for some of them until 2006-2007), yet
# every Friday has a value, equal to Thursday's or off by a small amount that looks like a currency move (the
# Kuwaiti series, the one on a non-pegged currency from 2007, has no repeated value at all in 2008). Fridays
# and repeated closes (holidays, Thursdays of Saturday-Wednesday markets) are dropped: no traded price is
# lost, and as the bars are built from closes, no kept bar's prices change either.
_CARRIED_FORWARD: dict[str, tuple[int, ...]] = {"GCCINDEX": (4,)}  # object -> weekdays without trading


def _fix_dates(index: pd.DatetimeIndex, fixes: dict[tuple[str, str, str], str]) -> pd.DatetimeIndex:
    days = list(index.strftime("%Y-%m-%d"))
    for i in range(1, len(days) - 1):
        fixed = fixes.get((days[i - 1], days[i], days[i + 1]))
        if fixed is not None:
            days[i] = fixed
    return pd.DatetimeIndex(pd.to_datetime(days, format="%Y-%m-%d"))


_FRAMES: dict[tuple[str, str], pd.DataFrame] = {}


def _object_frame(rdb_dir: Path, name: str) -> pd.DataFrame:
    """The object as a frame (cached per file and object; the objects are small)."""
    key = (str(Path(rdb_dir).resolve()), name)
    if key in _FRAMES:
        return _FRAMES[key]
    obj = read_lazyload(rdb_dir, name)
    if "timeSeries" in obj.classes:
        frame = timeseries_frame(obj)
    else:  # fBasics' data frames: the first column holds the dates as "%Y-%m-%d" (a factor)
        frame = dataframe_frame(obj, date_column=obj.attr("names")[0])
    if name == "nyse":
        frame.index = _fix_dates(pd.DatetimeIndex(frame.index), _NYSE_DATE_FIXES)
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise ValueError(f"{name} in {rdb_dir}: its dates are not increasing (a new package version?)")
    if len(_FRAMES) >= 16:
        _FRAMES.clear()
    _FRAMES[key] = frame
    return frame


def read_debian_rdata(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    """Reader of every Debian R data series (``reader(package_dir, spec)``, see ``Source.reader``).

    ``spec.key`` is ``"<object>"`` or ``"<object>:<column>"``. With ``construction == "closes"`` the column
    is turned into candles by ``_bars_from_closes`` (missing closes dropped; for :data:`_CARRIED_FORWARD`
    objects also the days without trading); otherwise the object must have Open/High/Low/Close[/Volume]
    columns, read as they are.
    """
    from kronos_plugins.datasets._sources import _bars_from_closes

    name, _, column = spec.lookup.partition(":")
    frame = _object_frame((Path(root) / spec.path).parent, name)
    if spec.construction == "closes":
        column = column or str(frame.columns[0])
        if column not in frame.columns:
            raise KeyError(f"{column!r} is not a column of {name} ({list(frame.columns)})")
        close = frame[column].dropna()
        if name in _CARRIED_FORWARD:
            close = close[~close.index.dayofweek.isin(_CARRIED_FORWARD[name])]
            close = close[close.diff().ne(0)]
        return _bars_from_closes(close)
    fields = ("open", "high", "low", "close", "volume")
    names = {c: str(c).lower() for c in frame.columns if str(c).lower() in fields}
    if not {"open", "high", "low", "close"} <= set(names.values()):
        raise ValueError(
            f"{name} has no Open/High/Low/Close columns ({list(frame.columns)}); read it as closes"
        )
    return frame[list(names)].rename(columns=names)
