"""The Debian R data sources (kronos_plugins.datasets._debian), read from small pieces of the real objects.

The fixtures under tests/fixtures/data/debian are lazy-load databases holding the real objects cut to a few
rows (tests/fixtures/data/debian/cut_fixtures.py made them): every slot and attribute as in the packages
r-cran-timeseries 4021.105-2, r-cran-fbasics 4021.93-1 and r-cran-fportfolio 3042.83.1-1+b1. The expected
values below were read off the real objects independently of the readers (first closes, dates, the typos of
nyse). Fetching (apt-get download, dpkg -x) is tested with the commands mocked; one test marked ``network``
fetches the real packages and counts their bars.
"""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.datasets import _debian
from kronos_plugins.datasets._clean import standardise
from kronos_plugins.datasets._debian import (
    dataframe_frame,
    fetch_deb,
    fetch_r_package,
    fetched_version,
    lazyload_index,
    read_debian_rdata,
    read_lazyload,
    read_lazyload_bytes,
    serialize,
    timeseries_frame,
    unserialize,
    write_lazyload,
)
from kronos_plugins.datasets._sources import SOURCES, DebFetch, SeriesSpec
from kronos_plugins.validation import prepare_context

from ..conftest import FIXTURES

DEBIAN = FIXTURES / "data" / "debian"
TIMESERIES = DEBIAN / "r-cran-timeseries" / "timeSeries"
FBASICS = DEBIAN / "r-cran-fbasics" / "fBasics"
FPORTFOLIO = DEBIAN / "r-cran-fportfolio" / "fPortfolio"
RDATA = "data/Rdata.rdb"


def _spec(key: str, freq: str = "1d", construction: str = "closes") -> SeriesSpec:
    return SeriesSpec(key.replace(":", "_"), freq, "index", RDATA, key, key=key, construction=construction)


def _clean(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int], bool]:
    frame, repairs, has_volume = standardise(raw)
    prepare_context(frame, name="fixture", min_length=1)  # every loader's output must pass validation
    high_ok = frame["high"] >= frame[["open", "close"]].max(axis=1)
    low_ok = frame["low"] <= frame[["open", "close"]].min(axis=1)
    assert bool(high_ok.all() and low_ok.all())
    return frame, repairs, has_volume


# ----------------------------------------------------------------------------------------------------------
# the serialisation reader


def test_a_hand_written_xdr_vector_decodes():
    # c(a=1.5, b=NA) as R's serialize(, NULL, xdr=TRUE, version=2) writes it, built by hand here
    data = b"X\n" + struct.pack(">iii", 2, 0x040201, 0x020300)
    data += struct.pack(">ii", 14 | (1 << 9), 2) + struct.pack(">dd", 1.5, np.nan)
    data += struct.pack(">i", 2 | (1 << 10)) + struct.pack(">i", 1) + struct.pack(">ii", 9 | (64 << 12), 5)
    data += b"names" + struct.pack(">ii", 16, 2)
    for s in (b"a", b"b"):
        data += struct.pack(">ii", 9 | (64 << 12), len(s)) + s
    data += struct.pack(">i", 254)
    obj = unserialize(data)
    assert obj.type == _debian.REALSXP and obj.value[0] == 1.5 and np.isnan(obj.value[1])
    assert obj.attr("names") == ["a", "b"]
    written = serialize(obj, 0x040201)  # version 3: the header adds the encoding name
    assert written[14:23] == b"\x00\x00\x00\x05UTF-8" and written[23:] == data[14:]


@pytest.mark.parametrize(
    ("root", "name"), [(TIMESERIES, "USDCHF"), (FBASICS, "nyse"), (FPORTFOLIO, "GCCINDEX")]
)
def test_objects_are_written_back_byte_for_byte(root, name):
    raw = read_lazyload_bytes(root / "data", name)
    assert serialize(unserialize(raw), struct.unpack(">i", raw[6:10])[0]) == raw


