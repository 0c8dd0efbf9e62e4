"""Tests for kronos_plugins.cli: the commands not implemented yet fail clearly."""

from __future__ import annotations

import pytest

from kronos_plugins.cli import bench_main, synth_main


@pytest.mark.parametrize(
    ("main", "argv", "prog"),
    [
        (bench_main, ["run", "benchmarks/suites/default.yaml"], "kronos-bench"),
        (synth_main, [], "kronos-synth"),
    ],
)
def test_when_a_placeholder_command_runs_then_it_exits_2_with_a_message_on_stderr(main, argv, prog, capsys):
    assert main(argv) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{prog}: ") and "not implemented yet in this version" in err


def test_when_bench_has_no_subcommand_then_argparse_exits_2():
    with pytest.raises(SystemExit) as info:
        bench_main([])

    assert info.value.code == 2