def test_when_the_bytes_are_not_data_then_a_clear_error():
    with pytest.raises(ValueError, match="not an R XDR serialisation"):
        unserialize(b"A\n3\n")
    closure = b"X\n" + struct.pack(">iii", 2, 0x040201, 0x020300) + struct.pack(">i", 3)
    with pytest.raises(ValueError, match="code, not data"):
        unserialize(closure)
    with pytest.raises(ValueError, match="truncated"):
        unserialize(b"X\n" + struct.pack(">iii", 2, 0, 0) + struct.pack(">ii", 14, 3) + b"\0" * 8)


def test_lazyload_index_and_a_missing_object():
    table, compression = lazyload_index(TIMESERIES / "data")
    assert sorted(table) == ["MSFT", "USDCHF"] and compression == 1
    with pytest.raises(KeyError, match=r"'usdchf' is not in .*Rdata.rdx.*USDCHF"):
        read_lazyload(TIMESERIES / "data", "usdchf")


def test_write_lazyload_round_trips(tmp_path):
    raw = read_lazyload_bytes(FBASICS / "data", "DowJones30")
    write_lazyload(tmp_path, {"a": raw, "b": b"X\n" + raw[2:]})
    assert gzip.decompress((tmp_path / "Rdata.rdx").read_bytes())[:2] == b"X\n"  # gzip, as saveRDS writes
    blob = (tmp_path / "Rdata.rdb").read_bytes()
    assert struct.unpack(">I", blob[:4])[0] == len(raw) and zlib.decompress(blob[4:])[:2] == b"X\n"
    assert read_lazyload_bytes(tmp_path, "b") == raw


# ----------------------------------------------------------------------------------------------------------
# timeSeries and data.frame objects


def test_usdchf_is_read_in_zurich_wall_clock_time_in_summer_and_winter():
    obj = read_lazyload(TIMESERIES / "data", "USDCHF")
    assert obj.attr("FinCenter") == ["Zurich"] and obj.attr("units") == ["USDCHF"]
    gmt = pd.to_datetime(np.asarray(obj.attr("positions")), unit="s")
    assert gmt[0] == pd.Timestamp("1996-03-31 22:00")  # stored in GMT: Sunday 22:00 = Monday 00:00 CEST
    frame = timeseries_frame(obj)
    summer = gmt < pd.Timestamp("1996-10-27 01:00")
    offset = np.where(summer, 2, 1) * pd.Timedelta(hours=1)  # CEST, then CET
    np.testing.assert_array_equal(frame.index.to_numpy(), (gmt + offset).to_numpy())
    np.testing.assert_allclose(frame["USDCHF"].iloc[:4], [1.1930, 1.1941, 1.1933, 1.1931])
    # the weekly opening is Monday 00:00 local in both seasons (22:00 and 23:00 GMT on Sunday)
    mondays = frame.index[(frame.index.dayofweek == 0) & (frame.index.hour == 0) & (frame.index.minute == 0)]
    assert list(mondays) == [pd.Timestamp("1996-04-01"), pd.Timestamp("1996-11-04")]
    assert frame.index.tz is None


def test_usdchf_half_hour_bars_are_built_from_the_quotes():
    raw = read_debian_rdata(TIMESERIES, _spec("USDCHF", "30min"))
    assert list(raw.columns) == ["open", "high", "low", "close"]
    np.testing.assert_allclose(raw["close"].iloc[:4], [1.1930, 1.1941, 1.1933, 1.1931])
    np.testing.assert_allclose(raw["open"].iloc[1:4], [1.1930, 1.1941, 1.1933])  # the previous quote
    frame, repairs, has_volume = _clean(raw)
    assert len(frame) == 23 and repairs == {} and not has_volume
    friday = frame.loc["1996-11-01 23:30"]
    monday = frame.loc["1996-11-04 00:00"]
    assert monday["open"] == friday["close"] == pytest.approx(1.2674)


def test_msft_reads_ohlcv_and_its_dates_skip_the_closure_after_11_september():
    raw = read_debian_rdata(TIMESERIES, _spec("MSFT", construction="ohlc"))
    assert list(raw.columns) == ["open", "high", "low", "close", "volume"]
    first = raw.iloc[0]
    assert raw.index[0] == pd.Timestamp("2000-09-27")
    assert (first["open"], first["high"], first["low"], first["close"]) == (63.4375, 63.5625, 59.8125, 60.625)
    assert first["volume"] == 53077800
    days = list(raw.loc["2001-09-06":"2001-09-18"].index.strftime("%m-%d"))
    assert days == ["09-06", "09-07", "09-10", "09-17", "09-18"]
    frame, repairs, has_volume = _clean(raw)
    assert has_volume and repairs == {} and len(frame) == 11


def test_dow_jones_30_closes_of_a_data_frame_with_a_date_factor():
    obj = read_lazyload(FBASICS / "data", "DowJones30")
    df = dataframe_frame(obj, date_column="X.Y..m..d")
    assert len(df.columns) == 30 and df.index.name is None
    raw = read_debian_rdata(FBASICS, _spec("DowJones30:AA"))
    assert raw.index[0] == pd.Timestamp("1990-12-31") and raw.index[1] == pd.Timestamp("1991-01-02")
    np.testing.assert_allclose(raw["close"].iloc[:4], [5.92, 5.92, 5.88, 5.76])
    ibm = read_debian_rdata(FBASICS, _spec("DowJones30:IBM"))
    assert not np.allclose(ibm["close"].to_numpy(), raw["close"].to_numpy())
    _clean(ibm)


def test_nyse_date_typos_are_corrected_from_their_neighbours():
    obj = read_lazyload(FBASICS / "data", "nyse")
    stored = dataframe_frame(obj, date_column="X.Y..m..d.")
    assert pd.Timestamp("1966-02-23") in stored.index  # in the source: between 1967-02-21 and 1967-02-24
    assert stored.index.duplicated().sum() == 1  # 1969-12-08 twice, 1969-12-09 missing
    raw = read_debian_rdata(FBASICS, _spec("nyse:NYSE"))
    assert raw.index.is_monotonic_increasing and not raw.index.has_duplicates
    assert raw.loc["1967-02-23", "close"] == 47.89 and raw.loc["1969-12-09", "close"] == 50.51
    assert raw.loc["1969-12-08", "close"] == 50.59
    np.testing.assert_array_equal(raw["close"].to_numpy(), stored["NYSE"].to_numpy())  # values untouched
    _clean(raw)


def test_spi_sector_dates_come_from_the_positions_slot_and_missing_closes_are_dropped():
    obj = read_lazyload(FPORTFOLIO / "data", "SPISECTOR")
    assert obj.attr("format") == ["%Y-%m-%d"] and obj.attr("FinCenter") == ["GMT"]
    spi = read_debian_rdata(FPORTFOLIO, _spec("SPISECTOR:SPI"))
    assert list(spi.index[:3].strftime("%Y-%m-%d")) == ["1999-12-30", "2000-01-04", "2000-01-05"]
    np.testing.assert_allclose(spi["close"].iloc[:3], [1000.0, 966.19, 956.19])
    late = spi.loc["2008-09-01":]
    assert list(late.index.strftime("%m-%d")) == ["09-01", "09-03", "09-04", "09-05", "09-09"]  # NaN dropped
    assert late.loc["2008-09-03", "open"] == 1205.33  # opens at the last close before the gap
    basi = read_debian_rdata(FPORTFOLIO, _spec("SPISECTOR:BASI"))
    assert pd.Timestamp("2008-09-02") in basi.index
    _clean(spi)


def test_gcc_indices_drop_fridays_and_carried_forward_closes():
    frame = timeseries_frame(read_lazyload(FPORTFOLIO / "data", "GCCINDEX"))
    assert frame.index[0] == pd.Timestamp("2005-05-31") and set(frame.index.dayofweek) == {0, 1, 2, 3, 4}
    bah = read_debian_rdata(FPORTFOLIO, _spec("GCCINDEX:BAHDSC"))
    # 06-02 1205.58 (06-03 Friday, the same) 06-06 1195.17 ...
    assert list(bah.index[:4].strftime("%m-%d")) == ["05-31", "06-01", "06-02", "06-06"]
    np.testing.assert_allclose(bah["close"].iloc[:4], [1211.86, 1209.05, 1205.58, 1195.17])
    kuw = read_debian_rdata(FPORTFOLIO, _spec("GCCINDEX:KUWDSC"))
    # Thursday 06-02 repeats 700.286 (dropped); Friday 06-03 moved to 700.166 yet is no trading day
    assert list(kuw.index[:3].strftime("%m-%d")) == ["05-31", "06-01", "06-06"]
    assert 4 not in set(kuw.index.dayofweek)
    assert kuw.loc["2005-06-06", "open"] == 700.286
    _clean(kuw)


def test_a_series_without_ohlc_must_be_read_as_closes():
    with pytest.raises(ValueError, match="no Open/High/Low/Close"):
        read_debian_rdata(FPORTFOLIO, _spec("SPISECTOR:SPI", construction="ohlc"))
    with pytest.raises(KeyError, match="'XYZ' is not a column of DowJones30"):
        read_debian_rdata(FBASICS, _spec("DowJones30:XYZ"))


def test_catalogue_entries_read_from_the_fixtures():
    debian = [s for s in SOURCES.values() if isinstance(s.fetch, DebFetch)]
    roots = {"r-cran-timeseries": TIMESERIES, "r-cran-fbasics": FBASICS, "r-cran-fportfolio": FPORTFOLIO}
    if not debian:  # before the catalogue entries are added: keys of the kinds they use
        pairs = [(TIMESERIES, _spec("USDCHF", "30min")), (TIMESERIES, _spec("MSFT", construction="ohlc"))]
        pairs += [(FBASICS, _spec(k)) for k in ("DowJones30:MSFT", "nyse:NYSE")]
        pairs += [(FPORTFOLIO, _spec(k)) for k in ("SPISECTOR:TECH", "GCCINDEX:GCCSC")]
    else:
        pairs = [(roots[s.package], spec) for s in debian for spec in s.series.values()]
    assert pairs
    for root, spec in pairs:
        frame, _, _ = _clean(read_debian_rdata(root, spec))
        assert len(frame) >= 5, spec.symbol


# ----------------------------------------------------------------------------------------------------------
# fetching


def _ar_member(name: str, body: bytes) -> bytes:
    header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode()
    return header + body + (b"\n" if len(body) % 2 else b"")


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def _make_deb(path: Path) -> None:
    """A minimal .deb (ar: debian-binary, control.tar.xz, data.tar.xz) carrying the timeSeries fixture."""
    lib = "./usr/lib/R/site-library/timeSeries/data/"
    data = {lib + f.name: f.read_bytes() for f in (TIMESERIES / "data").iterdir()}
    control = {"./control": b"Package: r-cran-timeseries\nVersion: 4021.105-2\nArchitecture: all\n"}
    path.write_bytes(
        b"!<arch>\n"
        + _ar_member("debian-binary", b"2.0\n")
        + _ar_member("control.tar.xz", _tar(control))
        + _ar_member("data.tar.xz", _tar(data))
    )


@pytest.fixture
def fake_apt(tmp_path, monkeypatch):
    """apt-get download mocked (writes the .deb into its working directory); records every command."""
    monkeypatch.setenv("KRONOS_DATA_CACHE", str(tmp_path / "cache"))
    calls: list[list[str]] = []

    def run(cmd, cwd=None, **kwargs):
        calls.append(list(cmd))
        if cmd[:2] == ["apt-get", "download"]:
            _make_deb(Path(cwd) / "r-cran-timeseries_4021.105-2_all.deb")
            return subprocess.CompletedProcess(cmd, 0, "Get:1 http://deb.debian.org ...", "")
        if cmd[:2] == ["dpkg", "-x"]:
            _debian._extract_deb_python(Path(cmd[2]), Path(cmd[3]))
            return subprocess.CompletedProcess(cmd, 0, "", "")
        raise AssertionError(f"unexpected command {cmd}")

    monkeypatch.setattr(_debian.subprocess, "run", run)
    return calls


@pytest.mark.parametrize("dpkg", [True, False], ids=["dpkg", "no-dpkg"])
def test_fetch_downloads_once_and_unpacks_into_the_cache(tmp_path, monkeypatch, fake_apt, dpkg):
    monkeypatch.setattr(_debian.shutil, "which", lambda name: f"/usr/bin/{name}" if dpkg else None)
    root = fetch_deb("r-cran-timeseries")
    assert root == tmp_path / "cache" / "sources" / "debian" / "r-cran-timeseries"
    assert fake_apt[0] == ["apt-get", "download", "r-cran-timeseries"]
    assert [c[:2] for c in fake_apt[1:]] == ([["dpkg", "-x"]] if dpkg else [])
    assert fetched_version("r-cran-timeseries") == "4021.105-2"
    package = fetch_r_package("r-cran-timeseries", "timeSeries")
    assert package == _debian.deb_library_dir("r-cran-timeseries") / "timeSeries"
    assert len(fake_apt) == (2 if dpkg else 1)  # the second fetch found it done
    raw = read_debian_rdata(package, _spec("USDCHF", "30min"))
    assert raw["close"].iloc[0] == 1.1930
    assert [p.name for p in root.parent.iterdir()] == ["r-cran-timeseries"]  # no temporary left behind


def test_fetch_pins_a_version_when_asked(fake_apt, monkeypatch):
    monkeypatch.setattr(_debian.shutil, "which", lambda name: None)
    root = fetch_deb("r-cran-timeseries", "4021.105-2")
    assert fake_apt[0] == ["apt-get", "download", "r-cran-timeseries=4021.105-2"]
    assert root.name == "r-cran-timeseries_4021.105-2"


def test_when_apt_get_fails_then_the_error_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("KRONOS_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(
        _debian.subprocess,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(
            cmd, 100, "", "E: Unable to locate package r-cran-nope"
        ),
    )
    with pytest.raises(
        ImportError, match=r"`apt-get download r-cran-nope` failed \(exit 100: E: Unable to locate"
    ):
        fetch_r_package("r-cran-nope", "nope")
    assert list((tmp_path / "cache" / "sources" / "debian").iterdir()) == []


def test_when_apt_get_is_absent_then_the_error_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("KRONOS_DATA_CACHE", str(tmp_path / "cache"))

    def missing(cmd, **kw):
        raise FileNotFoundError(2, "No such file or directory", "apt-get")

    monkeypatch.setattr(_debian.subprocess, "run", missing)
    with pytest.raises(
        ImportError, match=r"could not run `apt-get download r-cran-timeseries`.*need apt-get"
    ):
        fetch_deb("r-cran-timeseries")


def test_a_file_that_is_not_a_deb_is_refused(tmp_path):
    bad = tmp_path / "x.deb"
    bad.write_bytes(b"PK\x03\x04 not an ar archive")
    with pytest.raises(ImportError, match="not a Debian package"):
        _debian._extract_deb_python(bad, tmp_path / "out")


# ----------------------------------------------------------------------------------------------------------
# the real packages (network: Debian's archive)

_REAL = {  # asset key -> (bars after cleaning, first day, last bar)
    ("r-cran-timeseries", "timeSeries", "USDCHF"): (62496, "1996-04-01 00:00", "2001-03-30 23:30"),
    ("r-cran-timeseries", "timeSeries", "MSFT"): (249, "2000-09-27", "2001-09-27"),
    ("r-cran-fbasics", "fBasics", "DowJones30:AA"): (2529, "1990-12-31", "2001-01-02"),
    ("r-cran-fbasics", "fBasics", "nyse:NYSE"): (9311, "1966-01-04", "2002-12-31"),
    ("r-cran-fportfolio", "fPortfolio", "SPISECTOR:SPI"): (2200, "1999-12-30", "2008-10-17"),
    ("r-cran-fportfolio", "fPortfolio", "GCCINDEX:GCCSC"): (659, "2005-05-31", "2008-07-28"),
}


@pytest.mark.network
@pytest.mark.parametrize("key", list(_REAL), ids=[k[2] for k in _REAL])
def test_the_real_packages(key):
    package, module, lookup = key
    bars, first, last = _REAL[key]
    root = fetch_r_package(package, module)
    construction = "ohlc" if lookup == "MSFT" else "closes"
    frame, repairs, _ = _clean(read_debian_rdata(root, _spec(lookup, construction=construction)))
    assert (len(frame), frame.index[0], frame.index[-1]) == (bars, pd.Timestamp(first), pd.Timestamp(last))
    assert repairs == {}
